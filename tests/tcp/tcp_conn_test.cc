// The TCP connection state machine (RFC 9293 §3.10) through a real stack on the dpdk_env
// net_ring loopback: segments in, segments out, with an injected clock. Single-segment
// reactions are a case table; multi-step scenarios are tests of their own.
#include <gtest/gtest.h>

#include <optional>

#include "tcp_test_helpers.hh"

namespace sluice::test {
namespace {

using dp::net::drop_reason;
using dp::net::event;
using tcp::tcp_state;

// ---- One segment to a port without a connection (RFC 9293 §3.10.7.1 / §3.10.7.2) ----
struct closed_case {
    const char* name;
    bool listening;
    std::uint8_t flags;
    std::uint32_t seq, ack;
    std::size_t payload;
    // Expected reply (flags 0: none).
    std::uint8_t reply_flags;
    std::uint32_t reply_seq, reply_ack;
    std::optional<drop_reason> drop;
};

const closed_case closed_cases[] = {
    {"syn_to_closed_port_gets_rst_ack", false, S, 100, 0, 0, R | A, 0, 101,
     drop_reason::tcp_no_socket},
    {"data_without_ack_gets_rst_ack_covering_it", false, P, 100, 0, 10, R | A, 0, 110,
     drop_reason::tcp_no_socket},
    {"ack_to_closed_port_gets_rst_from_its_ack", false, A, 100, 5555, 0, R, 5555, 0,
     drop_reason::tcp_no_socket},
    {"rst_to_closed_port_is_never_answered", false, R | A, 100, 5555, 0, 0, 0, 0,
     drop_reason::tcp_no_socket},
    {"ack_to_listener_gets_rst", true, A, 100, 777, 0, R, 777, 0, drop_reason::tcp_no_socket},
    {"syn_to_listener_gets_syn_ack", true, S, 100, 0, 0, S | A, 0, 101, std::nullopt},
    {"syn_ack_to_listener_gets_rst", true, S | A, 100, 9, 0, R, 9, 0,
     drop_reason::tcp_no_socket},
};

class tcp_closed : public ::testing::TestWithParam<closed_case> {};

TEST_P(tcp_closed, segment_without_connection_gets_rfc9293_answer) {
    const closed_case& c = GetParam();
    harness h;
    if (c.listening) {
        h.listen();
    }
    h.send(c.flags, c.seq, c.ack, payload_of(c.payload));
    const auto o = h.out();
    if (c.reply_flags == 0) {
        EXPECT_TRUE(o.empty());
    } else {
        ASSERT_EQ(o.size(), 1U);
        EXPECT_EQ(o[0].flags, c.reply_flags);
        EXPECT_EQ(o[0].dport, h.peer_port);
        if ((c.reply_flags & S) == 0) {
            EXPECT_EQ(o[0].seq, c.reply_seq);
        }
        EXPECT_EQ(o[0].ack, c.reply_ack);
    }
    if (c.drop) {
        EXPECT_EQ(h.dropped(*c.drop), 1U);
    }
}

INSTANTIATE_TEST_SUITE_P(cases, tcp_closed, ::testing::ValuesIn(closed_cases),
                         [](const auto& i) { return std::string(i.param.name); });

// ---- Opening ----

TEST(tcp_conn, passive_open_negotiates_options_and_reaches_established) {
    harness h;
    h.listen();
    h.send(S, 1000, 0, {}, harness::syn_opts(true));
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, S | A);
    EXPECT_EQ(o[0].ack, 1001U);
    EXPECT_TRUE(o[0].opt.has_mss);
    EXPECT_EQ(o[0].opt.mss, 1460);
    EXPECT_TRUE(o[0].opt.sack_permitted);
    EXPECT_TRUE(o[0].opt.has_timestamps);
    EXPECT_EQ(o[0].opt.ts_ecr, 1000U);
    EXPECT_TRUE(o[0].opt.has_window_scale);
    EXPECT_EQ(o[0].wnd, 65535);  // RFC 7323 §2.2: the SYN-ACK window is not scaled
    EXPECT_TRUE(h.app.events.empty());
    h.send(A, 1001, o[0].seq + 1);
    ASSERT_EQ(h.app.events, std::vector<std::string>{"established"});
    EXPECT_EQ(h.app.conn->state, tcp_state::established);
    EXPECT_EQ(h.app.conn->smss, 1460 - 12);  // RFC 6691: timestamps take 12 bytes
    EXPECT_EQ(h.app.conn->snd_wscale, 7);
    EXPECT_TRUE(h.out().empty());
}

TEST(tcp_conn, syn_ack_is_retransmitted_and_embryo_dies_after_retries) {
    tcp::tcp_params p;
    p.syn_retries = 2;
    harness h(p);
    h.listen();
    h.send(S, 1000, 0, {}, harness::syn_opts());
    ASSERT_EQ(h.out().size(), 1U);
    h.advance_ms(1000);  // RFC 6298 §2.1 initial RTO 1 s
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, S | A);
    h.advance_ms(2000);  // doubled
    EXPECT_EQ(h.out().size(), 1U);
    h.advance_ms(4000);
    EXPECT_TRUE(h.out().empty());
    EXPECT_EQ(h.tcp->active_connections(), 0U);
    EXPECT_EQ(h.counted(event::tcp_timeout), 1U);
}

