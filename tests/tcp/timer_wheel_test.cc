// Unit tests for the per-lcore timer wheel (dataplane/core/timer). The clock is the tick count
// passed to advance(); no test reads real time.
#include "core/timer/timer_wheel.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace sluice::dp::core {
namespace {

constexpr std::uint64_t ms = 1;  // tests use 1 ms ticks, the dataplane's default
constexpr std::uint64_t second = 1000 * ms;
constexpr std::uint64_t hour = 3600 * second;

// An owner with an embedded timer, as a TCP control block would have.
struct owner {
    timer_node node;
    std::uint64_t fired_at = 0;
    int fired = 0;
    std::vector<int>* log = nullptr;
    int id = 0;
};

void record(timer_wheel& w, timer_node& /*node*/, void* ctx) {
    auto* o = static_cast<owner*>(ctx);
    o->fired_at = w.now();
    ++o->fired;
    if (o->log != nullptr) {
        o->log->push_back(o->id);
    }
}

struct delay_case {
    const char* name;
    std::uint64_t start;  // wheel's initial tick
    std::uint64_t delay;  // ticks after start
};

// Boundaries of every level (64^l - 1, 64^l, 64^l + 1), from aligned and unaligned starts.
const delay_case delay_cases[] = {
    {"one_tick", 0, 1},
    {"level0_last", 0, 63},
    {"level1_first", 0, 64},
    {"level1_first_unaligned", 37, 64},
    {"level1_plus_one", 5, 65},
    {"level1_last", 0, 4095},
    {"level2_first", 1, 4096},
    {"level2_unaligned", 4000, 4097},
    {"level3_first", 63, 262144},
    {"level3_mid", 123456, 1000000},
    {"level4_first", 0, 16777216},
    {"level4_unaligned", 16777215, 16777217},
    {"level5", 999, 1073741824 + 7},
    {"hours_at_1ms", 42, 5 * hour + 3},
    {"thirty_days_at_1ms", 7, 30 * 24 * hour},
    {"beyond_wheel_span", 3, (std::uint64_t{1} << 36) + 12345},
    {"far_beyond_wheel_span", 11, (std::uint64_t{1} << 40) + 1},
};

class timer_wheel_delay : public ::testing::TestWithParam<delay_case> {};

TEST_P(timer_wheel_delay, fires_exactly_at_expiry_in_one_jump) {
    const auto& c = GetParam();
    timer_wheel w(c.start);
    owner o;
    w.arm_after(o.node, c.delay, record, &o);
    EXPECT_EQ(w.advance(c.start + c.delay - 1), 0U);
    EXPECT_EQ(o.fired, 0);
    EXPECT_TRUE(o.node.armed());
    EXPECT_EQ(w.advance(c.start + c.delay + 1000), 1U);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.fired_at, c.start + c.delay);
    EXPECT_FALSE(o.node.armed());
    EXPECT_EQ(w.size(), 0U);
}

TEST_P(timer_wheel_delay, fires_exactly_at_expiry_in_uneven_steps) {
    const auto& c = GetParam();
    if (c.delay > 100'000'000) {
        GTEST_SKIP() << "stepping is covered by the shorter cases";
    }
    timer_wheel w(c.start);
    owner o;
    w.arm_after(o.node, c.delay, record, &o);
    std::mt19937_64 rng(c.delay);  // injected, deterministic
    std::uint64_t now = c.start;
    while (o.fired == 0 && now < c.start + c.delay + 10) {
        now += 1 + rng() % (c.delay / 16 + 1);
        w.advance(now);
    }
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.fired_at, c.start + c.delay);
}

