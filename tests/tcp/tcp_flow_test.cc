// Receive flow control (pause_recv/resume_recv and the advertised window), zero-window probe
// backoff and D-SACK, through a real stack on the dpdk_env net_ring loopback with the
// injected clock (tcp_harness.hh). RFC 9293 §3.8.6, RFC 7323 §2.4, RFC 1122 §4.2.2.17,
// RFC 2883.
#include <gtest/gtest.h>

#include "../../examples/tcp_echo/echo_handler.hh"
#include "tcp_test_helpers.hh"

namespace sluice::test {
namespace {

using dp::net::drop_reason;
using dp::net::event;

// A small buffer keeps the window unscaled (8000 < 65535: shift 0), so windows read directly.
tcp::tcp_params small_buffer(std::uint32_t bytes = 8000) {
    tcp::tcp_params p;
    p.rcv_buffer = bytes;
    return p;
}

// ---- Receive window ----

TEST(tcp_flow, window_shrinks_as_paused_data_is_held_and_reaches_zero) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.tcp->pause_recv(*h.app.conn);
    std::vector<std::uint16_t> windows;
    for (std::uint32_t i = 0; i < 8; ++i) {
        h.send(A, 1001 + i * 1000, iss + 1, payload_of(1000, static_cast<std::uint8_t>(i)));
        for (const auto& o : h.out()) {
            windows.push_back(o.wnd);
        }
    }
    // Every second segment is ACKed; each ACK offers what is left of the buffer.
    EXPECT_EQ(windows, (std::vector<std::uint16_t>{6000, 4000, 2000, 0}));
    EXPECT_TRUE(h.app.data.empty());
    EXPECT_EQ(h.tcp->recv_held(*h.app.conn), 8000U);
    EXPECT_EQ(h.tcp->held_bytes(), 8000U);
    EXPECT_EQ(h.tcp->queued_bytes(), 0U);
    EXPECT_EQ(h.counted(event::tcp_zero_window_tx), 1U);
}

TEST(tcp_flow, zero_window_probe_is_answered_and_resume_delivers_all_then_updates_window) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.tcp->pause_recv(*h.app.conn);
    const bytes sent = send_peer_segments(h, iss + 1, 8, 1000);
    (void)h.out();
    // The peer's probe: one byte beyond the zero window. Dropped, answered with the window.
    h.send(A, 9001, iss + 1, payload_of(1, 9));
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 9001U);
    EXPECT_EQ(o[0].wnd, 0);
    EXPECT_EQ(h.dropped(drop_reason::tcp_unacceptable), 1U);
    EXPECT_EQ(h.tcp->recv_held(*h.app.conn), 8000U);
    // Resume: one on_data with everything (zero-copy chain), then the window update.
    h.tcp->resume_recv(*h.app.conn);
    EXPECT_EQ(h.app.events.back(), "data:8000");
    EXPECT_EQ(h.app.data, sent);
    EXPECT_EQ(h.tcp->recv_held(*h.app.conn), 0U);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 9001U);
    EXPECT_EQ(o[0].wnd, 8000);
    // Data flows again and is delivered as it comes.
    h.send(A, 9001, iss + 1, payload_of(10));
    EXPECT_EQ(h.app.events.back(), "data:10");
}

// RFC 9293 §3.10.7.4: of a segment straddling the right edge only what fits is taken; the
// ACK goes at once and tells the (now zero) window.
TEST(tcp_flow, data_beyond_the_window_is_cut_off_and_acked_at_once) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.tcp->pause_recv(*h.app.conn);
    for (std::uint32_t i = 0; i < 7; ++i) {
        h.send(A, 1001 + i * 1000, iss + 1, payload_of(1000, static_cast<std::uint8_t>(i)));
    }
    auto o = h.out();
    ASSERT_FALSE(o.empty());
    EXPECT_EQ(o.back().wnd, 2000);  // the ACK of the sixth; the seventh's ACK is delayed
    h.send(A, 8001, iss + 1, payload_of(1400));  // 1000 fit
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 9001U);
    EXPECT_EQ(o[0].wnd, 0);
    EXPECT_EQ(h.tcp->recv_held(*h.app.conn), 8000U);
}

