// Process-wide services the gateway's workers share: the rate-limit and breaker registries
// (state that survives config generations), the access log, and which DPDK port each worker
// opens upstream connections from. Created by the dataplane at start (main thread), before the
// workers run; destroyed after they stopped.
//
// Threading: registries are used by the config builder (acquire/release) and read lock-free by
// workers through the handles they return; the rest is immutable after start.
#pragma once

#include <rte_byteorder.h>
#include <rte_random.h>
#include <rte_ring.h>

#include <atomic>

#include <cstdint>
#include <memory>
#include <vector>

#include "../filters/accesslog/accesslog.hh"
#include "../filters/breaker/breaker.hh"
#include "../filters/ratelimit/ratelimit.hh"

namespace sluice::dp::proxy {

class gateway_services {
public:
    gateway_services() = default;
    gateway_services(const gateway_services&) = delete;
    gateway_services& operator=(const gateway_services&) = delete;

    // Random table seed: clients cannot aim many keys at one probe window (ratelimit.hh).
    filters::limiter_registry limiters{256, 65536, rte_rand()};
    filters::breaker_registry breakers;
    std::unique_ptr<filters::access_log> access_log;  // null: the accesslog filter counts drops

    // XDP verdicts requested by filters (rate_limit's `xdp_block`): workers enqueue, the
    // config builder thread writes them into the XDP program's verdict map (bpf syscalls never
    // run on a polling core). Multi-producer, single-consumer; full: dropped and counted.
    struct verdict_req {
        rte_be32_t ip = 0;
        std::uint32_t ttl_ms = 0;
    };
    rte_ring* verdicts = nullptr;
    std::atomic<std::uint64_t> verdicts_ring_full{0};
    bool request_verdict(rte_be32_t ip, std::uint32_t ttl_ms) noexcept {
        verdict_req v{ip, ttl_ms};
        if (verdicts == nullptr || rte_ring_mp_enqueue_elem(verdicts, &v, sizeof(v)) != 0) {
            verdicts_ring_full.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        return true;
    }
    // Per worker index: the ports it serves with their subnets, for choosing where an
    // upstream connection leaves from.
    struct egress {
        std::uint16_t port = 0;
        rte_be32_t addr = 0, netmask = 0, gateway = 0;
    };
    std::vector<std::vector<egress>> worker_ports;

    // The worker's port whose subnet holds `dst`; else the first with a default gateway; else
    // its first port.
    [[nodiscard]] std::uint16_t egress_port(unsigned worker, rte_be32_t dst) const noexcept {
        if (worker >= worker_ports.size() || worker_ports[worker].empty()) {
            return 0;
        }
        const auto& ps = worker_ports[worker];
        for (const auto& e : ps) {
            if (((dst ^ e.addr) & e.netmask) == 0) {
                return e.port;
            }
        }
        for (const auto& e : ps) {
            if (e.gateway != 0) {
                return e.port;
            }
        }
        return ps.front().port;
    }
};

}  // namespace sluice::dp::proxy
