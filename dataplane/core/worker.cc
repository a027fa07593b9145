// Worker lcore loop; see worker.hh. Runs on the worker's lcore.
#include "worker.hh"

#include "shm_link.hh"
#include "../proxy/gateway.hh"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

#include <string>

namespace sluice::dp::core {

worker::worker(unsigned lcore, unsigned index, const net::stack_params& p,
               std::uint32_t tcp_max_connections)
    : lcore_(lcore), index_(index), stack_(p) {
    stack_.on_neighbor_learned(&worker::on_learned, this);
    net::tcp::tcp_params tp;
    tp.tsc_hz = p.tsc_hz;
    tp.pool = p.pool;
    tp.socket_id = p.socket_id;
    tp.lcore = lcore;
    tp.max_connections = tcp_max_connections;
    tcp_ = std::make_unique<net::tcp::tcp_stack>(stack_, tp);
    if (tcp_->ok()) {
        stack_.attach_tcp(tcp_.get());
    }
    timer_cycles_ = p.tsc_hz * timer_period_us / 1000000U;
}

worker::~worker() {
    stack_.release();
    stack_.attach_tcp(nullptr);  // tcp_ is destroyed before stack_
    rte_ring_free(ring_);
}

status worker::add_port(const net::iface* ifc, std::uint16_t queue) {
    if (auto s = stack_.add_port(ifc, queue); !s) {
        return s;
    }
    rx_.push_back({ifc->port_id, queue});
    return ok_status();
}

status worker::create_ring(int socket_id) {
    const std::string name = "sl_nbr_" + std::to_string(lcore_);
    // 1024 updates in flight is far more than ARP produces between two iterations.
    ring_ = rte_ring_create_elem(name.c_str(), sizeof(neighbor_msg), 1024, socket_id,
                                 RING_F_SC_DEQ);
    if (ring_ == nullptr) {
        return error{"worker " + std::to_string(lcore_) + ": ring " + name + ": " +
                     rte_strerror(rte_errno)};
    }
    return ok_status();
}

void worker::on_learned(void* ctx, std::uint16_t port, rte_be32_t ip, const rte_ether_addr& mac) {
    auto* self = static_cast<worker*>(ctx);
    neighbor_msg msg{ip, port, mac, 0};
    for (worker* p : self->peers_) {
        if (p != self && p->ring_ != nullptr &&
            rte_ring_mp_enqueue_elem(p->ring_, &msg, sizeof(msg)) != 0) {
            self->stats_.ring_drops.add();
        }
    }
}

void worker::drain_ring(std::uint64_t now) noexcept {
    if (ring_ == nullptr) {
        return;
    }
    neighbor_msg msgs[net::burst_size];
    const unsigned n =
        rte_ring_sc_dequeue_burst_elem(ring_, msgs, sizeof(neighbor_msg), net::burst_size, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        stack_.apply_neighbor(msgs[i].port, msgs[i].ip, msgs[i].mac, now);
    }
}

void worker::start() noexcept {
    for (std::uint16_t port : announce_) {
        stack_.send_gratuitous_arp(port);
    }
    tcp_->tick(rte_rdtsc());  // timers armed by the hooks count from now
    for (auto [fn, ctx] : start_hooks_) {
        fn(ctx, *this);
    }
    stack_.flush();
}

std::uint32_t worker::poll_once(std::uint64_t now) noexcept {
    std::uint32_t total = 0;
    if (gw_ != nullptr) {
        gw_->poll();  // the compiled-config check, between bursts
    } else if (shm_ != nullptr) {
        shm_->poll();  // the generation check, between bursts
    }
    rte_mbuf* pkts[net::burst_size];
    for (const rx_binding& b : rx_) {
        const std::uint16_t n = rte_eth_rx_burst(b.port, b.queue, pkts, net::burst_size);
        if (n != 0) {
            stack_.input(b.port, pkts, n, now);
            total += n;
        }
    }
    drain_ring(now);
    if (now >= next_timer_) {
        stack_.tick(now);
        if (shm_ != nullptr) {
            shm_->tick(now, stack_, stats_);
        }
        tcp_->tick(now);  // the TCP timer wheel advances in 1 ms ticks
        if (gw_ != nullptr) {
            gw_->tick(now);
        }
        next_timer_ = now + timer_cycles_;
    }
    stack_.flush();
    return total;
}

void worker::run(const std::atomic<bool>& quit, housekeeping_fn housekeeping,
                 void* ctx) noexcept {
    start();
    std::uint64_t t0 = rte_rdtsc();
    const std::uint64_t hk_period = rte_get_tsc_hz() / 20;
    std::uint64_t next_hk = t0 + hk_period;
    while (!quit.load(std::memory_order_relaxed)) {
        if (housekeeping != nullptr && t0 >= next_hk) {
            housekeeping(ctx);
            next_hk = t0 + hk_period;
        }
        const std::uint32_t n = poll_once(t0);
        const std::uint64_t t1 = rte_rdtsc();
        stats_.iterations.add();
        if (n != 0) {
            stats_.busy_cycles.add(t1 - t0);
            stats_.busy_iterations.add();
        } else {
            stats_.idle_cycles.add(t1 - t0);
        }
        t0 = t1;
    }
    stack_.flush();
}

}  // namespace sluice::dp::core