TEST(tcp_flow, unpaused_receiver_keeps_the_window_full) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, payload_of(1000));
    h.send(A, 2001, iss + 1, payload_of(1000));
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].wnd, 8000);
}

// RFC 9293 §3.8.6.2.2: the right edge advances only when the window can grow by
// min(RCV.BUFF / 2, MSS) = min(4000, 1460); in between, the announced edge stays put.
TEST(tcp_flow, window_opens_only_in_steps_of_min_half_buffer_and_mss) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    std::vector<std::uint16_t> windows;
    std::uint32_t edge = 1001 + 8000;  // the SYN-ACK's
    for (std::uint32_t i = 0; i < 16; ++i) {
        h.send(A, 1001 + i * 100, iss + 1, payload_of(100));
        h.advance_ms(40);  // each 100-byte segment gets its delayed ACK
        for (const auto& o : h.out()) {
            windows.push_back(o.wnd);
            const std::uint32_t right = o.ack + o.wnd;
            if (o.wnd != 8000) {
                EXPECT_EQ(right, edge) << "the edge stays until the window reopens";
            }
            EXPECT_GE(right, edge);
            edge = right;
        }
    }
    ASSERT_EQ(windows.size(), 16U);
    // 14 small segments keep the edge (window 7900, 7800, ... 6600); the 15th makes the
    // opening 1500 >= 1460 and the window is whole again.
    for (std::size_t i = 0; i < 14; ++i) {
        EXPECT_EQ(windows[i], 8000 - 100 * (i + 1)) << i;
    }
    EXPECT_EQ(windows[14], 8000);
    EXPECT_EQ(windows[15], 7900);
}

TEST(tcp_flow, resume_sends_no_update_when_the_opening_is_below_an_mss) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.tcp->pause_recv(*h.app.conn);
    h.send(A, 1001, iss + 1, payload_of(1000));
    h.advance_ms(40);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].wnd, 7000);
    h.tcp->resume_recv(*h.app.conn);
    EXPECT_EQ(h.app.events.back(), "data:1000");
    EXPECT_TRUE(h.out().empty());  // 1000 < min(4000, 1460): not worth a segment
}

// RFC 7323 §2.4 / RFC 9293 §3.8.6.2.1: with window scaling (256 KiB: shift 3) and odd-sized
// segments, every ACK's right edge (ACK + window << 3) is at or beyond the one before (the
// window is rounded up, never down), and the window closes to zero once the peer has filled
// what was offered.
TEST(tcp_flow, scaled_window_never_moves_the_right_edge_left_and_closes_at_full) {
    harness h;  // rcv_buffer 256 KiB
    const std::uint32_t iss = h.handshake();
    ASSERT_EQ(h.app.conn->rcv_wscale, 3);
    h.tcp->pause_recv(*h.app.conn);
    std::uint32_t next = 1001;
    std::uint32_t edge = 1001 + 65535;  // the SYN-ACK's unscaled window
    std::uint32_t held = 0;
    bool closed = false;
    for (int i = 0; i < 2000 && !closed; ++i) {
        const std::uint32_t room = edge - next;
        if (room == 0) {
            h.advance_ms(40);  // let the delayed ACK tell the window
        } else {
            const std::uint32_t n = std::min<std::uint32_t>(1001, room);
            h.send(A, next, iss + 1, payload_of(n, static_cast<std::uint8_t>(i)));
            next += n;
            held += n;
        }
        for (const auto& o : h.out()) {
            const std::uint32_t right = o.ack + (std::uint32_t{o.wnd} << 3);
            EXPECT_GE(right, edge) << "right edge moved left at segment " << i;
            edge = std::max(edge, right);
            closed = o.wnd == 0 && o.ack == next;
        }
    }
    EXPECT_TRUE(closed);
    EXPECT_EQ(h.tcp->recv_held(*h.app.conn), held);
    RecordProperty("held_bytes", static_cast<int>(held));
    // Rounding up promises less than 2^3 bytes more per ACK (RFC 7323 Appendix F).
    EXPECT_LE(held, 256U * 1024U + 256U * 1024U / 8U);
    EXPECT_GE(held, 256U * 1024U - 1460U);
    EXPECT_TRUE(h.app.data.empty());
}

