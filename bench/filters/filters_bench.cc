// Per-request costs of the built-in limits: rate-limit check (route bucket uncontended and
// contended across 2 threads, keyed table over how many keys), breaker cap acquire/release and
// outlier allow/success in closed state, access-log line formatting and ring submit. Not in CI.
// Run: build/bench/filters/filters_bench (docs/filters.md records results).
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "../../tests/unit/dpdk_env.hh"
#include "filters/accesslog/accesslog.hh"
#include "filters/breaker/breaker.hh"
#include "filters/ratelimit/ratelimit.hh"

namespace {

using namespace sluice::dp::filters;

// The clock is the TSC read as if it counted nanoseconds: shared by threads as by lcores, and
// monotonic across benchmark repetitions (the limiters are static and keep their state).
limiter_registry& registry() {
    static limiter_registry reg(16, 65536);
    return reg;
}

// Arg 0: rate far above the offered load (every check admits, one CAS). Arg 1: rate far below
// (almost every check denies, no write).
void bm_check_route(benchmark::State& state) {
    static limiter* admit = registry().acquire({1, 1'000'000'000'000ULL, 1'000'000, 0, 0});
    static limiter* deny = registry().acquire({2, 1'000, 1, 0, 0});
    limiter* l = state.range(0) == 0 ? admit : deny;
    std::uint64_t allowed = 0;
    for (auto _ : state) {
        decision d = check(*l, 0, rte_rdtsc());
        allowed += d.allowed;
        benchmark::DoNotOptimize(d);
    }
    state.counters["allowed"] =
        benchmark::Counter(static_cast<double>(allowed), benchmark::Counter::kAvgIterations);
}
BENCHMARK(bm_check_route)->Arg(0)->Arg(1);
BENCHMARK(bm_check_route)->Arg(0)->Arg(1)->Threads(2)->UseRealTime();

// Keyed (client_ip) limit, requests spread over `keys` client addresses.
void bm_check_keyed(benchmark::State& state) {
    static limiter* l = registry().acquire({3, 1'000'000'000ULL, 100, 1, 0});
    const auto keys = static_cast<std::uint32_t>(state.range(0));
    std::vector<std::uint64_t> hashes(keys);
    for (std::uint32_t i = 0; i < keys; ++i) {
        hashes[i] = key_hash_ipv4(0x0a000000 + i + 1);
    }
    std::uint32_t i = 0;
    for (auto _ : state) {
        decision d = check(*l, hashes[i], rte_rdtsc());
        benchmark::DoNotOptimize(d);
        i = i + 1 == keys ? 0 : i + 1;
    }
}
BENCHMARK(bm_check_keyed)->Arg(1)->Arg(1024)->Arg(32768);
BENCHMARK(bm_check_keyed)->Arg(1024)->Threads(2)->UseRealTime();

void bm_key_hash_header(benchmark::State& state) {
    std::string v(static_cast<std::size_t>(state.range(0)), 'k');
    for (auto _ : state) {
        benchmark::DoNotOptimize(key_hash_bytes(v));
    }
}
BENCHMARK(bm_key_hash_header)->Arg(8)->Arg(36)->Arg(128);

cluster_breaker& breaker() {
    static breaker_def d = [] {
        breaker_def x;
        x.name = "bench";
        for (std::uint32_t i = 0; i < 16; ++i) {
            x.endpoints.push_back({0x0a000001 + i, 80});
        }
        x.max_requests = 1'000'000;
        return x;
    }();
    static cluster_breaker b(d);
    return b;
}

void bm_breaker_cap(benchmark::State& state) {
    cluster_breaker& b = breaker();
    for (auto _ : state) {
        bool ok = b.try_acquire(cb_kind::requests);
        benchmark::DoNotOptimize(ok);
        b.release(cb_kind::requests);
    }
}
BENCHMARK(bm_breaker_cap);
BENCHMARK(bm_breaker_cap)->Threads(2)->UseRealTime();

// The closed-state fast path: allow() and on_success() read, never write.
void bm_outlier_closed(benchmark::State& state) {
    cluster_breaker& b = breaker();
    std::uint32_t ep = 0;
    std::uint64_t now = 0;
    for (auto _ : state) {
        bool ok = b.allow(ep, now += 1'000);
        benchmark::DoNotOptimize(ok);
        b.on_success(ep, now);
        ep = (ep + 1) & 15;
    }
}
BENCHMARK(bm_outlier_closed);
BENCHMARK(bm_outlier_closed)->Threads(2)->UseRealTime();

access_record bench_record() {
    access_record r;
    r.unix_ns = 1'764'193'208'123'456'789ULL;
    r.client_ip_be = 0x0a02000a;
    r.client_port = 40'000;
    r.upstream_ip_be = 0x0700000a;
    r.upstream_port = 8080;
    r.status = 200;
    r.bytes_in = 512;
    r.bytes_out = 4096;
    r.latency_us = 250;
    r.set_method("GET");
    r.set_path("/api/v1/items/12345?fields=name,price");
    r.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
    r.set_request_id("f47ac10b-58cc-4372-a567-0e02b2c3d479");
    r.set_route("api");
    return r;
}

void bm_accesslog_format(benchmark::State& state) {
    const access_record r = bench_record();
    char line[max_line_bytes];
    for (auto _ : state) {
        benchmark::DoNotOptimize(format_record(r, line));
    }
}
BENCHMARK(bm_accesslog_format);

// What a worker pays per request: the ring copy. The writer (to /dev/null) is slower than a
// tight loop of submits, so the timer pauses every half ring to let it catch up: what is
// measured is submits into a ring with room (Arg 0), or into a full ring, i.e. drops (Arg 1).
void bm_accesslog_submit(benchmark::State& state) {
    sluice::test::dpdk_env::get();
    constexpr std::uint32_t ring = 65536;
    auto log = access_log::open("/dev/null", ring, -1);
    if (!log.ok()) {
        state.SkipWithError(log.message().c_str());
        return;
    }
    const bool full = state.range(0) == 1;
    const access_record r = bench_record();
    if (full) {
        (*log)->hold_writer(true);
        while ((*log)->submit(r)) {
        }
    }
    std::uint64_t queued = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize((*log)->submit(r));
        if (!full && ++queued % (ring / 2) == 0) {
            state.PauseTiming();
            while ((*log)->written() < queued) {
            }
            state.ResumeTiming();
        }
    }
    (*log)->stop();
    state.counters["dropped"] = static_cast<double>((*log)->dropped());
}
BENCHMARK(bm_accesslog_submit)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
