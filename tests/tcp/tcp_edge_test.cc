// Edge cases of the connection state machine found by the edge-case and attack tests
// (tests/integration/test_tcp_edge.py, docs/tcp.md "Edge-case and attack tests"), reproduced
// on the harness: a real stack on the dpdk_env net_ring port with an injected clock.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

namespace sluice::test {
namespace {

using tcp::tcp_state;

// A peer with a closed window, answering every probe with "ACK SND.UNA, window 0", as Linux's
// and any conforming receiver does. Returns the fake-clock times (ms) of the probes seen.
std::vector<std::uint64_t> probe_until(harness& h, std::uint32_t iss, std::uint64_t until_ms) {
    std::vector<std::uint64_t> at;
    const std::uint64_t start = h.now / (dpdk_env::hz / 1000);
    for (std::uint64_t ms = 0; ms < until_ms; ++ms) {
        h.advance_ms(1);
        for (const out_seg& o : h.out()) {
            if ((o.flags & R) != 0) {
                ADD_FAILURE() << "reset after " << at.size() << " probes";
                return at;
            }
            EXPECT_EQ(o.seq, iss + 1);        // the first byte beyond the window
            EXPECT_EQ(o.payload.size(), 1U);  // RFC 9293 §3.8.6.1: one byte
            at.push_back(h.now / (dpdk_env::hz / 1000) - start);
            h.send(A, 1001, iss + 1, {}, {}, 0);  // not accepted: ACK SND.UNA, window 0
        }
    }
    return at;
}

// RFC 1122 §4.2.2.17: "as long as the receiving TCP continues to send acknowledgments in
// response to the probe segments, the sending TCP MUST allow the connection to stay open", and
// RFC 9293 §3.8.6.1: the interval between probes grows exponentially — once per probe. Before
// the fix the probe byte counted as data in flight, so every other expiry was an RTO: it sent
// nothing, doubled the timer again (probe gaps grew 4x) and counted a retry that the peer's
// ACKs (which do not move SND.UNA) never reset, so an answering peer was reset after
// data_retries expiries.
TEST(tcp_edge, zero_window_probes_back_off_per_probe_and_never_give_up_while_answered) {
    tcp::tcp_params p;
    p.data_retries = 3;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);  // the peer closes its window
    const bytes d = payload_of(100);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 100), 100U);
    EXPECT_TRUE(h.out().empty());  // nothing may go into a zero window
    const auto at = probe_until(h, iss, 130'000);
    ASSERT_GT(at.size(), 2U * p.data_retries) << "probes stopped";
    for (std::size_t i = 2; i < at.size(); ++i) {
        const std::uint64_t prev = at[i - 1] - at[i - 2], gap = at[i] - at[i - 1];
        if (gap < p.rto.max_us / 1000) {
            EXPECT_NEAR(double(gap) / double(prev), 2.0, 0.05) << "probe " << i;
        }
    }
    ASSERT_NE(h.app.conn, nullptr);
    EXPECT_EQ(h.app.conn->state, tcp_state::established);
}

// When the window opens after refused probes, sending resumes at SND.UNA: the probe byte the
// peer did not take is sent again at once. Before the fix SND.NXT stayed past it, so the data
// after it went out first and the byte itself waited for a retransmission timeout, backed off
// by every probe before (tens of seconds), with cwnd collapsed meanwhile.
TEST(tcp_edge, window_opening_after_refused_probe_resends_from_snd_una) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);
    const bytes d = payload_of(3000);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 3000), 3000U);
    const auto at = probe_until(h, iss, 8'000);
    ASSERT_GE(at.size(), 2U);
    h.send(A, 1001, iss + 1, {}, {}, 65535);  // the window opens; the probe byte not acked
    const auto o = h.out();
    ASSERT_FALSE(o.empty());
    EXPECT_EQ(o[0].seq, iss + 1);
    bytes got;
    for (const out_seg& s : o) {
        append(got, s.payload);
    }
    ASSERT_EQ(got.size(), d.size());
    EXPECT_EQ(got, d);
}

// A probe the peer does accept (its window opened meanwhile) is acknowledged like data.
TEST(tcp_edge, accepted_probe_byte_is_acked_and_the_rest_follows) {
    harness h;
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);
    const bytes d = payload_of(500);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 500), 500U);
    h.advance_ms(1500);
    auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    ASSERT_EQ(o[0].payload.size(), 1U);
    h.send(A, 1001, iss + 2, {}, {}, 65535);  // took the byte, window open
    o = h.out();
    bytes got = {d[0]};
    for (const out_seg& s : o) {
        EXPECT_EQ(s.seq, iss + 1 + got.size());
        append(got, s.payload);
    }
    EXPECT_EQ(got, d);
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// The other side of RFC 1122 §4.2.2.17: a peer that stops answering the probes (gone, or an
// attacker holding the connection with a zero window) is given up after R2 unanswered probes.
TEST(tcp_edge, unanswered_zero_window_probes_time_out_after_data_retries) {
    tcp::tcp_params p;
    p.data_retries = 3;
    harness h(p);
    const std::uint32_t iss = h.handshake();
    h.send(A, 1001, iss + 1, {}, {}, 0);
    const bytes d = payload_of(100);
    ASSERT_EQ(h.tcp->send(*h.app.conn, d.data(), 100), 100U);
    int probes = 0;
    bool reset = false;
    for (int ms = 0; ms < 60'000 && !reset; ++ms) {
        h.advance_ms(1);
        for (const out_seg& o : h.out()) {
            reset = reset || (o.flags & R) != 0;
            probes += o.payload.size() == 1 ? 1 : 0;
        }
    }
    EXPECT_TRUE(reset);
    EXPECT_EQ(probes, 3);
    EXPECT_EQ(h.app.events.back(), "closed:timeout");
}

}  // namespace
}  // namespace sluice::test