TEST(tcp_flow, peer_fin_behind_held_data_is_reported_after_it) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    h.tcp->pause_recv(*h.app.conn);
    h.send(A | F, 1001, iss + 1, payload_of(500));
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1502U);  // the FIN is ACKed at once
    EXPECT_EQ(h.app.events, std::vector<std::string>{"established"});
    h.tcp->resume_recv(*h.app.conn);
    EXPECT_EQ(h.app.events, (std::vector<std::string>{"established", "data:500", "peer_shutdown"}));
}

TEST(tcp_flow, small_segments_are_coalesced_while_held) {
    harness h(small_buffer());
    const std::uint32_t iss = h.handshake();
    const unsigned before = h.env.in_use();
    h.tcp->pause_recv(*h.app.conn);
    const bytes sent = send_peer_segments(h, iss + 1, 200, 10);
    (void)h.out();
    // 2000 bytes in 200 segments fit in one or two mbufs.
    EXPECT_LE(h.env.in_use(), before + 2);
    h.tcp->resume_recv(*h.app.conn);
    EXPECT_EQ(h.app.data, sent);
}

// The reassembly queue splits a segment around data it already holds into views sharing one
// mbuf; holding them must not trim one view's mbuf under the other.
TEST(tcp_flow, out_of_order_pieces_sharing_an_mbuf_are_held_intact) {
    const unsigned before = dpdk_env::get().in_use();
    {
        harness h(small_buffer());
        const std::uint32_t iss = h.handshake();
        const bytes whole = payload_of(900, 5);  // [1001, 1901)
        auto part = [&](std::uint32_t from, std::uint32_t to) {
            return bytes(whole.begin() + (from - 1001), whole.begin() + (to - 1001));
        };
        h.tcp->pause_recv(*h.app.conn);
        h.send(A, 1601, iss + 1, part(1601, 1701));
        h.send(A, 1201, iss + 1, part(1201, 1901));  // two pieces around [1601, 1701)
        h.send(A, 1001, iss + 1, part(1001, 1201));  // fills the hole
        (void)h.out();
        EXPECT_TRUE(h.app.data.empty());
        EXPECT_EQ(h.tcp->recv_held(*h.app.conn), 900U);
        h.tcp->resume_recv(*h.app.conn);
        EXPECT_EQ(h.app.data, whole);
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

TEST(tcp_flow, held_data_is_freed_by_close_abort_and_release) {
    const unsigned before = dpdk_env::get().in_use();
    for (int how = 0; how < 3; ++how) {
        harness h(small_buffer());
        const std::uint32_t iss = h.handshake();
        h.tcp->pause_recv(*h.app.conn);
        h.send(A, 1001, iss + 1, payload_of(1000));
        h.send(A, 2001, iss + 1, payload_of(1000));
        if (how == 0) {
            h.tcp->close(*h.app.conn);
        } else if (how == 1) {
            h.tcp->abort(*h.app.conn);
        }
        h.advance_ms(1);
        EXPECT_TRUE(h.app.data.empty());
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

// Seeded random segments of one known stream (in order, out of order, duplicated, overlapping,
// past the window) while the application pauses and resumes at random: what reaches on_data
// is exactly the stream's prefix up to what was ACKed, and every mbuf comes back.
TEST(tcp_flow, random_segments_with_random_pauses_deliver_the_exact_stream) {
    const unsigned before = dpdk_env::get().in_use();
    {
        harness h(small_buffer());
        const std::uint32_t iss = h.handshake();
        const bytes stream = payload_of(60000, 7);
        xorshift64s rnd{0x2545f4914f6cdd1dULL};  // fixed seed: reproducible
        std::uint32_t acked = 0;                 // stream bytes the stack has ACKed
        for (int i = 0; i < 20000 && acked < stream.size(); ++i) {
            const std::uint32_t back = std::min<std::uint32_t>(acked, 2000);
            const std::uint32_t off = acked - back + rnd() % (back + 12000);
            if (off >= stream.size()) {
                continue;
            }
            const std::uint32_t len = std::min<std::uint32_t>(
                1 + rnd() % 1400, static_cast<std::uint32_t>(stream.size()) - off);
            h.send(A, 1001 + off, iss + 1, bytes(stream.begin() + off, stream.begin() + off + len));
            if (rnd() % 10 == 0) {
                if (h.tcp->recv_paused(*h.app.conn)) {
                    h.tcp->resume_recv(*h.app.conn);
                } else {
                    h.tcp->pause_recv(*h.app.conn);
                }
            }
            if (rnd() % 16 == 0) {
                h.advance_ms(40);
            }
            for (const auto& o : h.out()) {
                acked = std::max(acked, o.ack - 1001);
            }
        }
        h.tcp->resume_recv(*h.app.conn);
        h.advance_ms(40);
        for (const auto& o : h.out()) {
            acked = std::max(acked, o.ack - 1001);
        }
        EXPECT_GT(acked, 30000U);  // the run made progress
        ASSERT_EQ(h.app.data.size(), acked);
        EXPECT_TRUE(std::equal(h.app.data.begin(), h.app.data.end(), stream.begin()));
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

// ---- Zero-window probing (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17) ----

TEST(tcp_flow, persist_probes_back_off_exponentially_capped_and_never_drop_an_answering_peer) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);  // the peer's window is closed
    const bytes d = payload_of(100);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 100), 100U);
    EXPECT_TRUE(h.out().empty());
    std::vector<std::uint64_t> probe_at;  // ms since send
    std::uint64_t t = 0;
    while (probe_at.size() < 20 && t < 1'200'000) {
        h.advance_ms(1);
        ++t;
        for (const auto& o : h.out()) {
            ASSERT_EQ(o.payload.size(), 1U);  // one byte beyond the window
            EXPECT_EQ(o.seq, iss + 1);
            probe_at.push_back(t);
            h.send(A, 1001, iss + 1, {}, {}, 0);  // answered: still closed
        }
    }
    // RTO 1 s (no RTT sample yet), doubling, capped at RFC 6298's 60 s maximum.
    const std::vector<std::uint64_t> want_gaps = {1000,  2000,  4000,  8000,  16000,
                                                  32000, 60000, 60000, 60000, 60000};
    ASSERT_EQ(probe_at.size(), 20U);
    for (std::size_t i = 0; i < want_gaps.size(); ++i) {
        EXPECT_EQ(probe_at[i] - (i == 0 ? 0 : probe_at[i - 1]), want_gaps[i]) << "probe " << i;
    }
    // 20 probes > data_retries (15): the peer answered each, so the connection lives.
    ASSERT_NE(h.app.conn, nullptr);
    EXPECT_EQ(h.counted(event::tcp_persist_probe), 20U);
    EXPECT_EQ(h.counted(event::tcp_timeout), 0U);
    // The window opens: the data goes, the backoff is reset.
    h.send(A, 1001, iss + 1, {}, {}, 10);
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].payload, d);
    EXPECT_EQ(h.app.conn->persist_backoff, 0);
}

