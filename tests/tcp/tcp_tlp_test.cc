// Tail loss probe (RFC 8985 §7) through a real stack on the dpdk_env net_ring loopback, with an
// injected clock: when the probe goes (PTO), what it carries, and how its answer is used.
// Every test here fails with tcp_params::tlp = false (the probe never goes, or the
// recovery it starts never happens). Runs on the test's thread, like the harness.
#include <gtest/gtest.h>

#include "tcp_test_helpers.hh"

namespace sluice::test {
namespace {

using dp::net::event;

constexpr std::uint32_t rtt_ms = 20;  // SRTT after warm_up: PTO = 2 * SRTT = 40 ms

// Passive open; `sack` chooses whether the peer's SYN offers SACK (RFC 2018 §2). Returns our
// ISN.
std::uint32_t open(harness& h, bool sack) {
    h.listen();
    tcp::syn_option_spec sp;
    sp.mss = 1460;
    sp.window_scale = true;
    sp.window_shift = 7;
    sp.sack_permitted = sack;
    std::array<std::uint8_t, tcp::max_option_bytes> b{};
    const std::size_t n = tcp::build_syn_options(b, sp);
    h.send(S, 1000, 0, {}, bytes(b.begin(), b.begin() + static_cast<long>(n)));
    const auto o = h.out();
    EXPECT_EQ(o.size(), 1U);
    if (o.empty()) {
        return 0;
    }
    h.send(A, 1001, o[0].seq + 1);
    EXPECT_EQ(h.app.conn != nullptr && h.app.conn->sack_ok, sack);
    return o[0].seq;
}

// One small segment out and ACKed rtt_ms later: the connection has an RTT sample (SRTT =
// rtt_ms, RFC 6298 §2.2), which a probe needs. Returns SND.NXT afterwards.
std::uint32_t warm_up(harness& h, std::uint32_t iss) {
    const bytes d = payload_of(100, 9);
    h.tcp->send(*h.app.conn, d.data(), 100);
    EXPECT_EQ(h.out().size(), 1U);
    h.advance_ms(rtt_ms);
    h.send(A, 1001, iss + 101);
    EXPECT_TRUE(h.app.conn->rtt.has_sample());
    return iss + 101;
}

// Sends `n` full segments from `base` and has the peer ACK the first `acked` of them rtt_ms
// later: the rest of the flight is the lost tail.
void flight_with_lost_tail(harness& h, std::uint32_t base, std::uint32_t n, std::uint32_t acked) {
    ASSERT_NO_FATAL_FAILURE(send_full_segments(h, n));
    h.advance_ms(rtt_ms);
    h.send(A, 1001, base + acked * 1460);
    EXPECT_TRUE(h.out().empty());
}

// Advances the clock one millisecond at a time until the stack sends something, at most
// `limit` ms; returns how long that took (limit + 1: nothing was sent).
std::uint32_t ms_until_output(harness& h, std::vector<out_seg>& got, std::uint32_t limit) {
    for (std::uint32_t ms = 1; ms <= limit; ++ms) {
        h.advance_ms(1);
        got = h.out();
        if (!got.empty()) {
            return ms;
        }
    }
    return limit + 1;
}

// (1) The last two segments of a flight are lost: no ACK will come for them. The probe
// (the last segment again, there is no new data) goes 2 * SRTT after the last ACK, long before
// the RTO (200 ms at least, RFC 6298 §2.4 as configured), and is counted.
TEST(tcp_tlp, lost_tail_gets_a_probe_after_two_srtt_not_the_rto) {
    harness h;
    const std::uint32_t base = warm_up(h, open(h, true));
    ASSERT_NO_FATAL_FAILURE(flight_with_lost_tail(h, base, 5, 3));
    std::vector<out_seg> o;
    const std::uint32_t waited = ms_until_output(h, o, 1000);
    EXPECT_GE(waited, 2 * rtt_ms - 1);
    EXPECT_LE(waited, 2 * rtt_ms + 1);
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].seq, base + 4 * 1460);  // the highest segment sent (RFC 8985 §7.3)
    const bytes all = payload_of(5 * 1460);
    EXPECT_EQ(o[0].payload, bytes(all.begin() + 4 * 1460, all.end()));
    EXPECT_EQ(h.counted(event::tcp_tlp_probe), 1U);
    EXPECT_EQ(h.counted(event::tcp_rto), 0U);
    // One probe per episode: the next expiry is the RTO.
    h.advance_ms(150);
    EXPECT_TRUE(h.out().empty());
    EXPECT_EQ(h.counted(event::tcp_tlp_probe), 1U);
}

