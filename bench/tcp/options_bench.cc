// Option parsing and building cost per segment, over the same case table the unit tests and
// the fuzz seeds use (tests/tcp/option_cases.hh). Not run in CI.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "net/tcp/options.hh"
#include "option_cases.hh"

namespace {

using namespace sluice::dp::net::tcp;  // NOLINT: benchmark file, not a header

const std::vector<test::option_case>& cases() {
    static const auto c = test::option_cases();
    return c;
}

// Arg = index into the case table; the label names the case.
void bm_parse_case(benchmark::State& state) {
    const auto& c = cases()[static_cast<std::size_t>(state.range(0))];
    tcp_options out;
    for (auto _ : state) {
        auto r = parse_options(c.bytes, out);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out);
    }
    state.SetLabel(c.name);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_parse_case)->DenseRange(0, static_cast<int>(test::option_cases().size()) - 1);

// Data segment with timestamps and Arg SACK blocks (0..3).
void bm_build_segment(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::array<sack_block, 3> blocks = {{{1000, 2000}, {3000, 4000}, {5000, 6000}}};
    std::array<std::uint8_t, max_option_bytes> buf{};
    std::uint32_t ts = 0;
    for (auto _ : state) {
        const std::size_t len =
            build_segment_options(buf, true, ++ts, 77, std::span(blocks.data(), n));
        benchmark::DoNotOptimize(len);
        benchmark::DoNotOptimize(buf);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_build_segment)->Arg(0)->Arg(1)->Arg(3);

}  // namespace

BENCHMARK_MAIN();
