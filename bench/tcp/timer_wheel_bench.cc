// Timer wheel costs per operation: arm, cancel, and expiry (advance firing timers), swept over
// how many timers are armed at once. Single thread, as on an lcore. Not run in CI.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "core/timer/timer_wheel.hh"

namespace {

using sluice::dp::core::timer_node;
using sluice::dp::core::timer_wheel;

struct entry {
    timer_node node;
    std::uint64_t hits = 0;
};

void on_fire(timer_wheel& /*w*/, timer_node& /*n*/, void* ctx) { ++static_cast<entry*>(ctx)->hits; }

// Delays like a TCP stack's: mostly RTO/delayed-ACK range (1 ms .. 2 s at 1 ms ticks), some
// keepalive-sized (2 h).
std::vector<std::uint64_t> make_delays(std::size_t n) {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> d(n);
    for (auto& x : d) {
        x = (rng() % 16 == 0) ? 7'200'000 + rng() % 1000 : 1 + rng() % 2000;
    }
    return d;
}

void bm_arm(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<entry> entries(n);
    const auto delays = make_delays(n);
    timer_wheel w(0);
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) {
            w.arm_after(entries[i].node, delays[i], on_fire, &entries[i]);
        }
        benchmark::DoNotOptimize(w.size());
        state.PauseTiming();
        for (auto& e : entries) {
            w.cancel(e.node);
        }
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(bm_arm)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// Re-arming an armed timer (the RTO restart on every ACK): cancel + file.
void bm_rearm(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<entry> entries(n);
    const auto delays = make_delays(n);
    timer_wheel w(0);
    for (std::size_t i = 0; i < n; ++i) {
        w.arm_after(entries[i].node, delays[i], on_fire, &entries[i]);
    }
    std::size_t i = 0;
    for (auto _ : state) {
        w.arm_after(entries[i].node, delays[n - 1 - i], on_fire, &entries[i]);
        i = (i + 1 == n) ? 0 : i + 1;
    }
    benchmark::DoNotOptimize(w.size());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_rearm)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void bm_cancel(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<entry> entries(n);
    const auto delays = make_delays(n);
    timer_wheel w(0);
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < n; ++i) {
            w.arm_after(entries[i].node, delays[i], on_fire, &entries[i]);
        }
        state.ResumeTiming();
        for (auto& e : entries) {
            benchmark::DoNotOptimize(w.cancel(e.node));
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(bm_cancel)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// Arms n timers spread over 2 s (with cascades from level 1), then advances 1 ms at a time
// until all have fired: the cost per expired timer, including the walk over ticks.
void bm_expire(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<entry> entries(n);
    std::mt19937_64 rng(7);
    std::vector<std::uint64_t> delays(n);
    for (auto& d : delays) {
        d = 1 + rng() % 2000;
    }
    timer_wheel w(0);
    std::size_t fired = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < n; ++i) {
            w.arm_after(entries[i].node, delays[i], on_fire, &entries[i]);
        }
        const std::uint64_t end = w.now() + 2001;
        state.ResumeTiming();
        for (std::uint64_t t = w.now() + 1; t <= end; ++t) {
            fired += w.advance(t);
        }
    }
    benchmark::DoNotOptimize(fired);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(bm_expire)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

}  // namespace
BENCHMARK_MAIN();
