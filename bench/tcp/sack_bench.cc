// Cost of processing one SACK-carrying ACK on the sender: scoreboard update, SetPipe and
// NextSeg, as the connection will do per ACK during recovery. Swept over the number of holes
// in flight. Not run in CI.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "net/tcp/sack.hh"

namespace {

using namespace sluice::dp::net::tcp;  // NOLINT: benchmark file, not a header

constexpr std::uint32_t smss = 1460;
constexpr std::uint32_t run = 8;  // received segments after each lost one

struct ack {
    std::array<sack_block, 3> blocks;  // 3 blocks: what fits next to timestamps (RFC 2018 §3)
    std::size_t n;
};

// A flight of `holes` losses, each followed by `run` delivered segments; the receiver sends one
// ACK per delivered segment with the newest block first and the two previous ones after it
// (RFC 2018 §4).
std::vector<ack> make_acks(std::uint32_t holes, seq_t base) {
    std::vector<ack> acks;
    std::vector<sack_block> ranges;
    for (std::uint32_t h = 0; h < holes; ++h) {
        const seq_t start = base + (h * (run + 1) + 1) * smss;
        ranges.push_back({start, start});
        for (std::uint32_t s = 0; s < run; ++s) {
            ranges.back().right += smss;
            ack a{};
            a.n = 0;
            for (std::size_t k = ranges.size(); k-- > 0 && a.n < 3;) {
                a.blocks[a.n++] = ranges[k];
            }
            acks.push_back(a);
        }
    }
    return acks;
}

void bm_sack_ack(benchmark::State& state) {
    const auto holes = static_cast<std::uint32_t>(state.range(0));
    const seq_t base = 0xfff00000U;
    const seq_t snd_nxt = base + holes * (run + 1) * smss + 10 * smss;
    const auto acks = make_acks(holes, base);
    sack_scoreboard sb(base, smss);
    std::size_t i = 0;
    std::uint64_t sink = 0;
    for (auto _ : state) {
        if (i == acks.size()) {
            sb = sack_scoreboard(base, smss);  // new flight; amortized over the cycle
            i = 0;
        }
        const ack& a = acks[i++];
        const auto u = sb.update(base, snd_nxt, std::span(a.blocks.data(), a.n));
        sink += u.newly_sacked;
        sink += sb.pipe(snd_nxt);
        const auto seg = sb.next_seg(snd_nxt, false);
        sink += seg.seq;
        benchmark::DoNotOptimize(sink);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_sack_ack)->Arg(1)->Arg(4)->Arg(16)->Arg(32);

// The update alone (no pipe / NextSeg).
void bm_sack_update_only(benchmark::State& state) {
    const auto holes = static_cast<std::uint32_t>(state.range(0));
    const seq_t base = 0xfff00000U;
    const seq_t snd_nxt = base + holes * (run + 1) * smss + 10 * smss;
    const auto acks = make_acks(holes, base);
    sack_scoreboard sb(base, smss);
    std::size_t i = 0;
    for (auto _ : state) {
        if (i == acks.size()) {
            sb = sack_scoreboard(base, smss);
            i = 0;
        }
        const ack& a = acks[i++];
        auto u = sb.update(base, snd_nxt, std::span(a.blocks.data(), a.n));
        benchmark::DoNotOptimize(u);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_sack_update_only)->Arg(1)->Arg(4)->Arg(16)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