TEST(tcp_conn, full_backlog_without_syn_cookies_drops_further_syns) {
    tcp::tcp_params p;
    p.syn_cookies = false;
    harness h(p);
    h.listen(1);
    h.send(S, 1000, 0);
    h.peer_port = 40001;
    h.send(S, 2000, 0);
    EXPECT_EQ(h.out().size(), 1U);
    EXPECT_EQ(h.dropped(drop_reason::tcp_backlog_full), 1U);
}

// RFC 4987 §3.6: with the backlog full, a SYN gets a stateless SYN-ACK whose ISN is a cookie;
// the ACK that returns it builds the connection with the options the SYN negotiated.
TEST(tcp_conn, full_backlog_answers_with_syn_cookie_and_its_ack_establishes) {
    for (const bool ts : {false, true}) {
        SCOPED_TRACE(ts ? "with timestamps" : "without timestamps");
        harness h;
        h.listen(1);
        h.send(S, 1000, 0);  // fills the backlog
        (void)h.out();
        h.peer_port = 40001;
        h.send(S, 2000, 0, {}, harness::syn_opts(ts));
        auto o = h.out();
        ASSERT_EQ(o.size(), 1U);
        EXPECT_EQ(o[0].flags, S | A);
        EXPECT_EQ(o[0].ack, 2001U);
        EXPECT_EQ(o[0].opt.mss, 1460);
        EXPECT_EQ(o[0].opt.has_window_scale, ts);  // only timestamps can carry it back
        EXPECT_EQ(o[0].opt.sack_permitted, ts);
        EXPECT_EQ(h.tcp->active_connections(), 1U);  // no state for the cookie
        EXPECT_EQ(h.counted(event::tcp_syn_cookie_sent), 1U);
        bytes ack_opts;
        if (ts) {
            std::array<std::uint8_t, tcp::max_option_bytes> b{};
            const std::size_t n =
                tcp::build_segment_options(b, true, 1001, o[0].opt.ts_val, {});
            ack_opts.assign(b.begin(), b.begin() + static_cast<long>(n));
        }
        h.send(A, 2001, o[0].seq + 1, payload_of(10), ack_opts);
        ASSERT_EQ(h.app.events.size(), 2U);
        EXPECT_EQ(h.app.events[0], "established");
        EXPECT_EQ(h.app.events[1], "data:10");
        EXPECT_EQ(h.counted(event::tcp_syn_cookie_accepted), 1U);
        EXPECT_EQ(h.app.conn->smss, ts ? 1460 - 12 : 1460);
        EXPECT_EQ(h.app.conn->snd_wscale, ts ? 7 : 0);
        EXPECT_EQ(h.app.conn->sack_ok, ts);
        // A forged cookie is refused with RST.
        h.peer_port = 40002;
        h.send(A, 3001, o[0].seq + 12345);
        o = h.out();
        ASSERT_FALSE(o.empty());
        EXPECT_EQ(o.back().flags, R);
        EXPECT_EQ(h.counted(event::tcp_syn_cookie_accepted), 1U);
    }
}

TEST(tcp_conn, active_open_sends_syn_and_completes_on_syn_ack) {
    harness h;
    tcp::connection* c =
        h.tcp->connect(h.env.port, rte_cpu_to_be_32(peer_ip), 8080, &h.app, nullptr, 0);
    ASSERT_NE(c, nullptr);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, S);
    EXPECT_EQ(o[0].dport, 8080);
    EXPECT_EQ(c->state, tcp_state::syn_sent);
    h.our_port = o[0].sport;
    h.peer_port = 8080;
    h.send(S | A, 5000, o[0].seq + 1, {}, harness::syn_opts());
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, A);
    EXPECT_EQ(o[0].ack, 5001U);
    EXPECT_EQ(h.app.events, std::vector<std::string>{"established"});
    EXPECT_EQ(c->state, tcp_state::established);
}