TEST(tcp_flow, unanswered_persist_probes_give_up_after_data_retries) {
    tcp::tcp_params p;
    p.data_retries = 3;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);
    const bytes d = payload_of(100);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 100), 100U);
    h.advance_ms(1000 + 2000 + 4000);  // three probes
    EXPECT_EQ(h.out().size(), 3U);
    EXPECT_NE(h.app.conn, nullptr);
    h.advance_ms(8000);  // the fourth would exceed data_retries
    expect_timeout_reset(h);
}

// ---- D-SACK (RFC 2883) ----

TEST(tcp_flow, duplicate_segment_is_reported_in_the_first_sack_block) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, payload_of(100));
    h.send(A, 1001, iss + 1, payload_of(100));  // a duplicate of what we have
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1101U);
    ASSERT_EQ(o[0].opt.sack_count, 1U);
    EXPECT_EQ(o[0].opt.sack[0].left, 1001U);
    EXPECT_EQ(o[0].opt.sack[0].right, 1101U);
    EXPECT_EQ(h.counted(event::tcp_dsack_tx), 1U);
    // Partly duplicate: [1051, 1201) repeats [1051, 1101); ACKed at once with that block.
    h.send(A, 1051, iss + 1, payload_of(150));
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1201U);
    ASSERT_EQ(o[0].opt.sack_count, 1U);
    EXPECT_EQ(o[0].opt.sack[0].left, 1051U);
    EXPECT_EQ(o[0].opt.sack[0].right, 1101U);
    EXPECT_EQ(h.app.data.size(), 200U);
    // The D-SACK is sent once: the next ACK carries no block.
    h.send(A, 1201, iss + 1, payload_of(100));
    h.advance_ms(40);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].opt.sack_count, 0U);
}

