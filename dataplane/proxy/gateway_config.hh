// One compiled generation of the gateway's configuration: everything the workers need to serve
// requests, built from a control-plane snapshot by the config builder (config_hub.hh) off the
// polling cores. It owns all its data (strings are copied out of shared memory), is immutable
// once published except for the per-worker state arrays each worker touches only at its own
// index, and is freed by the builder once no worker references it.
//
// Threading: built and freed on the builder thread; read by every worker; `worker_state(i)`
// and `refs` entry i are written only by worker i.
#pragma once

#include <rte_byteorder.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../cfg/lb.hh"
#include "../cfg/route_table.hh"
#include "../core/result.hh"
#include "ctrlplane/model/snapshot_view.hh"
#include "filter.hh"

namespace sluice::dp::filters {
class limiter;
class cluster_breaker;
}  // namespace sluice::dp::filters

namespace sluice::dp::proxy {

class gateway_services;

inline constexpr unsigned max_workers = 64;
// Endpoints per cluster the balancers take (a stack bitmap per pick).
inline constexpr std::size_t max_cluster_endpoints = 256;

struct endpoint_rt {
    rte_be32_t addr = 0;
    std::uint16_t port = 0;  // host order
    std::uint32_t weight = 1;
};

struct cluster_rt {
    std::string name;
    std::vector<endpoint_rt> endpoints;
    std::vector<std::uint32_t> weights;  // per endpoint, for the balancers
    std::uint8_t lb = 0;        // model::lb_policy
    std::uint8_t hash_key = 0;  // model::hash_key
    std::string hash_header;    // lower case
    std::uint32_t connect_timeout_ms = 5'000;
    std::uint32_t idle_timeout_ms = 3'600'000;
    std::uint32_t request_timeout_ms = 15'000;
    std::uint32_t stream_idle_ms = 300'000;  // body progress timeout (model::cluster)
    std::uint32_t max_conns_per_endpoint = 1024;
    std::uint32_t max_idle_per_endpoint = 64;
    std::uint32_t max_retries = 3;
    std::unique_ptr<cfg::maglev_table> maglev;  // lb == maglev
    cfg::least_request lr;                      // lb == least_request
    filters::cluster_breaker* breaker = nullptr;  // shared across lcores and generations
    // Active health checks.
    bool health_enabled = false;
    std::string health_path;
    std::uint32_t health_interval_ms = 5'000;
    std::uint32_t health_timeout_ms = 1'000;
    std::uint32_t healthy_threshold = 2;
    std::uint32_t unhealthy_threshold = 3;
    // Active health per endpoint (1 healthy), written by worker 0's health checker, read by
    // every worker's balancer. Starts healthy in each generation.
    std::unique_ptr<std::atomic<std::uint8_t>[]> health;
};

struct weighted_ref {
    std::uint32_t cluster = 0;
    std::uint32_t weight = 1;
};

struct filter_ref {
    std::unique_ptr<http_filter> filter;
    std::uint32_t state_off = 0;  // offset in the request's filter arena
};

struct route_rt {
    std::string name;
    std::vector<weighted_ref> clusters;
    std::uint32_t total_weight = 0;
    bool prefix_match = false;
    std::string prefix;          // the matched prefix (for prefix_rewrite)
    std::string prefix_rewrite;  // empty: none
    bool has_rewrite = false;
    std::uint32_t timeout_ms = 0;  // 0: the cluster's request timeout
    std::uint32_t stream_idle_ms = 0;  // 0: the cluster's stream_idle_ms
    std::uint32_t retry_attempts = 0;
    std::uint32_t retry_on = 0;
    std::uint32_t per_try_timeout_ms = 0;
    std::vector<filter_ref> filters;
    std::uint32_t arena_bytes = 0;  // listener filters + these
};

struct listener_rt {
    std::string name;
    std::uint16_t port = 0;     // host order
    std::uint8_t protocol = 0;  // model::protocol
    std::vector<filter_ref> filters;
    std::uint32_t arena_bytes = 0;
    std::uint32_t max_request_line = 8192;
    std::uint32_t max_header_bytes = 65536;
    std::uint32_t max_headers = 100;
    std::uint32_t max_frame_payload = 1u << 20;
};

// Per worker, per cluster: load-balancing cursors and active-request counts (least-request).
struct cluster_lcore_state {
    cfg::smooth_wrr wrr;
    std::vector<std::uint32_t> active;  // per endpoint
};

struct alignas(64) worker_slot {
    std::vector<cluster_lcore_state> clusters;
    std::atomic<std::uint32_t> refs{0};  // requests + the worker's "current" pin
};

class gateway_config {
public:
    [[nodiscard]] static result<std::unique_ptr<gateway_config>> build(
        const cp::model::snapshot_view& v, std::uint64_t generation, unsigned workers,
        gateway_services& svc);

    std::uint64_t generation = 0;
    cfg::route_table routes;
    std::vector<route_rt> route_info;  // index = route index in the snapshot
    std::vector<cluster_rt> clusters;
    std::vector<listener_rt> listeners;

    [[nodiscard]] const listener_rt* listener_on(std::uint16_t port) const noexcept {
        for (const auto& l : listeners) {
            if (l.port == port) {
                return &l;
            }
        }
        return nullptr;
    }
    [[nodiscard]] std::uint32_t listener_index(const listener_rt& l) const noexcept {
        return static_cast<std::uint32_t>(&l - listeners.data());
    }
    [[nodiscard]] worker_slot& slot(unsigned worker) noexcept { return slots_[worker]; }
    [[nodiscard]] bool unreferenced() const noexcept;
    [[nodiscard]] unsigned workers() const noexcept { return workers_; }

    ~gateway_config();

private:
    gateway_config() = default;
    unsigned workers_ = 0;
    std::unique_ptr<worker_slot[]> slots_;
    gateway_services* svc_ = nullptr;
    std::vector<filters::cluster_breaker*> breakers_;  // released to the registry when freed
};

}  // namespace sluice::dp::proxy
