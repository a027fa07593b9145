// A worker lcore: polls its RX queues run-to-completion, feeds bursts through its own L2/L3
// stack, runs the stack's timers, and flushes TX at the end of every iteration. Each worker owns
// one RX/TX queue pair per port it serves and talks to other workers only through its control
// ring (neighbour updates). Busy and idle TSC cycles are accounted per iteration, like
// `vppctl show runtime`.
//
// Threading: run() and poll_once() execute on the worker's lcore only; stats() may be read from
// the main lcore at any time (single-writer counters).
#pragma once

#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "../net/stack.hh"
#include "../net/tcp/tcp_stack.hh"
#include "result.hh"

namespace sluice::dp::core {

class lcore_link;
}
namespace sluice::dp::proxy {
class gateway;
}
namespace sluice::dp::core {

struct rx_binding {
    std::uint16_t port = 0;
    std::uint16_t queue = 0;
};

struct alignas(64) lcore_stats {
    net::counter busy_cycles;      // iterations that received or sent something
    net::counter idle_cycles;      // empty polls
    net::counter iterations;
    net::counter busy_iterations;
    net::counter ring_drops;       // neighbour updates lost because a peer's ring was full
};

// One neighbour update between workers; 16 bytes to fit an rte_ring element.
struct neighbor_msg {
    rte_be32_t ip;
    std::uint16_t port;
    rte_ether_addr mac;
    std::uint32_t pad;
};
static_assert(sizeof(neighbor_msg) == 16);

// TX flush and timers run at least this often even under full load.
inline constexpr std::uint64_t timer_period_us = 1000;

class worker {
public:
    // `tcp_max_connections`: TCBs of this worker's TCP stack (tcp_params::max_connections).
    worker(unsigned lcore, unsigned index, const net::stack_params& p,
           std::uint32_t tcp_max_connections = net::tcp::tcp_params{}.max_connections);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // Setup, main lcore, before launch.
    [[nodiscard]] status add_port(const net::iface* ifc, std::uint16_t queue);
    [[nodiscard]] status create_ring(int socket_id);
    void set_peers(std::vector<worker*> peers) { peers_ = std::move(peers); }
    void announce_on(std::uint16_t port) { announce_.push_back(port); }
    // Links the worker to the control plane's shared memory (optional; see shm_link.hh).
    void link_shm(lcore_link* l) noexcept { shm_ = l; }
    [[nodiscard]] lcore_link* shm() const noexcept { return shm_; }
    // Runs the gateway on this worker (optional). With a gateway, config adoption and the
    // applied-generation report go through it (it switches to compiled configs).
    void attach_gateway(proxy::gateway* g) noexcept { gw_ = g; }
    // Setup: `fn(ctx, *this)` runs once on this worker's lcore when it starts, after its TCP
    // clock is set (e.g. a TCP application's active opens).
    using start_hook_fn = void (*)(void* ctx, worker& w);
    void on_start(start_hook_fn fn, void* ctx) { start_hooks_.emplace_back(fn, ctx); }

    // The lcore entry: sends announcements, then polls until `quit` becomes true. When the main
    // lcore is the only lcore, it passes `housekeeping`, called about every 50 ms.
    using housekeeping_fn = void (*)(void* ctx);
    void run(const std::atomic<bool>& quit, housekeeping_fn housekeeping = nullptr,
             void* ctx = nullptr) noexcept;
    // One poll iteration; returns the packets received.
    std::uint32_t poll_once(std::uint64_t now) noexcept;
    void start() noexcept;  // announcements; called by run() or by the main lcore itself

    [[nodiscard]] unsigned lcore() const noexcept { return lcore_; }
    [[nodiscard]] unsigned index() const noexcept { return index_; }
    [[nodiscard]] const std::vector<rx_binding>& bindings() const noexcept { return rx_; }
    [[nodiscard]] const lcore_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] net::stack& stack() noexcept { return stack_; }
    [[nodiscard]] const net::stack& stack() const noexcept { return stack_; }
    // This lcore's TCP (issue 3); attached to stack() for IPv4 protocol 6.
    [[nodiscard]] net::tcp::tcp_stack& tcp() noexcept { return *tcp_; }

private:
    static void on_learned(void* ctx, std::uint16_t port, rte_be32_t ip,
                           const rte_ether_addr& mac);
    void drain_ring(std::uint64_t now) noexcept;

    unsigned lcore_;
    unsigned index_;
    net::stack stack_;
    std::unique_ptr<net::tcp::tcp_stack> tcp_;
    std::vector<rx_binding> rx_;
    std::vector<worker*> peers_;
    std::vector<std::uint16_t> announce_;
    std::vector<std::pair<start_hook_fn, void*>> start_hooks_;
    rte_ring* ring_ = nullptr;
    lcore_link* shm_ = nullptr;
    proxy::gateway* gw_ = nullptr;
    std::uint64_t next_timer_ = 0;
    std::uint64_t timer_cycles_ = 0;
    lcore_stats stats_;
};

}  // namespace sluice::dp::core
