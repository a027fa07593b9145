// Binary framed protocol decode throughput (frames/s and bytes/s) for 64 B, 1 KiB and 64 KiB
// payloads, fed two ways: the whole stream in one buffer (frames merged, best case) and in
// 1448-byte pieces (one TCP segment each: payload CRC'd per piece and combined). Plus the raw
// CRC: rte_net_crc (the handler crc_init() picks) against zlib's crc32. EAL is initialised
// first (tests/unit/dpdk_env) so that DPDK's SIMD CRC is selectable; the CRC implementation is
// printed. Not run in CI.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdio>
#include <vector>

#include "../../tests/proxy/binary/frame_cases.hh"
#include "../../tests/unit/dpdk_env.hh"
#include "proxy/binary/crc32.hh"
#include "proxy/binary/frame_decoder.hh"

namespace {

namespace bp = sluice::dp::proxy::binary;
using sluice::test::binary::bytes;

// About 4 MiB of back-to-back frames with `payload` bytes each.
struct stream {
    bytes data;
    std::size_t frames = 0;
};

stream make_stream(std::size_t payload) {
    stream s;
    const bytes one = sluice::test::binary::frame(3, sluice::test::binary::pattern(payload));
    while (s.data.size() < (4U << 20)) {
        s.data.insert(s.data.end(), one.begin(), one.end());
        ++s.frames;
    }
    return s;
}

void decode(benchmark::State& state, std::size_t piece) {
    const auto s = make_stream(static_cast<std::size_t>(state.range(0)));
    bp::frame_counters k;
    bp::frame_info out[32];
    for (auto _ : state) {
        bp::frame_decoder d(k);
        for (std::size_t at = 0; at < s.data.size(); at += piece) {
            auto p = std::span(s.data).subspan(at, std::min(piece, s.data.size() - at));
            while (!p.empty()) {
                const auto r = d.feed(p, out);
                benchmark::DoNotOptimize(out[0]);
                p = p.subspan(r.consumed);
            }
        }
        if (d.failed() || d.frame_start() != s.data.size()) {
            state.SkipWithError("decoder did not accept the stream");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s.frames));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.data.size()));
}

void bm_decode_contiguous(benchmark::State& state) { decode(state, SIZE_MAX); }
void bm_decode_tcp_pieces(benchmark::State& state) { decode(state, 1448); }
BENCHMARK(bm_decode_contiguous)->Arg(64)->Arg(1024)->Arg(65536);
BENCHMARK(bm_decode_tcp_pieces)->Arg(64)->Arg(1024)->Arg(65536);

void bm_crc_rte_net_crc(benchmark::State& state) {
    const bytes b = sluice::test::binary::pattern(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(bp::crc32(b));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
void bm_crc_zlib(benchmark::State& state) {
    const bytes b = sluice::test::binary::pattern(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(crc32(0, b.data(), static_cast<uInt>(b.size())));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
void bm_crc_concat(benchmark::State& state) {
    std::uint32_t c = 1;
    const auto len = static_cast<std::uint64_t>(state.range(0));
    for (auto _ : state) {
        c = bp::crc32_concat(c, 0x12345678U, len);
        benchmark::DoNotOptimize(c);
    }
}
BENCHMARK(bm_crc_rte_net_crc)->Arg(64)->Arg(1448)->Arg(65536);
BENCHMARK(bm_crc_zlib)->Arg(64)->Arg(1448)->Arg(65536);
BENCHMARK(bm_crc_concat)->Arg(64)->Arg(1448)->Arg(65536);

}  // namespace

int main(int argc, char** argv) {
    (void)sluice::test::dpdk_env::get();
    static const char* names[] = {"scalar", "sse42", "avx512"};
    std::printf("crc: %s\n", names[static_cast<int>(bp::crc_init())]);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