// (2) The probe's SACK above the hole starts RFC 6675 recovery at once (the holes were sent a
// PTO before the probe: lost), the holes are resent and the data completes without an RTO.
TEST(tcp_tlp, probe_sack_starts_recovery_and_data_completes_without_rto) {
    harness h;
    const std::uint32_t base = warm_up(h, open(h, true));
    ASSERT_NO_FATAL_FAILURE(flight_with_lost_tail(h, base, 6, 3));  // 4, 5 and 6 lost
    h.advance_ms(2 * rtt_ms + 1);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    const std::uint32_t s6 = base + 5 * 1460;
    EXPECT_EQ(o[0].seq, s6);
    h.send(A, 1001, base + 3 * 1460, {}, sack_opt({{s6, s6 + 1460}}));
    EXPECT_EQ(h.counted(event::tcp_tlp_recovery), 1U);
    EXPECT_EQ(h.counted(event::tcp_fast_retransmit), 1U);
    EXPECT_TRUE(h.app.conn->sack->in_recovery());
    std::vector<std::uint32_t> resent;
    for (const out_seg& r : h.out()) {
        resent.push_back(r.seq);
    }
    ASSERT_FALSE(resent.empty());
    EXPECT_EQ(resent[0], base + 3 * 1460);  // the first hole, at once
    // The peer ACKs it; the second hole follows (if pipe did not let it go already).
    h.advance_ms(rtt_ms);
    h.send(A, 1001, base + 4 * 1460, {}, sack_opt({{s6, s6 + 1460}}));
    for (const out_seg& r : h.out()) {
        resent.push_back(r.seq);
    }
    EXPECT_EQ(resent, (std::vector<std::uint32_t>{base + 3 * 1460, base + 4 * 1460}));
    h.advance_ms(rtt_ms);
    h.send(A, 1001, base + 6 * 1460);
    EXPECT_EQ(h.app.conn->snd_una, base + 6 * 1460);
    EXPECT_FALSE(h.app.conn->sack->in_recovery());
    h.advance_ms(3000);
    EXPECT_TRUE(h.out().empty());
    EXPECT_EQ(h.counted(event::tcp_rto), 0U);
    EXPECT_EQ(h.counted(event::tcp_tlp_probe), 1U);
}

// (3) RFC 8985 §7.2: a probe needs SACK and must not run inside loss recovery. The first row
// is the control (a probe goes), the others must wait for the RTO.
struct gate_case {
    const char* name;
    bool sack;
    bool in_recovery;
    bool probe;
};
const gate_case gate_cases[] = {
    {"sack_outside_recovery_probes", true, false, true},
    {"no_sack_no_probe", false, false, false},
    {"in_sack_recovery_no_probe", true, true, false},
};

TEST(tcp_tlp, probe_needs_sack_and_no_recovery) {
    for (const gate_case& c : gate_cases) {
        SCOPED_TRACE(c.name);
        harness h;
        const std::uint32_t base = warm_up(h, open(h, c.sack));
        ASSERT_NO_FATAL_FAILURE(send_full_segments(h, 8));
        h.advance_ms(rtt_ms);
        if (c.in_recovery) {
            // Segment 1 arrived, 2 lost, 3-5 SACKed: three DupAcks (RFC 6675 §5).
            h.send(A, 1001, base + 1460);
            for (std::uint32_t k = 1; k <= 3; ++k) {
                h.send(A, 1001, base + 1460, {},
                       sack_opt({{base + 2 * 1460, base + (2 + k) * 1460}}));
            }
            ASSERT_TRUE(h.app.conn->sack->in_recovery());
        } else {
            h.send(A, 1001, base + 4 * 1460);  // 5-8 lost
        }
        (void)h.out();
        h.advance_ms(2 * rtt_ms + 2);  // past the PTO, before the RTO (>= 200 ms)
        const auto o = h.out();
        EXPECT_EQ(o.size(), c.probe ? 1U : 0U);
        EXPECT_EQ(h.counted(event::tcp_tlp_probe), c.probe ? 1U : 0U);
        if (!c.probe) {
            h.advance_ms(400);  // without a probe, the RTO recovers as before
            (void)h.out();
            EXPECT_GT(h.counted(event::tcp_rto), 0U);
        }
    }
}