TEST(tcp_conn, rst_answering_our_syn_reports_refused) {
    harness h;
    tcp::connection* c =
        h.tcp->connect(h.env.port, rte_cpu_to_be_32(peer_ip), 8080, &h.app, nullptr, 0);
    ASSERT_NE(c, nullptr);
    auto o = h.out();
    h.our_port = o[0].sport;
    h.peer_port = 8080;
    h.send(R | A, 0, o[0].seq + 1);
    EXPECT_EQ(h.app.events, std::vector<std::string>{"closed:refused"});
    EXPECT_EQ(h.tcp->active_connections(), 0U);
}

TEST(tcp_conn, connect_gives_up_at_its_timeout) {
    harness h;
    ASSERT_NE(h.tcp->connect(h.env.port, rte_cpu_to_be_32(peer_ip), 8080, &h.app, nullptr, 2500),
              nullptr);
    h.advance_ms(2600);
    EXPECT_EQ(h.app.events, std::vector<std::string>{"closed:timeout"});
    EXPECT_EQ(h.out().size(), 2U);  // SYN at 0 and the retransmission at 1 s
}

TEST(tcp_conn, simultaneous_open_goes_through_syn_received) {
    harness h;
    tcp::connection* c =
        h.tcp->connect(h.env.port, rte_cpu_to_be_32(peer_ip), 8080, &h.app, nullptr, 0);
    auto o = h.out();
    h.our_port = o[0].sport;
    h.peer_port = 8080;
    const std::uint32_t iss = o[0].seq;
    h.send(S, 7000, 0, {}, harness::syn_opts());  // the peer's own SYN crosses ours
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, S | A);
    EXPECT_EQ(o[0].seq, iss);
    EXPECT_EQ(c->state, tcp_state::syn_received);
    h.send(S | A, 7000, iss + 1);  // its SYN-ACK: a SYN in a synchronized state ...
    h.send(A, 7001, iss + 1);      // ... and then the plain ACK of our SYN
    EXPECT_EQ(h.app.events, std::vector<std::string>{"established"});
}

// ---- Data ----

TEST(tcp_conn, in_order_data_is_delivered_and_ack_is_delayed_up_to_40ms) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(100);
    h.send(A | P, 1001, iss + 1, d);
    EXPECT_EQ(h.app.data, d);
    EXPECT_TRUE(h.out().empty());  // delayed
    h.advance_ms(39);
    EXPECT_TRUE(h.out().empty());
    h.advance_ms(1);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1101U);
    EXPECT_EQ(h.counted(event::tcp_delayed_ack), 1U);
}

TEST(tcp_conn, every_second_segment_is_acked_at_once) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, payload_of(1000));
    EXPECT_TRUE(h.out().empty());
    h.send(A, 2001, iss + 1, payload_of(1000));
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 3001U);
}

TEST(tcp_conn, out_of_order_data_gets_immediate_sack_and_is_delivered_when_hole_fills) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes a = payload_of(500, 1), b = payload_of(500, 2);
    h.send(A, 1501, iss + 1, b);  // the second half first
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1001U);  // duplicate ACK ...
    ASSERT_EQ(o[0].opt.sack_count, 1U);  // ... with the block we hold (RFC 2018)
    EXPECT_EQ(o[0].opt.sack[0].left, 1501U);
    EXPECT_EQ(o[0].opt.sack[0].right, 2001U);
    EXPECT_TRUE(h.app.data.empty());
    h.send(A, 1001, iss + 1, a);
    bytes both = a;
    append(both, b);
    EXPECT_EQ(h.app.data, both);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 2001U);
    EXPECT_EQ(o[0].opt.sack_count, 0U);
}

TEST(tcp_conn, duplicate_segment_is_acked_not_delivered_twice) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, payload_of(100));
    h.send(A, 1001, iss + 1, payload_of(100));
    EXPECT_EQ(h.app.data.size(), 100U);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1101U);
    EXPECT_EQ(h.dropped(drop_reason::tcp_unacceptable), 1U);
}