TEST(tcp_flow, dsack_comes_first_and_out_of_order_blocks_follow) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, payload_of(100));
    h.send(A, 1301, iss + 1, payload_of(100));  // a hole at [1101, 1301)
    (void)h.out();
    h.send(A, 1001, iss + 1, payload_of(100));  // duplicate
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    ASSERT_EQ(o[0].opt.sack_count, 2U);
    EXPECT_EQ(o[0].opt.sack[0].left, 1001U);
    EXPECT_EQ(o[0].opt.sack[0].right, 1101U);
    EXPECT_EQ(o[0].opt.sack[1].left, 1301U);
    EXPECT_EQ(o[0].opt.sack[1].right, 1401U);
}

// RFC 2883 §4: D-SACK blocks (below the cumulative ACK, or inside the second block) are not
// loss information: three of them must not start recovery the way three SACKs do.
TEST(tcp_flow, received_dsack_blocks_are_counted_not_taken_as_loss) {
    harness h;
    const std::uint32_t iss = h.handshake();
    ASSERT_NO_FATAL_FAILURE(send_full_segments(h, 8));
    const std::uint32_t base = iss + 1;
    h.send(A, 1001, base + 2 * 1460);
    (void)h.out();
    for (std::uint32_t k = 1; k <= 3; ++k) {
        // Below the ACK: segment 1 arrived twice.
        h.send(A, 1001, base + 2 * 1460, {}, sack_opt({{base, base + 1460}}),
               static_cast<std::uint16_t>(60000 + k));
    }
    // Inside the second block.
    h.send(
        A, 1001, base + 2 * 1460, {},
        sack_opt({{base + 4 * 1460, base + 4 * 1460 + 500}, {base + 4 * 1460, base + 5 * 1460}}));
    EXPECT_EQ(h.counted(event::tcp_dsack_rx), 4U);
    EXPECT_EQ(h.counted(event::tcp_fast_retransmit), 0U);
    EXPECT_FALSE(h.app.conn->sack->in_recovery());
}

// ---- Mempool sizing (docs/tcp.md) ----