// (4) An application-limited single segment: the peer may hold its ACK for a second segment
// that never comes, so the PTO adds the delayed-ACK allowance (RFC 8985 §7.2): 2 * SRTT + 200
// ms, not 2 * SRTT. The RTO is set high here so that it does not cap the PTO.
TEST(tcp_tlp, single_segment_probe_waits_for_the_delayed_ack_allowance) {
    tcp::tcp_params p;
    p.rto.min_us = 1'000'000;
    harness h(p);
    const std::uint32_t base = warm_up(h, open(h, true));
    const bytes d = payload_of(300, 3);
    h.tcp->send(*h.app.conn, d.data(), 300);
    ASSERT_EQ(h.out().size(), 1U);
    std::vector<out_seg> o;
    const std::uint32_t waited = ms_until_output(h, o, 2000);
    EXPECT_GE(waited, 2 * rtt_ms + p.tlp_max_ack_delay_ms - 1);
    EXPECT_LE(waited, 2 * rtt_ms + p.tlp_max_ack_delay_ms + 1);
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].seq, base);
    EXPECT_EQ(o[0].payload, d);
    EXPECT_EQ(h.counted(event::tcp_tlp_probe), 1U);
    EXPECT_EQ(h.counted(event::tcp_rto), 0U);
}

// RFC 8985 §7.4.2: when the probe retransmission turns out to be the only repair (its ACK
// covers it, a later ACK goes beyond, no D-SACK said the original arrived), cwnd is cut once
// as for a fast retransmit; a D-SACK for the probe means nothing was lost and cwnd stays.
TEST(tcp_tlp, repaired_loss_cuts_cwnd_but_a_dsacked_probe_does_not) {
    for (const bool dsack : {false, true}) {
        SCOPED_TRACE(dsack ? "dsack" : "repaired");
        tcp::tcp_params p;
        p.rto.min_us = 1'000'000;
        harness h(p);
        const std::uint32_t base = warm_up(h, open(h, true));
        ASSERT_NO_FATAL_FAILURE(flight_with_lost_tail(h, base, 4, 2));  // 3 and 4 lost
        h.advance_ms(2 * rtt_ms + 1);
        ASSERT_EQ(h.out().size(), 1U);  // the probe: segment 4
        const std::uint32_t end = base + 4 * 1460;
        const std::uint32_t ssthresh = h.app.conn->cc->ssthresh();
        if (dsack) {
            // Only the probe's ACK was late: the peer had segment 4 and reports the copy.
            h.send(A, 1001, end);
            h.send(A, 1001, end, {}, sack_opt({{end - 1460, end}}));
        } else {
            h.send(A, 1001, end);  // 3 and the probe arrived: the probe repaired 4
        }
        const bytes more = payload_of(1460, 7);
        h.tcp->send(*h.app.conn, more.data(), 1460);
        ASSERT_EQ(h.out().size(), 1U);
        h.send(A, 1001, end + 1460);
        EXPECT_EQ(h.counted(event::tcp_tlp_probe), 1U);
        if (dsack) {
            EXPECT_EQ(h.app.conn->cc->ssthresh(), ssthresh);
            EXPECT_EQ(h.counted(event::tcp_tlp_recovery), 0U);
        } else {
            EXPECT_LT(h.app.conn->cc->ssthresh(), ssthresh);
            EXPECT_EQ(h.counted(event::tcp_tlp_recovery), 1U);
        }
        EXPECT_FALSE(h.app.conn->tlp_out);
    }
}

}  // namespace
}  // namespace sluice::test
