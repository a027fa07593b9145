// Stack-to-stack benchmark (issue 3): shared pieces of the Sluice run (stack_bench.cc) and the
// kernel baseline (stack_bench_kernel.cc). Both runs use the same two EAL lcores (0: client,
// 1: server), the same message size and the same two patterns, so their figures divide.
//
// Threading: a pattern runs its server on lcore 1 (rte_eal_remote_launch) and its client on the
// main lcore 0, which also keeps time and takes the measurement snapshots. The only shared state
// is the `shared_run` block below (atomics, written by one lcore, read by the other).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::bench {

// Request and response size: 64 bytes each way, as issue 3 asks.
inline constexpr std::uint32_t msg_bytes = 64;

enum class pattern : std::uint8_t {
    keep_alive,  // N connections, each a loop of 64 B request / 64 B response
    short_conn,  // N connections in flight, each: connect, request, response, close
};

struct run_options {
    pattern pat = pattern::keep_alive;
    std::uint32_t conns = 64;        // connections (keep-alive) or connections in flight (short)
    double warmup_s = 1.0;
    double seconds = 5.0;
    std::uint16_t server_port = 8080;  // first listening port
    // Short connections spread over this many listeners (tcp_stack's maximum, 16): with the
    // client's 16384 ephemeral ports and a 1 s TIME-WAIT, 16 * 16384 connections a second at
    // most (8 listeners capped a run at exactly 131,072/s).
    std::uint16_t server_ports = 16;
};

// What one measured window produced. Cycles are TSC cycles: for Sluice the lcores' busy
// iterations (an iteration that received something), for the kernel the threads' CPU time
// (user + system, CLOCK_THREAD_CPUTIME_ID) converted at the TSC rate.
struct run_result {
    std::uint64_t transactions = 0;  // responses received by the client in the window
    double seconds = 0;              // window length
    std::uint64_t client_cycles = 0;
    std::uint64_t server_cycles = 0;
    std::uint64_t failures = 0;      // connections that ended other than normally
    std::uint64_t stolen_cycles = 0;  // Sluice: both lcores' preempted iterations
    [[nodiscard]] double tps() const { return seconds > 0 ? transactions / seconds : 0; }
    [[nodiscard]] double cycles_per_txn() const {
        return transactions != 0 ? double(client_cycles + server_cycles) / double(transactions)
                                 : 0;
    }
    // Transactions per second per fully used core: the TSC rate over the cycles one
    // transaction costs on both sides together.
    [[nodiscard]] double tps_per_core(std::uint64_t hz) const {
        const double c = cycles_per_txn();
        return c > 0 ? double(hz) / c : 0;
    }
};

// Lcore 1's part of a pattern and the flag that ends it.
struct shared_run {
    std::atomic<bool> stop{false};
    std::atomic<bool> ready{false};            // the server listens
    std::atomic<std::uint64_t> server_cycles{0};  // running total, published by the server
    std::atomic<std::uint64_t> server_stolen{0};  // likewise, preempted iterations
};

// The kernel baseline over loopback (stack_bench_kernel.cc): an epoll server on lcore 1 and an
// epoll client on the calling (main) lcore. Returns false with a message on a setup failure.
bool run_kernel(const run_options& o, run_result& out, const char*& why);

}  // namespace sluice::bench