INSTANTIATE_TEST_SUITE_P(cases, timer_wheel_delay, ::testing::ValuesIn(delay_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(timer_wheel, fires_in_expiry_order_across_levels) {
    std::vector<std::uint64_t> expiries;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i) {
        // Spread over four levels, with clusters on shared ticks.
        expiries.push_back(1 + rng() % (i % 2 == 0 ? 300'000 : 500));
    }
    std::vector<owner> owners(expiries.size());
    std::vector<int> log;
    timer_wheel w(0);
    for (std::size_t i = 0; i < owners.size(); ++i) {
        owners[i].id = static_cast<int>(i);
        owners[i].log = &log;
        w.arm(owners[i].node, expiries[i], record, &owners[i]);
    }
    EXPECT_EQ(w.size(), owners.size());
    EXPECT_EQ(w.advance(400'000), owners.size());
    ASSERT_EQ(log.size(), owners.size());
    for (std::size_t i = 1; i < log.size(); ++i) {
        EXPECT_LE(expiries[log[i - 1]], expiries[log[i]]) << "position " << i;
    }
    for (std::size_t i = 0; i < owners.size(); ++i) {
        EXPECT_EQ(owners[i].fired_at, expiries[i]);
    }
}

TEST(timer_wheel, cancel_of_never_armed_or_fired_timer_is_harmless) {
    timer_wheel w(0);
    owner o;
    EXPECT_FALSE(w.cancel(o.node));
    w.arm_after(o.node, 10, record, &o);
    EXPECT_TRUE(w.cancel(o.node));
    EXPECT_FALSE(w.cancel(o.node));
    w.arm_after(o.node, 10, record, &o);
    w.advance(10);
    EXPECT_EQ(o.fired, 1);
    EXPECT_FALSE(w.cancel(o.node));
    EXPECT_EQ(w.size(), 0U);
    w.advance(1000);
    EXPECT_EQ(o.fired, 1);
}

TEST(timer_wheel, cancelled_timer_does_not_fire_at_any_level) {
    timer_wheel w(0);
    owner a, b, c;
    w.arm_after(a.node, 5, record, &a);
    w.arm_after(b.node, 5000, record, &b);
    w.arm_after(c.node, 5 * hour, record, &c);
    w.cancel(a.node);
    w.cancel(b.node);
    w.cancel(c.node);
    EXPECT_EQ(w.advance(6 * hour), 0U);
    EXPECT_EQ(a.fired + b.fired + c.fired, 0);
}

TEST(timer_wheel, rearm_moves_the_expiry) {
    timer_wheel w(0);
    owner o;
    w.arm_after(o.node, 100, record, &o);
    w.advance(50);
    w.arm_after(o.node, 100, record, &o);  // RTO restart on ACK: now due at 150
    EXPECT_EQ(w.size(), 1U);
    w.advance(149);
    EXPECT_EQ(o.fired, 0);
    w.advance(150);
    EXPECT_EQ(o.fired, 1);
    EXPECT_EQ(o.fired_at, 150U);
}

TEST(timer_wheel, expiry_in_the_past_fires_on_next_tick) {
    timer_wheel w(1000);
    owner o;
    w.arm(o.node, 10, record, &o);
    EXPECT_EQ(o.node.expiry(), 1001U);
    w.advance(1001);
    EXPECT_EQ(o.fired_at, 1001U);
}

// A periodic timer re-arms itself from its own callback, the way keepalive does.
struct periodic {
    timer_node node;
    std::uint64_t period = 0;
    std::vector<std::uint64_t> ticks;
    int remaining = 0;
};

void periodic_fire(timer_wheel& w, timer_node& node, void* ctx) {
    auto* p = static_cast<periodic*>(ctx);
    p->ticks.push_back(w.now());
    if (--p->remaining > 0) {
        w.arm_after(node, p->period, periodic_fire, p);
    }
}

TEST(timer_wheel, rearm_from_own_callback_is_safe) {
    const std::uint64_t periods[] = {0, 1, 63, 64, 100, 4096, 75 * second};
    for (std::uint64_t period : periods) {
        timer_wheel w(3);
        periodic p;
        p.period = period;
        p.remaining = 10;
        w.arm_after(p.node, period, periodic_fire, &p);
        w.advance(3 + 20 * (period + 1));
        ASSERT_EQ(p.ticks.size(), 10U) << "period " << period;
        const std::uint64_t step = period == 0 ? 1 : period;  // 0 means "next tick"
        for (std::size_t i = 0; i < p.ticks.size(); ++i) {
            EXPECT_EQ(p.ticks[i], 3 + step * (i + 1)) << "period " << period << " i " << i;
        }
    }
}

// During expiry processing one callback cancels or re-arms others due in the same tick.
struct group {
    owner members[4];
    int cancelled_by_first = 0;
};

void cancel_siblings(timer_wheel& w, timer_node& /*node*/, void* ctx) {
    auto* g = static_cast<group*>(ctx);
    for (auto& m : g->members) {
        if (w.cancel(m.node)) {
            ++g->cancelled_by_first;
        }
    }
}

TEST(timer_wheel, cancel_during_expiry_processing_stops_same_tick_siblings) {
    timer_wheel w(0);
    group g;
    timer_node first;
    w.arm(first, 500, cancel_siblings, &g);  // armed first: fires first within the tick
    for (auto& m : g.members) {
        w.arm(m.node, 500, record, &m);
    }
    EXPECT_EQ(w.advance(500), 1U);
    EXPECT_EQ(g.cancelled_by_first, 4);
    for (auto& m : g.members) {
        EXPECT_EQ(m.fired, 0);
    }
    EXPECT_EQ(w.size(), 0U);
}

void rearm_sibling_later(timer_wheel& w, timer_node& /*node*/, void* ctx) {
    auto* o = static_cast<owner*>(ctx);
    w.arm_after(o->node, 10, record, o);
}

TEST(timer_wheel, rearm_of_pending_sibling_during_expiry_defers_it) {
    timer_wheel w(0);
    owner sibling;
    timer_node first;
    w.arm(first, 70, rearm_sibling_later, &sibling);
    w.arm(sibling.node, 70, record, &sibling);
    EXPECT_EQ(w.advance(70), 1U);
    EXPECT_EQ(sibling.fired, 0);
    EXPECT_EQ(w.advance(80), 1U);
    EXPECT_EQ(sibling.fired_at, 80U);
}

TEST(timer_wheel, many_timers_all_fire_once_with_random_cancels) {
    constexpr std::size_t n = 100'000;
    std::vector<owner> owners(n);
    std::vector<std::uint64_t> expiry(n);
    std::mt19937_64 rng(12345);
    timer_wheel w(17);
    for (std::size_t i = 0; i < n; ++i) {
        expiry[i] = 18 + rng() % (10 * second);
        w.arm(owners[i].node, expiry[i], record, &owners[i]);
    }
    std::size_t cancelled = 0;
    for (std::size_t i = 0; i < n; i += 3) {
        cancelled += w.cancel(owners[i].node) ? 1 : 0;
    }
    std::size_t fired = 0;
    for (std::uint64_t t = 17; t <= 11 * second; t += 1 + rng() % 50) {
        fired += w.advance(t);
    }
    EXPECT_EQ(fired + cancelled, n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i % 3 == 0) {
            EXPECT_EQ(owners[i].fired, 0);
        } else {
            ASSERT_EQ(owners[i].fired, 1) << i;
            ASSERT_EQ(owners[i].fired_at, expiry[i]) << i;
        }
    }
}

TEST(timer_wheel, advance_backwards_or_to_now_is_a_no_op) {
    timer_wheel w(100);
    owner o;
    w.arm_after(o.node, 1, record, &o);
    EXPECT_EQ(w.advance(50), 0U);
    EXPECT_EQ(w.advance(100), 0U);
    EXPECT_EQ(w.now(), 100U);
    EXPECT_EQ(w.advance(101), 1U);
}

void reenter(timer_wheel& w, timer_node& /*node*/, void* ctx) {
    *static_cast<std::size_t*>(ctx) = w.advance(w.now() + 1000);
}

TEST(timer_wheel, advance_from_a_callback_is_refused) {
    timer_wheel w(0);
    timer_node a;
    owner later;
    std::size_t inner = 99;
    w.arm(a, 5, reenter, &inner);
    w.arm(later.node, 20, record, &later);
    EXPECT_EQ(w.advance(10), 1U);
    EXPECT_EQ(inner, 0U);
    EXPECT_EQ(later.fired, 0);
    EXPECT_EQ(w.now(), 10U);
}

}  // namespace
}  // namespace sluice::dp::core