TEST(tcp_flow, mbuf_demand_counts_a_full_send_queue_and_receive_window_per_connection) {
    tcp::tcp_params p;  // 4096 connections, 256 KiB each way
    // ceil(262144 / 1460) = 180 segments each way at MTU 1500.
    EXPECT_EQ(tcp::tcp_stack::mbuf_demand(p, 1500), 4096U * 360U);
    p.max_connections = 10;
    p.snd_buffer = 1460;
    p.rcv_buffer = 1461;
    EXPECT_EQ(tcp::tcp_stack::mbuf_demand(p, 1500), 10U * 3U);
    EXPECT_EQ(tcp::tcp_stack::mbuf_demand(p, 9000), 10U * 2U);  // jumbo: one segment each
}

// ---- The echo example (examples/tcp_echo) on the public API ----

tcp::connection* conn_of(const harness& h) {
    tcp::flow_key k{};
    k.family = 4;
    k.local_addr[0] = rte_cpu_to_be_32(our_ip);
    k.remote_addr[0] = rte_cpu_to_be_32(peer_ip);
    k.local_port = rte_cpu_to_be_16(h.our_port);
    k.remote_port = rte_cpu_to_be_16(h.peer_port);
    return h.tcp->lookup(k);
}

// The example echoes zero-copy. A peer that does not read (window 0) fills our send queue
// (snd_buffer 4000); the handler pauses receiving, the next 8000 bytes are held and our window
// closes, so the peer can push no more than 12000 bytes. When it reads again, on_writable
// resumes, everything comes back intact and in order, then our FIN after its FIN.
TEST(tcp_echo_example, echoes_and_pushes_back_on_a_peer_that_does_not_read) {
    tcp::tcp_params p;
    p.snd_buffer = 4000;
    p.rcv_buffer = 8000;
    harness h(p);
    examples::echo_handler echo(*h.tcp);
    ASSERT_TRUE(h.tcp->listen(h.our_port, 8, &echo));
    h.send(S, 1000, 0, {}, harness::syn_opts());
    const std::uint32_t iss = h.out().at(0).seq;
    h.send(A, 1001, iss + 1, {}, {}, 0);  // the peer's window: closed from the start
    ASSERT_EQ(echo.accepted(), 1U);
    tcp::connection* c = conn_of(h);
    ASSERT_NE(c, nullptr);
    const bytes sent = send_peer_segments(h, iss + 1, 12, 1000, 0);
    auto o = h.out();
    ASSERT_FALSE(o.empty());
    for (const auto& seg : o) {
        EXPECT_TRUE(seg.payload.empty());  // nothing goes into the peer's zero window
    }
    EXPECT_EQ(o.back().wnd, 0);
    EXPECT_EQ(c->snd_queued, 4000U);
    EXPECT_EQ(h.tcp->recv_held(*c), 8000U);
    EXPECT_TRUE(h.tcp->recv_paused(*c));
    h.send(A, 13001, iss + 1, payload_of(1000), {}, 0);  // a 13th segment does not fit
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 13001U);
    EXPECT_EQ(o[0].wnd, 0);
    // The peer reads: its window opens, and it ACKs whatever comes back.
    bytes back;
    for (int round = 0; round < 40 && back.size() < sent.size(); ++round) {
        const auto acked = iss + 1 + static_cast<std::uint32_t>(back.size());
        h.send(A, 13001, acked, {}, {}, 65535);
        for (const auto& seg : h.out()) {
            if (!seg.payload.empty() && seg.seq == iss + 1 + back.size()) {
                append(back, seg.payload);
            }
        }
    }
    EXPECT_EQ(back, sent);
    EXPECT_EQ(echo.echoed(), sent.size());
    EXPECT_EQ(h.tcp->recv_held(*c), 0U);
    // The peer's FIN: the handler closes, and our FIN follows the echoed data.
    h.send(F | A, 13001, iss + 1 + static_cast<std::uint32_t>(back.size()), {}, {}, 65535);
    bool fin = false;
    for (const auto& seg : h.out()) {
        fin = fin || (seg.flags & F) != 0;
    }
    EXPECT_TRUE(fin);
}

}  // namespace
}  // namespace sluice::test
