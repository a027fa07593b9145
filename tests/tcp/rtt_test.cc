// RFC 6298 RTO estimator, driven by tables of RTT samples and timeouts. Expected values are
// worked out by hand from the RFC 6298 §2 formulas (alpha 1/8, beta 1/4, K 4).
#include "net/tcp/rtt.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sluice::dp::net::tcp {
namespace {

enum class ev : std::uint8_t { sample, timeout, syn_loss };

struct step {
    ev what;
    std::uint32_t rtt_us;  // for samples
    std::uint32_t rto_us;  // expected RTO afterwards
    std::uint32_t srtt_us;
    std::uint32_t rttvar_us;
};

struct rtt_case {
    const char* name;
    rto_config cfg;
    std::vector<step> steps;
};

const rto_config defaults{};
rto_config with_min(std::uint32_t min_us) {
    rto_config c;
    c.min_us = min_us;
    return c;
}
rto_config with_max(std::uint32_t max_us) {
    rto_config c;
    c.max_us = max_us;
    return c;
}

std::vector<rtt_case> rtt_cases() {
    return {
        {"steady_100ms_decays_to_min",
         defaults,
         {
             {ev::sample, 100'000, 300'000, 100'000, 50'000},  // §2.2: 100 + 4*50 ms
             {ev::sample, 100'000, 250'000, 100'000, 37'500},  // §2.3: RTTVAR 3/4
             {ev::sample, 100'000, 212'500, 100'000, 28'125},
             {ev::sample, 100'000, 200'000, 100'000, 21'093},  // 184.375 ms -> min 200 ms
         }},
        {"rtt_doubles",
         defaults,
         {
             {ev::sample, 1'000'000, 3'000'000, 1'000'000, 500'000},
             // RTTVAR = 3/4*500 + 1/4*1000 = 625 ms; SRTT = 7/8*1000 + 1/8*2000 = 1125 ms
             {ev::sample, 2'000'000, 3'625'000, 1'125'000, 625'000},
         }},
        {"granularity_dominates_tiny_rttvar",
         with_min(0),
         {
             {ev::sample, 10, 1'010, 10, 5},  // SRTT + max(G = 1 ms, 4 * 5 us)
         }},
        {"backoff_doubles_to_60s_cap",
         defaults,
         {
             {ev::timeout, 0, 2'000'000, 0, 0},  // initial 1 s (§2.1), doubled (§5.5)
             {ev::timeout, 0, 4'000'000, 0, 0},
             {ev::timeout, 0, 8'000'000, 0, 0},
             {ev::timeout, 0, 16'000'000, 0, 0},
             {ev::timeout, 0, 32'000'000, 0, 0},
             {ev::timeout, 0, 60'000'000, 0, 0},
             {ev::timeout, 0, 60'000'000, 0, 0},
         }},
        {"sample_after_backoff_resets_rto",
         defaults,
         {
             {ev::sample, 50'000, 200'000, 50'000, 25'000},  // 150 ms -> min 200 ms
             {ev::timeout, 0, 400'000, 50'000, 25'000},
             {ev::timeout, 0, 800'000, 50'000, 25'000},
             // RTTVAR = 3/4*25 + 1/4*|50-50| = 18.75 ms; RTO = 50 + 75 = 125 -> 200 ms
             {ev::sample, 50'000, 200'000, 50'000, 18'750},
         }},
        {"max_below_60s_is_raised_to_60s",
         with_max(10'000'000),
         {
             {ev::sample, 20'000'000, 60'000'000, 20'000'000, 10'000'000},
             {ev::timeout, 0, 60'000'000, 20'000'000, 10'000'000},
         }},
        {"syn_loss_sets_3s_when_data_starts",
         defaults,
         {
             {ev::timeout, 0, 2'000'000, 0, 0}, {ev::syn_loss, 0, 3'000'000, 0, 0},  // §5.7
         }},
        {"syn_loss_ignored_after_a_handshake_sample",
         defaults,
         {
             {ev::sample, 30'000, 200'000, 30'000, 15'000},
             {ev::syn_loss, 0, 200'000, 30'000, 15'000},
         }},
        {"linux_like_min_can_be_raised_to_rfc_1s",
         with_min(1'000'000),
         {
             {ev::sample, 10'000, 1'000'000, 10'000, 5'000},  // §2.4 "SHOULD be rounded up to 1 s"
         }},
    };
}

class tcp_rtt : public ::testing::TestWithParam<rtt_case> {};

TEST_P(tcp_rtt, follows_rfc6298_step_by_step) {
    const auto& c = GetParam();
    rtt_estimator est(c.cfg);
    EXPECT_EQ(est.rto_us(), 1'000'000U);  // §2.1
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
        const auto& s = c.steps[i];
        switch (s.what) {
            case ev::sample:
                est.on_sample(s.rtt_us);
                break;
            case ev::timeout:
                est.on_timeout();
                break;
            case ev::syn_loss:
                est.on_established_after_syn_loss();
                break;
        }
        EXPECT_EQ(est.rto_us(), s.rto_us) << "step " << i;
        EXPECT_EQ(est.srtt_us(), s.srtt_us) << "step " << i;
        EXPECT_EQ(est.rttvar_us(), s.rttvar_us) << "step " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(table, tcp_rtt, ::testing::ValuesIn(rtt_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(tcp_rtt, karn_rule_rejects_retransmitted_samples_without_timestamps) {
    EXPECT_TRUE(rtt_estimator::sample_allowed(false, false));
    EXPECT_TRUE(rtt_estimator::sample_allowed(false, true));
    EXPECT_FALSE(rtt_estimator::sample_allowed(true, false));  // RFC 6298 §3
    EXPECT_TRUE(rtt_estimator::sample_allowed(true, true));    // RFC 7323 §4: unambiguous
}

TEST(tcp_rtt, backoff_count_resets_on_sample) {
    rtt_estimator est;
    est.on_timeout();
    est.on_timeout();
    EXPECT_EQ(est.backoffs(), 2U);
    est.on_sample(10'000);
    EXPECT_EQ(est.backoffs(), 0U);
    EXPECT_TRUE(est.has_sample());
}

}  // namespace
}  // namespace sluice::dp::net::tcp
