// lazy_timer (net/tcp/lazy_timer.hh): the retransmission and delayed-ACK timers, moved on nearly
// every segment, fire exactly at their latest deadline however often they were moved or
// stopped, while moving them later leaves the wheel node where it was. Injected clock.
#include "net/tcp/lazy_timer.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sluice::dp::net::tcp {
namespace {

struct fixture {
    core::timer_wheel wheel{100};
    lazy_timer timer;
    std::vector<std::uint64_t> fired;  // wheel ticks the callback ran at (when due)

    static void on_fire(core::timer_wheel& w, core::timer_node&, void* ctx) noexcept {
        auto& f = *static_cast<fixture*>(ctx);
        if (f.timer.due(w, &on_fire, &f)) {
            f.fired.push_back(w.now());
        }
    }
    void arm(std::uint64_t delay) { timer.arm_after(wheel, delay, &on_fire, this); }
    void run_to(std::uint64_t t) {
        for (std::uint64_t now = wheel.now() + 1; now <= t; ++now) {
            wheel.advance(now);
        }
    }
};

// One step: at tick `at`, arm with `delay` (or stop when delay < 0).
struct step {
    std::uint64_t at;
    int delay;
};
struct lazy_case {
    const char* name;
    std::vector<step> steps;
    std::vector<std::uint64_t> fires;
};

const lazy_case cases[] = {
    {"plain_arm_fires_at_deadline", {{100, 40}}, {140}},
    {"moved_later_fires_only_at_the_last_deadline", {{100, 40}, {110, 40}, {130, 40}}, {170}},
    {"moved_earlier_fires_at_the_earlier_deadline", {{100, 40}, {110, 5}}, {115}},
    {"stopped_never_fires", {{100, 40}, {120, -1}}, {}},
    {"stopped_then_rearmed_fires_at_the_new_deadline", {{100, 40}, {105, -1}, {150, 40}}, {190}},
    {"zero_delay_fires_next_tick", {{100, 0}}, {101}},
    {"stop_and_rearm_per_exchange_fires_once_after_the_last",
     {{100, 20}, {101, -1}, {110, 20}, {111, -1}, {125, 20}},
     {145}},
};

TEST(lazy_timer, fires_exactly_at_its_latest_deadline) {
    for (const lazy_case& c : cases) {
        SCOPED_TRACE(c.name);
        fixture f;
        for (const step& s : c.steps) {
            f.run_to(s.at);
            if (s.delay < 0) {
                f.timer.stop();
                EXPECT_FALSE(f.timer.armed());
            } else {
                f.arm(static_cast<std::uint64_t>(s.delay));
                EXPECT_TRUE(f.timer.armed());
            }
        }
        f.run_to(400);
        EXPECT_EQ(f.fired, c.fires);
        EXPECT_FALSE(f.timer.armed());
        EXPECT_EQ(f.wheel.size(), 0U);  // the node left the wheel, early wake-ups included
    }
}

TEST(lazy_timer, moving_later_does_not_touch_the_wheel_node) {
    fixture f;
    f.arm(40);
    const std::uint64_t filed = f.timer.node.expiry();
    f.run_to(120);
    f.arm(40);
    EXPECT_EQ(f.timer.node.expiry(), filed);  // still filed at 140, due at 160
    EXPECT_EQ(f.timer.deadline, 160U);
    f.run_to(200);
    EXPECT_EQ(f.fired, (std::vector<std::uint64_t>{160}));
}

TEST(lazy_timer, cancel_takes_the_node_out_of_the_wheel) {
    fixture f;
    f.arm(40);
    f.timer.stop();
    EXPECT_EQ(f.wheel.size(), 1U);  // stop leaves it filed
    f.timer.cancel(f.wheel);
    EXPECT_EQ(f.wheel.size(), 0U);
    f.run_to(300);
    EXPECT_TRUE(f.fired.empty());
}

}  // namespace
}  // namespace sluice::dp::net::tcp
