// Circuit breakers and outlier detection: state transitions from scripts with an injected
// clock, ejection-time growth and cap, max-ejection-percent, half-open probe limiting, cap
// exhaustion, state across config generations, and multi-threaded accounting (the
// `concurrent` tests also run under TSan).
#include "filters/breaker/breaker.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace sluice::dp::filters {
namespace {

constexpr std::uint64_t ms = 1'000'000;

breaker_def cluster_of(std::uint32_t endpoints) {
    breaker_def d;
    d.name = "backend";
    for (std::uint32_t i = 0; i < endpoints; ++i) {
        d.endpoints.push_back({0x0a000001 + i, 8080});
    }
    return d;
}

// One event on endpoint 0 of a one-endpoint cluster with the default settings (5 failures,
// 30 s base, 300 s max, 3 successes, 1 probe).
enum class op { allow, success, failure };
struct event {
    op what;
    std::uint64_t at_ms;
    bool want;  // allow: its answer; failure: whether it ejected; success: ignored
    od_state want_state;
    std::uint32_t want_times;
};
struct od_script {
    const char* name;
    std::vector<event> events;
};

using enum op;
constexpr od_state C = od_state::closed, O = od_state::open, H = od_state::half_open;

const std::vector<od_script>& od_scripts() {
    static const std::vector<od_script> s = {
        {"five_failures_eject_then_three_probes_close",
         {{failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, true, O, 1},
          {allow, 1, false, O, 1},
          {allow, 29'999, false, O, 1},
          {allow, 30'000, true, H, 1},   // ejection over: this request is the probe
          {allow, 30'000, false, H, 1},  // one probe at a time
          {success, 30'010, false, H, 1},
          {allow, 30'020, true, H, 1},
          {success, 30'030, false, H, 1},
          {allow, 30'040, true, H, 1},
          {success, 30'050, false, C, 1},  // third success closes
          {allow, 30'060, true, C, 1}}},
        {"success_resets_the_failure_count",
         {{failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {success, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, true, O, 1}}},
        {"failed_probe_reopens_for_longer",
         {{failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, true, O, 1},
          {allow, 30'000, true, H, 1},
          {failure, 30'000, true, O, 2},  // 60 s this time
          {allow, 89'999, false, O, 2},
          {allow, 90'000, true, H, 2},
          {success, 90'000, false, H, 2},
          {allow, 90'000, true, H, 2},
          {failure, 90'000, true, O, 3},  // any failed probe re-opens, successes forgotten
          {allow, 179'999, false, O, 3},
          {allow, 180'000, true, H, 3}}},
        {"late_results_while_open_are_ignored",
         {{failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, false, C, 0},
          {failure, 0, true, O, 1},
          {failure, 5, false, O, 1},
          {success, 6, false, O, 1},
          {allow, 29'000, false, O, 1},
          {allow, 30'000, true, H, 1}}},
    };
    return s;
}

TEST(outlier, transitions_follow_scripts) {
    for (const od_script& sc : od_scripts()) {
        SCOPED_TRACE(sc.name);
        cluster_breaker b(cluster_of(1));
        const std::uint64_t base = 5'000 * ms;  // any clock origin
        for (std::size_t i = 0; i < sc.events.size(); ++i) {
            SCOPED_TRACE(i);
            const event& e = sc.events[i];
            const std::uint64_t now = base + e.at_ms * ms;
            switch (e.what) {
                case allow:
                    EXPECT_EQ(b.allow(0, now), e.want);
                    break;
                case success:
                    b.on_success(0, now);
                    break;
                case failure:
                    EXPECT_EQ(b.on_failure(0, now), e.want);
                    break;
            }
            EXPECT_EQ(b.state_of(0), e.want_state);
            EXPECT_EQ(b.times_ejected(0), e.want_times);
            EXPECT_EQ(b.ejected_count(), e.want_state == C ? 0U : 1U);
        }
    }
}

TEST(outlier, ejection_time_grows_with_times_ejected_up_to_the_cap) {
    cluster_breaker b(cluster_of(1));
    std::uint64_t now = 0;
    for (int i = 0; i < 5; ++i) {
        b.on_failure(0, now);
    }
    for (std::uint32_t times = 1; times <= 14; ++times) {
        SCOPED_TRACE(times);
        ASSERT_EQ(b.times_ejected(0), times);
        const std::uint64_t want = std::min<std::uint64_t>(30'000ULL * times, 300'000) * ms;
        EXPECT_FALSE(b.allow(0, now + want - 1));
        EXPECT_TRUE(b.allow(0, now + want));
        now += want;
        EXPECT_TRUE(b.on_failure(0, now));  // the probe fails
    }
    endpoint_snapshot snap[2];
    ASSERT_EQ(b.export_states(snap), 1U);
    EXPECT_EQ(snap[0].state, od_state::open);
    EXPECT_EQ(snap[0].times_ejected, 15U);
    EXPECT_EQ(snap[0].ejected_until_ns, now + 300'000 * ms);
    EXPECT_EQ(snap[0].addr.ip_be, 0x0a000001U);
}

void fail_n(cluster_breaker& b, std::uint32_t ep, int n, std::uint64_t now = 0) {
    for (int i = 0; i < n; ++i) {
        b.on_failure(ep, now);
    }
}

TEST(outlier, max_ejection_percent_follows_envoy) {
    struct c {
        std::uint32_t endpoints, percent, want_ejectable;
    };
    // Envoy ejects while (ejected / size) < percent, checked before the ejection: the first
    // one always goes unless percent is 0.
    for (c tc : {c{20, 10, 2}, c{10, 10, 1}, c{3, 10, 1}, c{1, 10, 1}, c{4, 50, 2}, c{5, 50, 3},
                 c{4, 100, 4}, c{10, 0, 0}}) {
        SCOPED_TRACE(testing::Message() << tc.endpoints << " endpoints, " << tc.percent << "%");
        breaker_def d = cluster_of(tc.endpoints);
        d.max_ejection_percent = tc.percent;
        cluster_breaker b(d);
        std::uint32_t ejected = 0;
        for (std::uint32_t ep = 0; ep < tc.endpoints; ++ep) {
            fail_n(b, ep, 5);
            ejected += b.state_of(ep) == od_state::open ? 1 : 0;
        }
        EXPECT_EQ(ejected, tc.want_ejectable);
        EXPECT_EQ(b.ejected_count(), tc.want_ejectable);
    }
}

TEST(outlier, endpoint_held_back_by_the_limit_is_ejected_once_there_is_room) {
    cluster_breaker b(cluster_of(3));  // 10 %: one at a time
    fail_n(b, 0, 5);
    fail_n(b, 1, 5);
    EXPECT_EQ(b.state_of(0), od_state::open);
    EXPECT_EQ(b.state_of(1), od_state::closed);
    // Endpoint 0 recovers: probes at 30 s succeed.
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(b.allow(0, 30'000 * ms));
        b.on_success(0, 30'000 * ms);
    }
    EXPECT_EQ(b.state_of(0), od_state::closed);
    EXPECT_EQ(b.ejected_count(), 0U);
    EXPECT_TRUE(b.on_failure(1, 30'000 * ms));  // its sixth failure in a row: now ejected
    EXPECT_EQ(b.state_of(1), od_state::open);
}

TEST(outlier, half_open_lets_through_a_bounded_number_of_probes) {
    breaker_def d = cluster_of(1);
    d.max_probes = 2;
    d.successes_to_close = 5;
    cluster_breaker b(d);
    fail_n(b, 0, 5);
    const std::uint64_t t = 30'000 * ms;
    EXPECT_TRUE(b.allow(0, t));
    EXPECT_TRUE(b.allow(0, t));
    EXPECT_FALSE(b.allow(0, t));
    b.on_success(0, t);
    EXPECT_TRUE(b.allow(0, t));
    EXPECT_FALSE(b.allow(0, t));
}

TEST(outlier, disabled_by_zero_threshold) {
    breaker_def d = cluster_of(2);
    d.consecutive_failures = 0;
    cluster_breaker b(d);
    fail_n(b, 0, 100);
    EXPECT_EQ(b.state_of(0), od_state::closed);
    EXPECT_TRUE(b.allow(0, 0));
}

TEST(breaker_caps, over_the_cap_fails_at_once_and_is_counted) {
    breaker_def d = cluster_of(1);
    d.max_requests = 3;
    cluster_breaker b(d);
    EXPECT_EQ(b.cap(cb_kind::retries), 3U);  // default
    EXPECT_EQ(b.cap(cb_kind::connections), 1024U);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(b.try_acquire(cb_kind::requests));
    }
    EXPECT_FALSE(b.try_acquire(cb_kind::requests));
    EXPECT_EQ(b.overflowed(cb_kind::requests), 1U);
    EXPECT_EQ(b.in_use(cb_kind::requests), 3U);
    EXPECT_TRUE(b.try_acquire(cb_kind::connections));  // kinds are independent
    b.release(cb_kind::requests);
    EXPECT_TRUE(b.try_acquire(cb_kind::requests));
    breaker_def zero = cluster_of(1);
    zero.max_retries = 0;
    cluster_breaker z(zero);
    EXPECT_FALSE(z.try_acquire(cb_kind::retries));
}

TEST(breaker_registry, state_survives_an_unchanged_cluster_and_settings_update) {
    breaker_registry reg;
    breaker_def d = cluster_of(3);
    cluster_breaker* gen1 = reg.acquire(d);
    fail_n(*gen1, 2, 5);
    ASSERT_TRUE(gen1->try_acquire(cb_kind::connections));
    d.max_connections = 1;  // caps change, endpoints do not
    cluster_breaker* gen2 = reg.acquire(d);
    EXPECT_EQ(gen1, gen2);
    reg.release(gen1);
    EXPECT_EQ(gen2->state_of(2), od_state::open);
    EXPECT_EQ(gen2->cap(cb_kind::connections), 1U);
    EXPECT_FALSE(gen2->try_acquire(cb_kind::connections));  // the old connection still counts
    d.endpoints.push_back({0x0a0000ff, 80});                // endpoints change: a fresh breaker
    cluster_breaker* gen3 = reg.acquire(d);
    EXPECT_NE(gen3, gen2);
    EXPECT_EQ(gen3->state_of(2), od_state::closed);
    reg.release(gen2);
    EXPECT_EQ(reg.live(), 1U);
    reg.release(gen3);
    EXPECT_EQ(reg.live(), 0U);
    breaker_def renamed = cluster_of(3);
    renamed.name = "other";
    EXPECT_NE(breaker_identity(renamed), breaker_identity(cluster_of(3)));
}

TEST(breaker_concurrent, caps_hold_across_threads) {
    breaker_def d = cluster_of(1);
    d.max_requests = 8;
    cluster_breaker b(d);
    std::atomic<int> inside{0}, worst{0};
    std::atomic<std::uint64_t> granted{0};
    constexpr int threads = 4, tries = 50'000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&] {
            std::uint64_t mine = 0;
            for (int i = 0; i < tries; ++i) {
                if (!b.try_acquire(cb_kind::requests)) {
                    continue;
                }
                ++mine;
                int now = inside.fetch_add(1) + 1;
                int w = worst.load();
                while (now > w && !worst.compare_exchange_weak(w, now)) {
                }
                inside.fetch_sub(1);
                b.release(cb_kind::requests);
            }
            granted += mine;
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_LE(worst.load(), 8);
    EXPECT_EQ(b.in_use(cb_kind::requests), 0U);
    EXPECT_EQ(granted.load() + b.overflowed(cb_kind::requests),
              static_cast<std::uint64_t>(threads) * tries);
}

TEST(breaker_concurrent, ejections_stay_within_the_limit_and_balance) {
    breaker_def d = cluster_of(20);  // 10 %: at most 2 ejected at once
    d.base_ejection_ms = 1;
    d.max_ejection_ms = 4;
    cluster_breaker b(d);
    std::atomic<std::uint64_t> clock{0};
    std::atomic<std::uint32_t> worst{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&, t] {
            std::uint32_t x = 12345 + t;  // xorshift: injected, deterministic per thread
            for (int i = 0; i < 40'000; ++i) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                const std::uint64_t now = clock.fetch_add(1'000);  // 1 µs per request
                const std::uint32_t ep = x % 20;
                if (!b.allow(ep, now)) {
                    continue;
                }
                // Endpoints 0-4 fail 90 % of the time, the rest 1 %.
                const bool fails = (x >> 8) % 100 < (ep < 5 ? 90U : 1U);
                if (fails) {
                    b.on_failure(ep, now);
                } else {
                    b.on_success(ep, now);
                }
                std::uint32_t e = b.ejected_count();
                std::uint32_t w = worst.load();
                while (e > w && !worst.compare_exchange_weak(w, e)) {
                }
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    EXPECT_LE(worst.load(), 2U);
    EXPECT_GT(worst.load(), 0U);
    std::vector<endpoint_snapshot> snap(20);
    ASSERT_EQ(b.export_states(snap), 20U);
    const auto not_closed = std::count_if(snap.begin(), snap.end(), [](const endpoint_snapshot& s) {
        return s.state != od_state::closed;
    });
    EXPECT_EQ(static_cast<std::uint32_t>(not_closed), b.ejected_count());
}

}  // namespace
}  // namespace sluice::dp::filters
