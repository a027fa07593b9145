// Route lookup and load-balancer pick cost (issue 4 target: <= 50 ns per lookup at 100k routes for
// exact and prefix paths and host + path). Configs come from tests/cfg/cfg_fixture.hh and are
// encoded by the real control-plane encoder. The lookup benchmarks cycle through 256 requests for
// random routes (a hot working set: the hit routes' cache lines stay cached); *_cold variants and
// bm_exact_path_working_set cycle through up to 65536, so most lookups miss the caches and the
// cost is that of about three dependent cache misses. Single thread. Run:
//   ninja -C build bench/cfg/route_bench && build/bench/cfg/route_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <random>

#include "dataplane/cfg/lb.hh"
#include "dataplane/cfg/route_table.hh"
#include "tests/cfg/cfg_fixture.hh"

namespace sluice::dp::cfg {
namespace {

using namespace test;

struct fixture {
    snapshot snap;
    route_table table;
    std::vector<request> reqs;
    std::vector<request_key> keys;
};

std::unique_ptr<fixture> make(scale_kind kind, std::size_t n, std::size_t distinct, bool miss) {
    auto f = std::make_unique<fixture>();
    f->snap = encode_or_die(scaled_config(kind, n));
    auto t = route_table::build(f->snap.view);
    if (!t) {
        std::abort();
    }
    f->table = std::move(t.value());
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i < distinct; ++i) {
        request r = scaled_request(kind, rng() % n);
        if (miss) {
            r.path.insert(0, "/nope");
        }
        f->reqs.push_back(std::move(r));
    }
    for (const auto& r : f->reqs) {
        f->keys.push_back(r.key());
    }
    return f;
}

void run(benchmark::State& st, scale_kind kind, bool miss, std::size_t distinct) {
    auto f = make(kind, static_cast<std::size_t>(st.range(0)), distinct, miss);
    std::size_t i = 0;
    const std::size_t mask = distinct - 1;
    for (auto _ : st) {
        benchmark::DoNotOptimize(f->table.match(f->keys[i++ & mask]));
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}

void bm_exact_path(benchmark::State& st) { run(st, scale_kind::exact_path, false, 256); }
void bm_prefix_path(benchmark::State& st) { run(st, scale_kind::prefix_path, false, 256); }
void bm_host_path(benchmark::State& st) { run(st, scale_kind::host_path, false, 256); }
void bm_miss(benchmark::State& st) { run(st, scale_kind::exact_path, true, 256); }
void bm_exact_path_cold(benchmark::State& st) { run(st, scale_kind::exact_path, false, 65536); }
void bm_prefix_path_cold(benchmark::State& st) { run(st, scale_kind::prefix_path, false, 65536); }

BENCHMARK(bm_exact_path)->Arg(10)->Arg(1000)->Arg(100'000);
BENCHMARK(bm_prefix_path)->Arg(10)->Arg(1000)->Arg(100'000);
BENCHMARK(bm_host_path)->Arg(10)->Arg(1000)->Arg(100'000);
BENCHMARK(bm_miss)->Arg(10)->Arg(1000)->Arg(100'000);
BENCHMARK(bm_exact_path_cold)->Arg(100'000);
BENCHMARK(bm_prefix_path_cold)->Arg(100'000);

// The linear scan the index replaces, for the ratio.
void bm_exact_path_linear(benchmark::State& st) {
    auto f = make(scale_kind::exact_path, static_cast<std::size_t>(st.range(0)), 256, false);
    std::size_t i = 0;
    for (auto _ : st) {
        benchmark::DoNotOptimize(f->table.match_linear(f->keys[i++ & 255]));
    }
}
BENCHMARK(bm_exact_path_linear)->Arg(10)->Arg(1000);

// Exact paths at 100k routes against the number of distinct routes the requests hit: the lookup
// is a few dependent cache lines (hash slot, route, strings), so its cost is set by whether the
// hit routes' lines are cached.
void bm_exact_path_working_set(benchmark::State& st) {
    auto distinct = static_cast<std::size_t>(st.range(0));
    auto f = make(scale_kind::exact_path, 100'000, distinct, false);
    std::size_t i = 0;
    for (auto _ : st) {
        benchmark::DoNotOptimize(f->table.match(f->keys[i++ & (distinct - 1)]));
    }
}
BENCHMARK(bm_exact_path_working_set)->Arg(16)->Arg(256)->Arg(1024)->Arg(4096)->Arg(65536);

std::vector<std::uint32_t> weights(std::size_t n) {
    std::vector<std::uint32_t> w(n);
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = 1 + static_cast<std::uint32_t>(i % 4);
    }
    return w;
}

void bm_pick_smooth_wrr(benchmark::State& st) {
    smooth_wrr rr(weights(static_cast<std::size_t>(st.range(0))));
    for (auto _ : st) {
        benchmark::DoNotOptimize(rr.pick());
    }
}
BENCHMARK(bm_pick_smooth_wrr)->Arg(4)->Arg(64);

void bm_pick_least_request(benchmark::State& st) {
    auto n = static_cast<std::size_t>(st.range(0));
    least_request lr(weights(n));
    std::vector<std::uint32_t> active(n, 3);
    xorshift64s rng(1);
    for (auto _ : st) {
        auto p = lr.pick(active, rng);
        ++active[p];  // keep the loads moving
        active[p] -= active[p] > 8 ? 6 : 0;
        benchmark::DoNotOptimize(p);
    }
}
BENCHMARK(bm_pick_least_request)->Arg(4)->Arg(64);

void bm_pick_maglev(benchmark::State& st) {
    auto n = static_cast<std::size_t>(st.range(0));
    std::vector<maglev_endpoint> eps;
    for (std::size_t i = 0; i < n; ++i) {
        eps.push_back({i * 2654435761u + 1, 1});
    }
    auto t = maglev_table::build(eps);
    std::unique_ptr<bool[]> healthy(new bool[n]);
    for (std::size_t i = 0; i < n; ++i) {
        healthy[i] = i % 5 != 0;  // a fifth unhealthy: exercises the fall-through
    }
    xorshift64s rng(1);
    for (auto _ : st) {
        benchmark::DoNotOptimize(t->pick(rng.next(), std::span<const bool>(healthy.get(), n)));
    }
}
BENCHMARK(bm_pick_maglev)->Arg(4)->Arg(64);

}  // namespace
}  // namespace sluice::dp::cfg

BENCHMARK_MAIN();