TEST(tcp_conn, send_is_segmented_by_mss_and_limited_by_initial_window) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(20000);
    EXPECT_EQ(h.tcp->send(*h.app.conn, d.data(), static_cast<std::uint32_t>(d.size())), 20000U);
    auto o = h.out();
    // RFC 6928 IW10 with SMSS 1460: 14600 bytes in 10 segments, then wait for ACKs.
    ASSERT_EQ(o.size(), 10U);
    bytes got;
    for (std::size_t i = 0; i < o.size(); ++i) {
        EXPECT_EQ(o[i].seq, iss + 1 + i * 1460);
        EXPECT_EQ(o[i].payload.size(), 1460U);
        append(got, o[i].payload);
    }
    EXPECT_TRUE(std::equal(got.begin(), got.end(), d.begin()));
    h.send(A, 1001, iss + 1 + 14600);
    o = h.out();
    ASSERT_EQ(o.size(), 4U);  // the remaining 5400 bytes
    EXPECT_EQ(o[3].payload.size(), 5400U - 3 * 1460U);
    EXPECT_EQ(o[3].flags & P, P);
}

// Segments are assembled from several queued mbufs; piece boundaries at odd offsets must
// still give a correct checksum (the harness verifies every checksum).
// Each test starts from an accepted connection (window scaling on) in the tx mode under test
// whose peer advertised a zero window, so what the application sends stays queued.
class tcp_tx_modes : public ::testing::TestWithParam<tcp::tcp_params::tx_mode> {
protected:
    void SetUp() override {
        tcp::tcp_params p;
        p.tx = GetParam();
        h_.emplace(p);
        h_->listen();
        h_->send(S, 1000, 0, {}, harness::syn_opts());
        iss_ = h_->out().at(0).seq;
        h_->send(A, 1001, iss_ + 1, {}, {}, 0);
    }
    std::optional<harness> h_;
    std::uint32_t iss_ = 0;
};

TEST_P(tcp_tx_modes, segment_spanning_queued_mbufs_at_odd_offsets_is_intact) {
    harness& h = *h_;
    const std::uint32_t iss = iss_;
    const bytes a = payload_of(101, 3), b = payload_of(3001, 4);
    h.tcp->send(*h.app.conn, a.data(), 101);
    h.tcp->send(*h.app.conn, b.data(), 3001);
    EXPECT_TRUE(h.out().empty());
    h.send(A, 1001, iss + 1, {}, {}, 100);  // window opens (scaled by 2^7)
    const auto o = h.out();
    ASSERT_EQ(o.size(), 3U);
    bytes got;
    for (const auto& s : o) {
        append(got, s.payload);
    }
    bytes want = a;
    append(want, b);
    EXPECT_EQ(got, want);
}

// Small segments are copied into the header mbuf in both modes (tcp_output.cc copy_max_bytes);
// one gathered from several small queued mbufs at odd sizes must arrive intact.
TEST_P(tcp_tx_modes, small_segment_gathered_from_several_queued_mbufs_is_intact) {
    harness& h = *h_;
    const std::uint32_t iss = iss_;
    const bytes a = payload_of(7, 5), b = payload_of(11, 6), c = payload_of(13, 7);
    h.tcp->send(*h.app.conn, a.data(), 7);
    h.tcp->send(*h.app.conn, b.data(), 11);
    h.tcp->send(*h.app.conn, c.data(), 13);
    EXPECT_TRUE(h.out().empty());
    h.send(A, 1001, iss + 1, {}, {}, 100);
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    bytes want = a;
    append(want, b);
    append(want, c);
    EXPECT_EQ(o[0].payload, want);
}

