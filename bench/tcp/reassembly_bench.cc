// Out-of-order receive cost per segment: a flight of Arg segments arrives with every other
// segment first (worst realistic interleaving: Arg/2 holes), then the holes are filled and the
// queue drains. Reports time per segment (insert + share of pop). Needs EAL: this file's main
// initializes it like tests/tcp/eal_main.cc does. Not run in CI.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <vector>

#include "net/tcp/reassembly.hh"

namespace {

using namespace sluice::dp::net::tcp;  // NOLINT: benchmark file, not a header

rte_mempool* pool = nullptr;
constexpr std::uint32_t mss = 1448;
constexpr std::uint32_t hdr = 66;  // Ethernet + IPv4 + TCP with timestamps

void bm_reassembly_interleaved(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    std::vector<rte_mbuf*> mbufs(n);
    reassembly_queue q;
    reassembly_counters c;
    std::array<rx_view, 64> out{};
    const seq_t base = 0xfffff000U;
    for (auto _ : state) {
        state.PauseTiming();
        if (rte_pktmbuf_alloc_bulk(pool, mbufs.data(), n) != 0) {
            state.SkipWithError("mbuf pool exhausted");
            break;
        }
        for (auto* m : mbufs) {
            rte_pktmbuf_append(m, static_cast<std::uint16_t>(hdr + mss));
        }
        state.ResumeTiming();
        seq_t rcv_nxt = base;
        // Odd segments first (out of order), then even ones: each even one is a hole filler.
        for (std::uint32_t i = 1; i < n; i += 2) {
            q.insert(base + i * mss, mbufs[i], hdr, mss, rcv_nxt, c);
        }
        for (std::uint32_t i = 0; i < n; i += 2) {
            q.insert(base + i * mss, mbufs[i], hdr, mss, rcv_nxt, c);
            const std::size_t got = q.pop_ready(rcv_nxt, out);
            for (std::size_t k = 0; k < got; ++k) {
                rte_pktmbuf_free(out[k].m);  // the application consuming the data
            }
        }
        benchmark::DoNotOptimize(rcv_nxt);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(bm_reassembly_interleaved)->Arg(8)->Arg(32)->Arg(64);

}  // namespace

int main(int argc, char** argv) {
    std::array<char, 64> prefix{};
    std::snprintf(prefix.data(), prefix.size(), "--file-prefix=sluice-tcp-bench-%d",
                  static_cast<int>(getpid()));
    std::array<const char*, 8> eal = {"reassembly_bench",
                                      "--no-huge",
                                      "--no-shconf",
                                      "--no-pci",
                                      "-l",
                                      "0",
                                      prefix.data(),
                                      "--log-level=lib.eal:error"};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
        std::fprintf(stderr, "reassembly_bench: rte_eal_init failed\n");
        return 1;
    }
    pool = rte_pktmbuf_pool_create("tcp_bench_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "reassembly_bench: cannot create the mbuf pool\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    rte_mempool_free(pool);
    const std::filesystem::path run_dir(rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(run_dir, ec);
    return 0;
}
