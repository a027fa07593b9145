// The L2/L3 stack of one worker lcore: Ethernet, ARP, IPv4 and ICMP for every port the worker
// serves. One instance per worker; every call runs on that worker's lcore, with no locks.
//
// Packet ownership: input() takes ownership of every mbuf it is given. Each one is either
// answered (the same mbuf is turned into the reply and queued for TX), handed to an upper layer,
// held while ARP resolves its next hop, or freed and counted under one drop_reason.
//
// Time is the TSC, passed in by the caller (`now`), so tests drive the clock.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <memory>

#include "../core/result.hh"
#include "arp_table.hh"
#include "counters.hh"
#include "iface.hh"
#include "tx_queue.hh"

namespace sluice::dp::net {

namespace tcp {
class tcp_stack;
}

// Port ids above this are refused at start (DPDK's own default is RTE_MAX_ETHPORTS = 32).
inline constexpr std::uint16_t max_ports = 16;
// Burst size for RX and TX (STYLE.md; DPDK examples use 32).
inline constexpr std::uint16_t burst_size = 32;

struct stack_params {
    std::uint64_t tsc_hz = 0;
    arp_params arp;
    rte_mempool* pool = nullptr;  // where ARP requests are allocated from
    int socket_id = 0;
};

// Called when this worker learns or changes a neighbour, so that the lcore layer can tell the
// other workers (ARP replies arrive on whichever queue RSS picks). Setup-time function pointer.
using neighbor_learned_fn = void (*)(void* ctx, std::uint16_t port, rte_be32_t ip,
                                     const rte_ether_addr& mac);

class stack {
public:
    explicit stack(const stack_params& p) : params_(p) {}
    // The worker's mbuf pool (what this stack allocates from).
    [[nodiscard]] rte_mempool* pool() const noexcept { return params_.pool; }
    ~stack();
    stack(const stack&) = delete;
    stack& operator=(const stack&) = delete;

    // Setup: serve `ifc` on TX queue `queue`. The iface must outlive the stack.
    [[nodiscard]] status add_port(const iface* ifc, std::uint16_t queue);
    void on_neighbor_learned(neighbor_learned_fn fn, void* ctx) noexcept {
        learned_fn_ = fn;
        learned_ctx_ = ctx;
    }

    // Setup: hands IPv4 protocol 6 to `t` (same lcore; it must outlive the stack's use).
    // Without one, TCP is dropped as ipv4_proto_unhandled.
    void attach_tcp(tcp::tcp_stack* t) noexcept { tcp_ = t; }
    [[nodiscard]] tcp::tcp_stack* tcp() const noexcept { return tcp_; }
    [[nodiscard]] const iface* ifc_of(std::uint16_t port) const noexcept {
        return port < max_ports ? ports_[port].ifc : nullptr;
    }

    // Processes a received burst from `port`; takes ownership of all `n` mbufs.
    void input(std::uint16_t port, rte_mbuf** pkts, std::uint16_t n, std::uint64_t now) noexcept;

    // Sends an IPv4 payload. `m` holds the L4 header and data at its data offset, with at least
    // 34 bytes of headroom; the IPv4 and Ethernet headers are prepended here. Takes ownership.
    void ipv4_output(std::uint16_t port, rte_mbuf* m, rte_be32_t dst, std::uint8_t proto,
                     std::uint64_t now) noexcept;

    // Timers: ARP retries and expiry. Call every few milliseconds.
    void tick(std::uint64_t now) noexcept;
    // Sends everything queued for TX on every port.
    void flush() noexcept;
    // Announces our address on `port` (RFC 5227 §3 ARP announcement).
    void send_gratuitous_arp(std::uint16_t port) noexcept;
    // Applies a neighbour learned by another worker.
    void apply_neighbor(std::uint16_t port, rte_be32_t ip, const rte_ether_addr& mac,
                        std::uint64_t now) noexcept;
    // Frees everything held (pending ARP packets, unsent TX). Call before ports are closed.
    void release() noexcept;

    [[nodiscard]] bool serves(std::uint16_t port) const noexcept {
        return port < max_ports && ports_[port].ifc != nullptr;
    }
    [[nodiscard]] const queue_stats& stats(std::uint16_t port) const noexcept {
        return ports_[port].stats;
    }
    [[nodiscard]] queue_stats& stats(std::uint16_t port) noexcept { return ports_[port].stats; }
    [[nodiscard]] arp_table* neighbors(std::uint16_t port) noexcept {
        return ports_[port].arp.get();
    }
    [[nodiscard]] std::uint16_t queue_of(std::uint16_t port) const noexcept {
        return ports_[port].queue;
    }

private:
    struct port_ctx {
        const iface* ifc = nullptr;
        std::uint16_t queue = 0;
        std::unique_ptr<arp_table> arp;
        tx_queue txq;
        queue_stats stats;
    };

    void eth_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept;
    void arp_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept;
    void ipv4_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept;
    void icmp_input(port_ctx& pc, rte_mbuf* m, rte_be32_t src, std::uint64_t now) noexcept;
    void l2_output(port_ctx& pc, rte_mbuf* m, rte_be32_t next_hop, std::uint64_t now) noexcept;
    void send_arp(port_ctx& pc, std::uint16_t op, const rte_ether_addr& eth_dst,
                  const rte_ether_addr& tha, rte_be32_t tip) noexcept;
    void learn(port_ctx& pc, rte_be32_t ip, const rte_ether_addr& mac, std::uint64_t now,
               bool create, bool notify) noexcept;
    void drop(port_ctx& pc, rte_mbuf* m, drop_reason why) noexcept {
        pc.stats.drop(why);
        rte_pktmbuf_free(m);
    }

    stack_params params_;
    std::array<port_ctx, max_ports> ports_{};
    // The ports add_port() bound, so that flush() (every loop iteration, idle ones included)
    // touches their TX queues only instead of all max_ports slots (a cache line each).
    std::array<std::uint16_t, max_ports> bound_{};
    std::uint16_t n_bound_ = 0;
    neighbor_learned_fn learned_fn_ = nullptr;
    void* learned_ctx_ = nullptr;
    std::uint64_t next_sweep_ = 0;
    tcp::tcp_stack* tcp_ = nullptr;
};

}  // namespace sluice::dp::net