// RFC 1191: a frag-needed quoting a segment in flight lowers SMSS and resends at once.
TEST(tcp_conn, icmp_frag_needed_lowers_mss_and_resends_smaller) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(1460);
    h.tcp->send(*h.app.conn, d.data(), 1460);
    ASSERT_EQ(h.out().size(), 1U);
    auto icmp_for = [&](std::uint32_t quoted_seq, std::uint16_t mtu) {
        bytes ic(8 + 20 + 8);
        ic[0] = 3;
        ic[1] = 4;
        put16(ic, 6, mtu);
        ic[8] = 0x45;
        put16(ic, 10, 1500);
        ic[8 + 9] = 6;
        put32(ic, 8 + 12, our_ip);
        put32(ic, 8 + 16, peer_ip);
        put16(ic, 28, h.our_port);
        put16(ic, 30, h.peer_port);
        put32(ic, 32, quoted_seq);
        put16(ic, 2, inet_checksum(ic, 0, ic.size()));
        h.inject_ipv4(1, ic);
    };
    icmp_for(iss + 5000, 1000);  // not in flight: ignored (RFC 5927 §4.1)
    EXPECT_TRUE(h.out().empty());
    EXPECT_EQ(h.dropped(drop_reason::tcp_icmp_ignored), 1U);
    icmp_for(iss + 1, 1000);
    const auto o = h.out();
    ASSERT_EQ(o.size(), 2U);
    EXPECT_EQ(o[0].seq, iss + 1);
    EXPECT_EQ(o[0].payload.size(), 960U);
    EXPECT_EQ(o[1].payload.size(), 500U);
    EXPECT_EQ(h.app.conn->smss, 960);
    EXPECT_EQ(h.counted(event::tcp_pmtu_reduced), 1U);
}

INSTANTIATE_TEST_SUITE_P(modes, tcp_tx_modes,
                         ::testing::Values(tcp::tcp_params::tx_mode::attach,
                                           tcp::tcp_params::tx_mode::copy),
                         [](const auto& i) {
                             return i.param == tcp::tcp_params::tx_mode::copy ? "copy" : "attach";
                         });

TEST(tcp_conn, lost_segment_is_retransmitted_after_rto_from_the_queue) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(300);
    h.tcp->send(*h.app.conn, d.data(), 300);
    ASSERT_EQ(h.out().size(), 1U);
    h.advance_ms(999);
    EXPECT_TRUE(h.out().empty());
    h.advance_ms(1);  // RFC 6298 §2.1: 1 s before any RTT sample
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].seq, iss + 1);
    EXPECT_EQ(o[0].payload, d);
    EXPECT_EQ(h.counted(event::tcp_rto), 1U);
    h.send(A, 1001, iss + 301);
    h.advance_ms(5000);
    EXPECT_TRUE(h.out().empty());  // acked: the timer is off
}

TEST(tcp_conn, three_duplicate_acks_trigger_fast_retransmit) {
    harness h;
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(5 * 1460);
    h.tcp->send(*h.app.conn, d.data(), static_cast<std::uint32_t>(d.size()));
    ASSERT_EQ(h.out().size(), 5U);
    h.send(A, 1001, iss + 1 + 1460);  // segment 1 arrived, segment 2 was lost
    EXPECT_TRUE(h.out().empty());
    for (int i = 0; i < 3; ++i) {
        h.send(A, 1001, iss + 1 + 1460);  // segments 3-5 arrive: three duplicates
    }
    auto o = h.out();
    ASSERT_GE(o.size(), 1U);
    EXPECT_EQ(o[0].seq, iss + 1 + 1460);
    EXPECT_EQ(o[0].payload.size(), 1460U);
    EXPECT_EQ(h.counted(event::tcp_fast_retransmit), 1U);
}

// RFC 6675: ACKs whose SACK blocks report new data are DupAcks whatever their window; the
// third starts recovery, the hole is retransmitted first, and pipe (not cwnd inflation)
// limits what follows.
TEST(tcp_conn, sack_recovery_retransmits_the_hole_on_third_sack_whatever_the_window) {
    harness h;
    const std::uint32_t iss = h.handshake();
    ASSERT_NO_FATAL_FAILURE(send_full_segments(h, 8));
    const std::uint32_t base = iss + 1;
    h.send(A, 1001, base + 1460);  // segment 1 arrived; segment 2 is lost
    (void)h.out();                 // (slow start sends more new data)
    for (std::uint32_t k = 1; k <= 3; ++k) {
        // Each ACK also changes the window, which would disqualify an RFC 5681 duplicate.
        h.send(A, 1001, base + 1460, {}, sack_opt({{base + 2 * 1460, base + (2 + k) * 1460}}),
               static_cast<std::uint16_t>(60000 + k));
    }
    const auto o = h.out();
    ASSERT_GE(o.size(), 1U);
    EXPECT_EQ(o[0].seq, base + 1460);
    EXPECT_EQ(o[0].payload.size(), 1460U);
    EXPECT_EQ(h.counted(event::tcp_fast_retransmit), 1U);
    EXPECT_TRUE(h.app.conn->sack->in_recovery());
    // The cumulative ACK past the recovery point ends recovery.
    h.send(A, 1001, h.app.conn->snd_max);
    EXPECT_FALSE(h.app.conn->sack->in_recovery());
}

