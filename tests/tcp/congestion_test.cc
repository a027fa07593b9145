// Congestion control: cwnd/ssthresh evolution tables for NewReno, and CUBIC checked against
// the RFC 9438 window function under an injected clock.
#include "net/tcp/congestion.hh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::dp::net::tcp {
namespace {

TEST(tcp_congestion, initial_window_is_iw10_rfc6928) {
    struct {
        std::uint32_t smss, iw;
    } cases[] = {
        {536, 5360},    // 10 * MSS
        {1000, 10000},  // 10 * MSS
        {1460, 14600},  // 10 * MSS = 14600
        {1500, 14600},  // capped at max(2 * MSS, 14600)
        {9000, 18000},  // jumbo: 2 * MSS
    };
    for (const auto& c : cases) {
        EXPECT_EQ(initial_window(c.smss), c.iw) << c.smss;
        congestion_control cc(cc_algorithm::newreno, c.smss, 0);
        EXPECT_EQ(cc.cwnd(), c.iw);
        EXPECT_EQ(cc.ssthresh(), max_window_bytes);
    }
}

enum class op : std::uint8_t { ack, enter_newreno, enter_sack, dupack, rec_ack, rto, rto_again };

struct cc_step {
    op what;
    std::uint32_t a;     // acked bytes / flight size
    std::uint32_t b;     // ack or snd_nxt (sequence) / flight after ack
    std::uint32_t cwnd;  // expected afterwards
    std::uint32_t ssthresh;
    recovery_ack rec = recovery_ack::full;  // expected for rec_ack
};

struct cc_case {
    const char* name;
    cc_algorithm algo;
    std::vector<cc_step> steps;
};

constexpr std::uint32_t inf = max_window_bytes;

std::vector<cc_case> newreno_cases() {
    // SMSS 1000, ISS 0. For rec_ack: a = acked bytes, b = flight after; the ack number is
    // taken from the fixture's running snd_una.
    return {
        {"slow_start_counts_at_most_one_smss_per_ack",
         cc_algorithm::newreno,
         {
             {op::ack, 1000, 0, 11000, inf},
             {op::ack, 3000, 0, 12000, inf},  // stretch ACK: min(N, SMSS), RFC 5681 eq. 2
             {op::ack, 500, 0, 12500, inf},
         }},
        {"fast_recovery_partial_and_full_ack_rfc6582",
         cc_algorithm::newreno,
         {
             {op::enter_newreno, 12000, 12000, 9000, 6000},  // ssthresh 6000, + 3 SMSS
             {op::dupack, 0, 0, 10000, 6000},
             {op::dupack, 0, 0, 11000, 6000},
             {op::rec_ack, 3000, 9000, 9000, 6000, recovery_ack::first_partial},  // -3000 +1000
             {op::rec_ack, 500, 8500, 8500, 6000, recovery_ack::partial},  // < SMSS: no add-back
             // reaches recover: min(ssthresh, max(4000, SMSS) + SMSS) = 5000
             {op::rec_ack, 8500, 4000, 5000, 6000, recovery_ack::full},
             {op::ack, 1000, 0, 6000, 6000},  // slow start up to ssthresh
             {op::ack, 1000, 0, 6000, 6000},  // congestion avoidance: counting bytes
             {op::ack, 1000, 0, 6000, 6000},
             {op::ack, 1000, 0, 6000, 6000},
             {op::ack, 1000, 0, 6000, 6000},
             {op::ack, 1000, 0, 6000, 6000},
             {op::ack, 1000, 0, 7000, 6000},  // 6000 bytes acked = one cwnd: + SMSS
         }},
        {"full_ack_with_large_flight_returns_to_ssthresh",
         cc_algorithm::newreno,
         {
             {op::enter_newreno, 20000, 20000, 13000, 10000},
             {op::rec_ack, 20000, 15000, 10000, 10000, recovery_ack::full},
         }},
        {"sack_recovery_sets_cwnd_to_ssthresh_without_inflation",
         cc_algorithm::newreno,
         {
             {op::enter_sack, 12000, 12000, 6000, 6000},
             {op::dupack, 0, 0, 6000, 6000},
             {op::rec_ack, 3000, 9000, 6000, 6000, recovery_ack::first_partial},
             {op::rec_ack, 9000, 3000, 6000, 6000, recovery_ack::full},
         }},
        {"rto_collapses_to_one_smss_and_holds_ssthresh_when_repeated",
         cc_algorithm::newreno,
         {
             {op::rto, 12000, 12000, 1000, 6000},
             {op::rto_again, 3000, 12000, 1000, 6000},  // RFC 5681 §3.1: held constant
             {op::ack, 1000, 0, 2000, 6000},            // slow start again
         }},
        {"ssthresh_floor_is_two_smss",
         cc_algorithm::newreno,
         {
             {op::rto, 1500, 1500, 1000, 2000},
         }},
        {"cubic_cuts_to_beta_0_7",
         cc_algorithm::cubic,
         {
             {op::enter_sack, 10000, 10000, 7000, 7000},  // RFC 9438 §4.6
             {op::rec_ack, 10000, 0, 7000, 7000, recovery_ack::full},
             {op::rto, 7000, 17000, 1000, 4900},
         }},
    };
}

class tcp_congestion_table : public ::testing::TestWithParam<cc_case> {};

TEST_P(tcp_congestion_table, cwnd_and_ssthresh_follow_the_table) {
    const auto& c = GetParam();
    congestion_control cc(c.algo, 1000, 0);
    seq_t una = 1;
    std::uint64_t now = 0;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
        const auto& s = c.steps[i];
        now += 10'000;
        switch (s.what) {
            case op::ack:
                una += s.a;
                cc.on_ack(s.a, now, 10'000);
                break;
            case op::enter_newreno:
            case op::enter_sack:
                EXPECT_TRUE(cc.may_enter_recovery(una)) << "step " << i;
                cc.enter_recovery(
                    s.a, una + s.b,
                    s.what == op::enter_sack ? recovery_mode::sack : recovery_mode::newreno);
                EXPECT_TRUE(cc.in_recovery());
                EXPECT_FALSE(cc.may_enter_recovery(una + 1));
                break;
            case op::dupack:
                cc.on_dupack_in_recovery();
                break;
            case op::rec_ack:
                una += s.a;
                EXPECT_EQ(cc.on_ack_in_recovery(una, s.a, s.b), s.rec) << "step " << i;
                EXPECT_EQ(cc.in_recovery(), s.rec != recovery_ack::full);
                break;
            case op::rto:
            case op::rto_again:
                cc.on_rto(s.a, una + s.b, s.what == op::rto_again);
                EXPECT_FALSE(cc.in_recovery());
                break;
        }
        EXPECT_EQ(cc.cwnd(), s.cwnd) << c.name << " step " << i;
        EXPECT_EQ(cc.ssthresh(), s.ssthresh) << c.name << " step " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(table, tcp_congestion_table, ::testing::ValuesIn(newreno_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(tcp_congestion, duplicate_acks_below_recover_do_not_restart_recovery_rfc6582) {
    congestion_control cc(cc_algorithm::newreno, 1000, 100);
    cc.on_rto(10000, 20000, false);  // recover = 20000
    EXPECT_FALSE(cc.may_enter_recovery(15000));
    EXPECT_FALSE(cc.may_enter_recovery(20000));
    EXPECT_TRUE(cc.may_enter_recovery(20001));
}

// Acks a whole cwnd per RTT in SMSS-sized ACKs, from `from_us` to `to_us`.
std::uint64_t run_rtts(congestion_control& cc, std::uint64_t from_us, std::uint64_t to_us,
                       std::uint32_t rtt_us) {
    std::uint64_t now = from_us;
    while (now < to_us) {
        const std::uint32_t segs = cc.cwnd() / cc.smss();
        for (std::uint32_t i = 0; i < segs; ++i) {
            cc.on_ack(cc.smss(), now + static_cast<std::uint64_t>(rtt_us) * i / segs, rtt_us);
        }
        now += rtt_us;
    }
    return now;
}

// Puts a CUBIC flow at cwnd = w segments and takes a loss there (SACK recovery, full ACK).
congestion_control cubic_after_loss_at(std::uint32_t w, std::uint32_t smss) {
    congestion_control cc(cc_algorithm::cubic, smss, 0);
    while (cc.cwnd() < w * smss) {
        cc.on_ack(smss, 0, 100'000);
    }
    cc.enter_recovery(cc.cwnd(), 1'000'000, recovery_mode::sack);
    cc.on_ack_in_recovery(1'000'000, cc.cwnd(), 0);
    return cc;
}

TEST(tcp_congestion, cubic_follows_window_function_rfc9438) {
    constexpr std::uint32_t smss = 1000;
    // 100 ms RTT and W_max = 1000 segments: the Reno estimate (700 + 0.53 segment per RTT)
    // stays far below W_cubic, so this exercises the concave and convex regions only.
    constexpr std::uint32_t rtt = 100'000;
    auto cc = cubic_after_loss_at(1000, smss);
    ASSERT_EQ(cc.cwnd(), 700'000U);
    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(300 / 0.4) = 9.086 s (§4.2 eq. 2)
    const double k = std::cbrt(300.0 / 0.4);
    const auto w_cubic = [&](double t) { return 0.4 * std::pow(t - k, 3) + 1000.0; };
    struct {
        double at_s;
    } checkpoints[] = {{1.0}, {3.0}, {6.0}, {8.0}, {9.1}, {10.0}, {11.0}, {12.0}};
    std::uint64_t now = 0;
    cc.on_ack(smss, now, rtt);  // the epoch starts here
    EXPECT_NEAR(cc.cubic_k(), k, 1e-9);
    EXPECT_DOUBLE_EQ(cc.cubic_w_max(), 1000.0);
    double last = cc.cwnd() / double{smss};
    for (const auto& cp : checkpoints) {
        now = run_rtts(cc, now, static_cast<std::uint64_t>(cp.at_s * 1e6), rtt);
        const double t = static_cast<double>(now) / 1e6;
        const double w = cc.cwnd() / double{smss};
        // Each ACK aims at W_cubic one RTT ahead (§4.4, §4.5), and the ACKs of the last RTT
        // were sent an RTT before `t`: so cwnd sits on W_cubic(t) itself, within per-ACK
        // rounding. (Aiming at W_cubic(t) instead would lag by a whole RTT: 8 segments at 1 s.)
        EXPECT_NEAR(w, w_cubic(t), 1.5) << "t=" << t;
        EXPECT_GE(w, last) << "t=" << t;  // never shrinks without loss
        last = w;
    }
    // Near K the window plateaus at W_max (concave then convex).
    EXPECT_NEAR(w_cubic(k), 1000.0, 1e-9);
}

TEST(tcp_congestion, cubic_growth_is_at_most_1_5x_per_rtt) {
    auto cc = cubic_after_loss_at(100, 1000);
    std::uint64_t now = 0;
    // Far beyond K the cubic target explodes; §4.5 caps the target at 1.5 * cwnd.
    for (int r = 0; r < 200; ++r) {
        const std::uint32_t before = cc.cwnd();
        now = run_rtts(cc, now, now + 100'000, 100'000);
        EXPECT_LE(cc.cwnd(), before * 3 / 2 + 1000) << "rtt " << r;
    }
}

TEST(tcp_congestion, cubic_target_is_capped_at_1_5x_after_a_long_pause) {
    constexpr std::uint32_t smss = 1000;
    auto cc = cubic_after_loss_at(100, smss);
    cc.on_ack(smss, 0, 100'000);  // epoch starts at t = 0
    // 60 s without ACKs (application limited), then one RTT of ACKs: W_cubic(60 s) is about
    // 70,000 segments, but §4.4/§4.5 bound the target to 1.5 * cwnd.
    const std::uint32_t before = cc.cwnd();
    run_rtts(cc, 60'000'000, 60'100'000, 100'000);
    EXPECT_GT(cc.cwnd(), before);
    EXPECT_LE(cc.cwnd(), before * 3 / 2 + smss);
}

TEST(tcp_congestion, cubic_reno_friendly_region_at_short_rtt) {
    constexpr std::uint32_t smss = 1000;
    auto cc = cubic_after_loss_at(100, smss);
    std::uint64_t now = 0;
    // 1 ms RTT, 500 RTTs = 0.5 s: W_cubic barely moves (still far below W_max at t << K),
    // Reno's estimate grows by alpha = 3(1-0.7)/(1+0.7) = 0.529 segment per RTT (§4.3).
    now = run_rtts(cc, now, 500'000, 1'000);
    const double w = cc.cwnd() / double{smss};
    const double k = std::cbrt(30.0 / 0.4);
    const double cubic_only = 0.4 * std::pow(0.5 - k, 3) + 100.0;  // ~73.8
    EXPECT_GT(w, cubic_only + 100.0);  // the Reno-friendly region is in charge
    // W_est grows alpha segments per RTT: 30 / 0.529 = 56.7 RTTs to reach cwnd_prior (100),
    // then alpha = 1 for the remaining 443.3 RTTs: 543.3 segments (§4.3). With alpha = 1
    // throughout it would be 570.
    EXPECT_NEAR(w, 543.3, 5.0);
}

TEST(tcp_congestion, cubic_fast_convergence_lowers_w_max_rfc9438_4_7) {
    auto cc = cubic_after_loss_at(100, 1000);
    ASSERT_DOUBLE_EQ(cc.cubic_w_max(), 100.0);
    // Second loss at 90 segments, below W_max: W_max = 90 * (1 + 0.7) / 2 = 76.5.
    std::uint64_t now = 0;
    while (cc.cwnd() < 90'000) {
        now = run_rtts(cc, now, now + 100'000, 100'000);
    }
    const double at_loss = cc.cwnd() / 1000.0;
    cc.enter_recovery(cc.cwnd(), 5'000'000, recovery_mode::sack);
    EXPECT_NEAR(cc.cubic_w_max(), at_loss * 1.7 / 2.0, 1e-9);
    EXPECT_LT(cc.cubic_w_max(), 100.0);
}

TEST(tcp_congestion, cubic_after_rto_restarts_with_k_zero_rfc9438_4_8) {
    constexpr std::uint32_t smss = 1000;
    auto cc = cubic_after_loss_at(100, smss);
    cc.on_rto(70'000, 2'000'000, false);
    EXPECT_EQ(cc.cwnd(), smss);
    EXPECT_EQ(cc.ssthresh(), 49'000U);  // 70000 * 0.7
    // Slow start back to ssthresh, then the first CA stage uses K = 0, W_max = cwnd_epoch.
    while (cc.cwnd() < cc.ssthresh()) {
        cc.on_ack(smss, 0, 100'000);
    }
    cc.on_ack(smss, 0, 100'000);
    EXPECT_DOUBLE_EQ(cc.cubic_k(), 0.0);
    EXPECT_DOUBLE_EQ(cc.cubic_w_max(), 49.0);
}

TEST(tcp_congestion, newreno_and_cubic_are_selected_per_connection) {
    congestion_control a(cc_algorithm::newreno, 1460, 0);
    congestion_control b(cc_algorithm::cubic, 1460, 0);
    EXPECT_EQ(a.algorithm(), cc_algorithm::newreno);
    EXPECT_EQ(b.algorithm(), cc_algorithm::cubic);
    EXPECT_EQ(a.cubic_w_max(), 0.0);
}

}  // namespace
}  // namespace sluice::dp::net::tcp
