// Active HTTP health checks (cluster `health_check`, docs/config.md): worker 0 probes every
// endpoint of every cluster that enables them, `interval` apart: a fresh TCP connection, a
// `GET <path>` with `Connection: close`, and a 2xx or 3xx status within `timeout` is a success.
// `unhealthy_threshold` consecutive failures mark the endpoint unhealthy, `healthy_threshold`
// consecutive successes healthy again; every worker's balancer skips unhealthy endpoints (and
// the passive outlier detector's ejections), see upstream_select.cc.
//
// The state lives in the compiled config (cluster_rt::health), so a new config generation
// starts with every endpoint healthy and probes again. Probes run on worker 0 only: one probe
// per endpoint per interval, however many workers there are.
//
// Threading: worker 0's lcore; the health flags are relaxed atomics read by every worker.
#pragma once

#include <cstdint>
#include <memory>

#include "../core/timer/timer_wheel.hh"
#include "../net/tcp/tcp_stack.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

class gateway;
class gateway_config;

struct health_probe : conn_base {
    gateway* gw = nullptr;
    gateway_config* cfg = nullptr;  // the generation whose endpoint this probes
    std::uint32_t cluster = 0, endpoint = 0;
    net::tcp::connection* c = nullptr;
    byte_chain in;
    std::optional<http::response_parser> rp;
    std::uint32_t fed = 0;
    std::uint32_t successes = 0, failures = 0;  // consecutive
    bool in_flight = false;
    core::timer_node interval;  // next probe
    core::timer_node deadline;  // this probe's timeout
};

class health_checker {
public:
    static constexpr std::uint32_t max_probes = 1024;  // endpoints probed by one dataplane
    explicit health_checker(gateway& gw);
    ~health_checker();
    // Worker 0, after switching to `cfg`: stops the probes of the previous generation and
    // starts one per endpoint of the clusters that enable health checks.
    void reconfigure(gateway_config* cfg) noexcept;
    void release() noexcept;

    // tcp_handler events of probe connections (gateway.cc dispatch).
    void on_established(health_probe& p) noexcept;
    void on_data(health_probe& p, const net::tcp::rx_view& v) noexcept;
    void on_closed(health_probe& p) noexcept;

    [[nodiscard]] std::uint64_t probes_sent() const noexcept { return sent_; }
    [[nodiscard]] std::uint64_t probes_failed() const noexcept { return failed_; }

private:
    void start(health_probe& p) noexcept;
    void finish(health_probe& p, bool ok) noexcept;
    static void on_interval(core::timer_wheel& w, core::timer_node& n, void* ctx);
    static void on_deadline(core::timer_wheel& w, core::timer_node& n, void* ctx);

    gateway& gw_;
    std::unique_ptr<health_probe[]> probes_;
    std::uint32_t used_ = 0;
    gateway_config* cfg_ = nullptr;
    std::uint64_t sent_ = 0, failed_ = 0;
};

}  // namespace sluice::dp::proxy