TEST(tcp_conn, short_send_reports_writable_once_acks_free_room) {
    tcp::tcp_params p;
    p.snd_buffer = 4000;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    const bytes d = payload_of(6000);
    EXPECT_EQ(h.tcp->send(*h.app.conn, d.data(), 6000), 4000U);
    (void)h.out();
    h.send(A, 1001, iss + 1 + 4000);
    EXPECT_EQ(h.app.events.back(), "writable");
}

// send_filled: an app-filled mbuf is queued as it is when it fits, and otherwise behaves like
// send() (short write, writable later).
TEST(tcp_conn, send_filled_queues_the_mbuf_or_falls_back_to_a_short_send) {
    tcp::tcp_params p;
    p.snd_buffer = 200;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    auto filled = [&](const bytes& d) {
        rte_mbuf* m = rte_pktmbuf_alloc(h.env.pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(d.size())), d.data(),
                    d.size());
        return m;
    };
    const bytes a = payload_of(120, 3);
    EXPECT_EQ(h.tcp->send_filled(*h.app.conn, filled(a)), 120U);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].payload, a);
    const bytes b = payload_of(150, 4);  // 80 bytes of room left: a short write, like send()
    EXPECT_EQ(h.tcp->send_filled(*h.app.conn, filled(b)), 80U);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].payload, bytes(b.begin(), b.begin() + 80));
    h.send(A, 1001, iss + 1 + 200);
    EXPECT_EQ(h.app.events.back(), "writable");
}

TEST(tcp_conn, keepalive_probes_an_idle_peer_and_resets_when_unanswered) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.tcp->set_keepalive(*h.app.conn, 1000, 100, 2);
    h.advance_ms(999);
    EXPECT_TRUE(h.out().empty());
    h.advance_ms(1);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, A);
    EXPECT_EQ(o[0].seq, iss);  // SND.NXT - 1 (RFC 1122 §4.2.3.6)
    EXPECT_TRUE(o[0].payload.empty());
    h.send(A, 1001, iss + 1);  // answered: idle again
    h.advance_ms(999);
    EXPECT_TRUE(h.out().empty());
    h.advance_ms(1 + 100);  // idle, then two unanswered probes
    EXPECT_EQ(h.out().size(), 2U);
    EXPECT_EQ(h.counted(event::tcp_keepalive_probe), 3U);
    h.advance_ms(100);
    expect_timeout_reset(h);
}

TEST(tcp_conn, data_sent_on_an_idle_keepalive_connection_gets_a_normal_rto) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.tcp->set_keepalive(*h.app.conn, 60'000, 1000, 3);
    const bytes d = payload_of(100);
    h.tcp->send(*h.app.conn, d.data(), 100);
    ASSERT_EQ(h.out().size(), 1U);
    h.advance_ms(1000);  // the RTO, not the 60 s keepalive idle time
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].seq, iss + 1);
    EXPECT_EQ(o[0].payload, d);
}

TEST(tcp_conn, nagle_holds_small_segments_while_data_is_unacked) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.tcp->set_nagle(*h.app.conn, true);
    const bytes a = payload_of(10, 1), b = payload_of(10, 2);
    h.tcp->send(*h.app.conn, a.data(), 10);
    EXPECT_EQ(h.out().size(), 1U);  // nothing in flight: goes at once
    h.tcp->send(*h.app.conn, b.data(), 10);
    EXPECT_TRUE(h.out().empty());  // held behind the unacked 10 bytes
    h.send(A, 1001, iss + 11);
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].payload, b);
}

// ---- Closing ----

TEST(tcp_conn, peer_fin_then_our_close_goes_close_wait_last_ack_closed) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(F | A, 1001, iss + 1);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1002U);  // the FIN is acked at once
    EXPECT_EQ(h.app.events.back(), "peer_shutdown");
    EXPECT_EQ(h.app.conn->state, tcp_state::close_wait);
    // Half-close: we may still send.
    const bytes d = payload_of(10);
    EXPECT_EQ(h.tcp->send(*h.app.conn, d.data(), 10), 10U);
    tcp::connection* c = h.app.conn;
    h.tcp->close(*c);
    o = h.out();
    ASSERT_EQ(o.size(), 2U);  // the data, then our FIN right behind it
    EXPECT_EQ(o[0].flags, A | P);
    EXPECT_EQ(o[0].payload, d);
    EXPECT_EQ(o[1].flags, F | A);
    EXPECT_EQ(o[1].seq, iss + 11);
    EXPECT_EQ(c->state, tcp_state::last_ack);
    h.send(A, 1002, iss + 11);  // acks the data only
    EXPECT_EQ(h.tcp->active_connections(), 1U);
    h.send(A, 1002, iss + 12);
    EXPECT_EQ(h.tcp->active_connections(), 0U);
}

