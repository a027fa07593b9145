// The gateway on one worker lcore: listeners from the compiled config, downstream sessions
// (HTTP/1.1 reverse proxy, L4 TCP passthrough, binary framed protocol), and upstream
// connection pools, all on this lcore's TCP stack (docs/gateway.md).
//
// Threading: everything here runs on the owning worker lcore, run to completion; sessions,
// requests and upstream connections come from fixed pools sized at start, so nothing is
// allocated per connection or per request. The only cross-thread touch points are the config
// hub (an acquire load per iteration), the shared limiter/breaker state (lock-free), the access
// log ring and the control-plane stats slot.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "../core/timer/timer_wheel.hh"
#include "../net/tcp/tcp_stack.hh"
#include "config_hub.hh"
#include "gateway_stats.hh"
#include "pools.hh"

namespace sluice::dp::core {
class lcore_link;
}
namespace sluice::dp::filters {
class fast_rng;
struct auth_counters;
}  // namespace sluice::dp::filters

namespace sluice::dp::proxy {

struct http_session;
struct l4_session;
struct binary_session;
struct upstream_conn;
struct request;
class health_checker;

struct gateway_params {
    std::uint32_t max_sessions = 4096;   // downstream connections per worker
    std::uint32_t max_upstreams = 4096;  // upstream connections per worker
    std::uint32_t max_requests = 4096;   // requests in flight per worker
    std::uint32_t listen_backlog = 1024;
    std::uint32_t downstream_idle_ms = 3'600'000;  // issue 6: idle timeout 1 h
};

class gateway final : public net::tcp::tcp_handler {
public:
    gateway(net::tcp::tcp_stack& tcp, rte_mempool* pool, config_hub& hub, unsigned index,
            core::lcore_link* link, const gateway_params& p, gateway_services& svc);
    ~gateway() override;
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    // Once per poll iteration, between bursts: adopts a newly compiled config (listeners are
    // reconciled; requests in flight keep the config they started with).
    void poll() noexcept;
    // From the worker's timer slot (about every ms): stats publication.
    void tick(std::uint64_t now_tsc) noexcept;
    // Shutdown: aborts every connection (no callbacks), returns every mbuf.
    void release() noexcept;

    // tcp_handler: one handler for every connection of this gateway; `c.user` says which
    // session or upstream it belongs to.
    void on_established(net::tcp::connection& c) override;
    void on_data(net::tcp::connection& c, const net::tcp::rx_view& v) override;
    void on_writable(net::tcp::connection& c) override;
    void on_peer_shutdown(net::tcp::connection& c) override;
    void on_closed(net::tcp::connection& c, net::tcp::close_reason why) override;

    [[nodiscard]] const gateway_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] net::tcp::tcp_stack& tcp() noexcept { return tcp_; }
    [[nodiscard]] rte_mempool* pool() noexcept { return pool_; }
    [[nodiscard]] core::timer_wheel& timers() noexcept { return tcp_.timers(); }
    [[nodiscard]] unsigned index() const noexcept { return index_; }
    [[nodiscard]] gateway_config* config() noexcept { return cfg_; }
    [[nodiscard]] gateway_services& services() noexcept { return svc_; }
    [[nodiscard]] std::uint64_t now_ms() const noexcept { return tcp_.now_ms(); }
    // TSC cycles to ns by a 32.32 fixed-point multiply (set at construction), not a division per
    // request; exact to < 1 ns per second of `cycles`, and no overflow for long intervals.
    [[nodiscard]] std::uint64_t cycles_to_ns(std::uint64_t cycles) const noexcept {
        const auto wide = static_cast<unsigned __int128>(cycles) * ns_per_cycle_q32_;
        return static_cast<std::uint64_t>(wide >> 32);
    }
    // The breakers' and filters' clock: TSC nanoseconds (config_hub::publish_health_now converts
    // the same way), read from the TCP stack's burst TSC, so the division runs once per burst
    // instead of twice per request. Lags the TSC by at most one poll iteration (1 ms when only
    // timers run).
    [[nodiscard]] std::uint64_t now_ns() noexcept {
        const std::uint64_t t = tcp_.now_tsc();
        if (t != ns_tsc_ || t == 0) [[unlikely]] {
            return refresh_now_ns(t);
        }
        return now_ns_;
    }
    [[nodiscard]] core::lcore_link* link() noexcept { return link_; }
    [[nodiscard]] std::uint64_t next_random() noexcept;
    [[nodiscard]] filters::fast_rng& id_rng() noexcept { return *id_rng_; }
    [[nodiscard]] filters::auth_counters& auth_stats() noexcept { return *auth_stats_; }
    // Unix time in ms = now_ms() + unix_offset_ms() (taken once at start; no clock calls on
    // the worker).
    [[nodiscard]] std::uint64_t unix_offset_ms() const noexcept { return unix_offset_ms_; }
    [[nodiscard]] const gateway_params& params() const noexcept { return params_; }
    [[nodiscard]] health_checker& health() noexcept { return *health_; }

    // --- used by the session code (same lcore) ---
    gateway_stats stats_;
    object_pool<http_session> http_sessions_;
    object_pool<l4_session> l4_sessions_;
    object_pool<binary_session> binary_sessions_;
    object_pool<upstream_conn> upstreams_;
    object_pool<request> requests_;
    endpoint_table endpoints_;
    // Head building (request heads to upstreams, response heads to clients).
    static constexpr std::uint32_t scratch_size = 96 * 1024;
    std::unique_ptr<char[]> scratch_;

    // Pins `c` for a request (released with unpin).
    void pin(gateway_config* c) noexcept;
    void unpin(gateway_config* c) noexcept;

    // Opens (or reuses) an upstream connection to `ep` for cluster `cl` of config `cfg`.
    // nullptr when the pool limits or the TCP table say no.
    upstream_conn* acquire_upstream(gateway_config& cfg, std::uint32_t cl,
                                    std::uint32_t ep) noexcept;
    // Returns a finished upstream connection: kept idle if reusable, else closed.
    void release_upstream(upstream_conn& u, bool reusable) noexcept;
    void abort_upstream(upstream_conn& u) noexcept;

private:
    void reconcile_listeners(const gateway_config* old_cfg) noexcept;
    void accept(net::tcp::connection& c) noexcept;
    std::uint64_t refresh_now_ns(std::uint64_t tsc) noexcept;

    net::tcp::tcp_stack& tcp_;
    rte_mempool* pool_;
    config_hub& hub_;
    unsigned index_;
    core::lcore_link* link_;
    gateway_params params_;
    gateway_services& svc_;
    gateway_config* cfg_ = nullptr;
    std::uint64_t rng_;
    std::unique_ptr<filters::fast_rng> id_rng_;
    std::unique_ptr<filters::auth_counters> auth_stats_;
    std::uint64_t unix_offset_ms_ = 0;
    std::uint64_t ns_per_cycle_q32_ = 0;  // (1e9 << 32) / TSC Hz
    std::uint64_t ns_tsc_ = 0;            // the TSC now_ns_ was computed from
    std::uint64_t now_ns_ = 0;
    std::unique_ptr<health_checker> health_;  // worker 0 only
    std::vector<std::uint16_t> listening_;
    gateway_stats published_{};
};

}  // namespace sluice::dp::proxy