TEST(tcp_conn, our_close_goes_fin_wait_1_fin_wait_2_time_wait_then_frees) {
    tcp::tcp_params p;
    p.time_wait_ms = 500;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    tcp::connection* c = h.app.conn;
    h.tcp->close(*c);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, F | A);
    EXPECT_EQ(c->state, tcp_state::fin_wait_1);
    h.send(A, 1001, iss + 2);
    EXPECT_EQ(c->state, tcp_state::fin_wait_2);
    h.send(F | A, 1001, iss + 2);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1002U);
    EXPECT_EQ(c->state, tcp_state::time_wait);
    h.send(F | A, 1001, iss + 2);  // the peer lost our ACK: ACK again
    EXPECT_EQ(h.out().size(), 1U);
    const tcp::flow_key key = c->key;
    EXPECT_EQ(h.tcp->lookup(key), c);  // found (and now in the lookup's flow cache)
    h.advance_ms(499);
    EXPECT_EQ(h.tcp->active_connections(), 1U);
    h.advance_ms(1);
    EXPECT_EQ(h.tcp->active_connections(), 0U);
    EXPECT_EQ(h.counted(event::tcp_time_wait), 1U);
    EXPECT_EQ(h.tcp->lookup(key), nullptr);  // freeing the TCB also cleared its cache slot
}

TEST(tcp_conn, newer_syn_takes_over_time_wait_pair) {
    tcp::tcp_params p;
    p.time_wait_ms = 60'000;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    h.tcp->close(*h.app.conn);
    h.send(A, 1001, iss + 2);
    h.send(F | A, 1001, iss + 2);
    (void)h.out();
    ASSERT_EQ(h.counted(event::tcp_time_wait), 1U);
    // RFC 6191 without timestamps: an old sequence number only gets an ACK ...
    h.send(S, 500, 0);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, A);
    // ... a SYN above RCV.NXT opens a new connection at once.
    h.send(S, 90000, 0);
    o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, S | A);
    EXPECT_EQ(o[0].ack, 90001U);
    EXPECT_EQ(h.counted(event::tcp_time_wait_reused), 1U);
}

TEST(tcp_conn, simultaneous_close_goes_through_closing) {
    tcp::tcp_params p;
    p.time_wait_ms = 100;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    tcp::connection* c = h.app.conn;
    h.tcp->close(*c);
    (void)h.out();
    h.send(F | A, 1001, iss + 1);  // the peer's FIN does not ack ours
    EXPECT_EQ(c->state, tcp_state::closing);
    h.send(A, 1002, iss + 2);
    EXPECT_EQ(c->state, tcp_state::time_wait);
    h.advance_ms(100);
    EXPECT_EQ(h.tcp->active_connections(), 0U);
}

TEST(tcp_conn, fin_is_retransmitted_when_not_acked) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.tcp->close(*h.app.conn);
    ASSERT_EQ(h.out().size(), 1U);
    h.advance_ms(1000);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags & F, F);
    EXPECT_EQ(o[0].seq, iss + 1);
}

// ---- Resets (RFC 9293 §3.10.7.4 second check, RFC 5961 §3) ----

TEST(tcp_conn, rst_at_rcv_nxt_resets_the_connection) {
    harness h;
    h.handshake();
    h.send(R, 1001, 0);
    EXPECT_EQ(h.app.events.back(), "closed:reset");
    EXPECT_EQ(h.tcp->active_connections(), 0U);
    EXPECT_TRUE(h.out().empty());
}

TEST(tcp_conn, rst_elsewhere_in_window_gets_challenge_ack) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(R, 1500, 0);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, A);
    EXPECT_EQ(o[0].seq, iss + 1);
    EXPECT_EQ(o[0].ack, 1001U);
    EXPECT_EQ(h.tcp->active_connections(), 1U);
    EXPECT_EQ(h.counted(event::tcp_challenge_ack), 1U);
}

TEST(tcp_conn, challenge_acks_are_rate_limited_per_second) {
    tcp::tcp_params p;
    p.challenge_ack_limit = 3;
    harness h(p);
    h.handshake();
    for (int i = 0; i < 5; ++i) {
        h.send(R, 1500, 0);
    }
    EXPECT_EQ(h.out().size(), 3U);
    EXPECT_EQ(h.counted(event::tcp_challenge_ack_limited), 2U);
    h.advance_ms(1000);  // a new second, a new budget
    h.send(R, 1500, 0);
    EXPECT_EQ(h.out().size(), 1U);
}

TEST(tcp_conn, syn_on_established_connection_gets_challenge_ack) {
    harness h;
    h.handshake();
    h.send(S, 1001, 0);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags, A);
    EXPECT_EQ(h.app.conn->state, tcp_state::established);
}

TEST(tcp_conn, abort_sends_rst_and_frees_at_next_tick) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.tcp->abort(*h.app.conn);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags & R, R);
    EXPECT_EQ(o[0].seq, iss + 1);
    h.advance_ms(1);
    EXPECT_EQ(h.tcp->active_connections(), 0U);
    EXPECT_EQ(h.app.events, std::vector<std::string>{"established"});  // no event for abort
}

TEST(tcp_conn, segment_outside_window_is_acked_and_dropped) {
    harness h;
    h.handshake();
    h.send(A, 1001 + 1'000'000, 0, payload_of(10));
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].ack, 1001U);
    EXPECT_TRUE(h.app.data.empty());
}

TEST(tcp_conn, every_mbuf_returns_after_traffic_and_release) {
    const unsigned before = dpdk_env::get().in_use();
    {
        harness h;
        const std::uint32_t iss = h.handshake();
        const bytes d = payload_of(8000);
        h.tcp->send(*h.app.conn, d.data(), 8000);
        h.send(A, 1501, iss + 1, payload_of(300));  // held out of order
        (void)h.out();
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// Microsoft's RSS verification suite (also DPDK's app/test/test_thash.c): the hash of an
// IPv4/TCP segment from 66.9.149.187:2794 to 161.142.100.80:1766 under the default key.
TEST(tcp_rss, toeplitz_hash_matches_the_rss_verification_vector) {
    const std::uint8_t key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                                  0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                                  0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                                  0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
    const auto remote = rte_cpu_to_be_32(ip4(66, 9, 149, 187));
    const auto local = rte_cpu_to_be_32(ip4(161, 142, 100, 80));
    EXPECT_EQ(tcp::rss_hash_v4(key, remote, local, 2794, 1766), 0x51ccc178U);
}

TEST(tcp_rss, single_queue_port_takes_any_source_port) {
    EXPECT_FALSE(tcp::rss_read(dpdk_env::get().port).active);
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// Robustness: seeded random segments (flags, sequence and ACK numbers near and far from the
// connection's, windows, option bytes, payload sizes) against a listener and an established
// connection. Nothing may crash, and every mbuf must come back once the stack is released.
TEST(tcp_conn_random, random_segments_never_crash_and_leak_nothing) {
    const unsigned before = dpdk_env::get().in_use();
    {
        harness h;
        const std::uint32_t iss = h.handshake();
        xorshift64s rnd{0x9e3779b97f4a7c15ULL};  // fixed seed: reproducible
        for (int i = 0; i < 20000; ++i) {
            const std::uint32_t r = rnd();
            const std::uint8_t flags = static_cast<std::uint8_t>(rnd() & 0x3f);
            const std::uint32_t seq = (r & 1) != 0 ? 1001 + (rnd() % 70000) - 1000 : rnd();
            const std::uint32_t ack = (r & 2) != 0 ? iss + (rnd() % 3000) : rnd();
            bytes opts((rnd() % 11) * 4);
            for (auto& b : opts) {
                b = static_cast<std::uint8_t>((rnd() % 4 == 0) ? rnd() : rnd() % 9);
            }
            h.peer_port = (r & 4) != 0 ? 40000 : static_cast<std::uint16_t>(40000 + rnd() % 4);
            h.send(flags, seq, ack, payload_of(rnd() % 1400), opts,
                   static_cast<std::uint16_t>(rnd()));
            if (i % 64 == 0) {
                (void)h.out();
                h.advance_ms(rnd() % 300);
                if (h.tcp->active_connections() == 0) {
                    h.peer_port = 40000;
                    h.app.events.clear();
                }
            }
        }
        (void)h.out();
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

}  // namespace
}  // namespace sluice::test
