// See health_check.hh. Runs on worker 0's lcore.
#include "health_check.hh"

#include <cstdio>

#include "gateway.hh"
#include "gateway_config.hh"
#include "services.hh"

namespace sluice::dp::proxy {

health_checker::health_checker(gateway& gw)
    : gw_(gw), probes_(std::make_unique<health_probe[]>(max_probes)) {}

health_checker::~health_checker() { release(); }

void health_checker::release() noexcept {
    for (std::uint32_t i = 0; i < used_; ++i) {
        health_probe& p = probes_[i];
        gw_.timers().cancel(p.interval);
        gw_.timers().cancel(p.deadline);
        p.in.clear();
        if (p.c != nullptr) {
            p.c->user = nullptr;
            p.c = nullptr;  // the stack frees its connections itself at shutdown
        }
        p.in_flight = false;
    }
    used_ = 0;
}

void health_checker::reconfigure(gateway_config* cfg) noexcept {
    // Stop the old generation's probes (aborting connections in flight).
    for (std::uint32_t i = 0; i < used_; ++i) {
        health_probe& p = probes_[i];
        gw_.timers().cancel(p.interval);
        gw_.timers().cancel(p.deadline);
        p.in.clear();
        p.rp.reset();
        if (p.c != nullptr) {
            p.c->user = nullptr;
            gw_.tcp().abort(*p.c);
            p.c = nullptr;
        }
        p.in_flight = false;
    }
    used_ = 0;
    cfg_ = cfg;
    for (std::uint32_t ci = 0; ci < cfg->clusters.size(); ++ci) {
        const cluster_rt& c = cfg->clusters[ci];
        if (!c.health_enabled) {
            continue;
        }
        for (std::uint32_t ei = 0; ei < c.endpoints.size() && used_ < max_probes; ++ei) {
            health_probe& p = probes_[used_++];
            p.kind = conn_kind::health;
            p.gw = &gw_;
            p.cfg = cfg;
            p.cluster = ci;
            p.endpoint = ei;
            p.successes = p.failures = 0;
            // Spread the first probes over the interval instead of a burst at each switch.
            const std::uint32_t first = 1 + static_cast<std::uint32_t>(
                                                gw_.next_random() % std::max(1u, c.health_interval_ms));
            gw_.timers().arm_after(p.interval, first, &on_interval, &p);
        }
    }
}

void health_checker::on_interval(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)w, (void)n;
    auto* p = static_cast<health_probe*>(ctx);
    p->gw->health().start(*p);
}

void health_checker::on_deadline(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)w, (void)n;
    auto* p = static_cast<health_probe*>(ctx);
    p->gw->health().finish(*p, false);
}

void health_checker::start(health_probe& p) noexcept {
    const cluster_rt& c = p.cfg->clusters[p.cluster];
    gw_.timers().arm_after(p.interval, c.health_interval_ms, &on_interval, &p);
    if (p.in_flight) {
        return;  // the previous probe is still running (its deadline ends it)
    }
    const endpoint_rt& e = c.endpoints[p.endpoint];
    p.in.clear();
    p.fed = 0;
    p.rp.emplace(http::limits{});
    p.rp->reset(false);
    p.c = gw_.tcp().connect(gw_.services().egress_port(gw_.index(), e.addr), e.addr, e.port,
                            &gw_, &p, c.health_timeout_ms);
    ++sent_;
    if (p.c == nullptr) {
        finish(p, false);
        return;
    }
    p.in_flight = true;
    gw_.timers().arm_after(p.deadline, c.health_timeout_ms, &on_deadline, &p);
}

void health_checker::on_established(health_probe& p) noexcept {
    const cluster_rt& c = p.cfg->clusters[p.cluster];
    const endpoint_rt& e = c.endpoints[p.endpoint];
    char req[512];
    const auto* a = reinterpret_cast<const std::uint8_t*>(&e.addr);
    const int n = std::snprintf(req, sizeof(req),
                                "GET %s HTTP/1.1\r\nHost: %u.%u.%u.%u:%u\r\nUser-Agent: "
                                "sluice-health-check\r\nConnection: close\r\n\r\n",
                                c.health_path.c_str(), a[0], a[1], a[2], a[3], e.port);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof(req) ||
        gw_.tcp().send(*p.c, req, static_cast<std::uint32_t>(n)) != static_cast<std::uint32_t>(n)) {
        finish(p, false);
    }
}

void health_checker::on_data(health_probe& p, const net::tcp::rx_view& v) noexcept {
    if (!p.in.append(v.m, v.off, v.len, gw_.pool())) {
        finish(p, false);
        return;
    }
    using pst = http::response_parser::state;
    p.in.for_each_run(p.fed, [&](const char* d, std::uint32_t n) {
        const std::uint32_t k = p.rp->feed_head(d, n);
        p.fed += k;
        return p.rp->head_state() == pst::need_more && k == n;
    });
    if (p.rp->head_state() == pst::need_more) {
        return;
    }
    const bool ok = p.rp->head_state() == pst::done && p.rp->head().status >= 200 &&
                    p.rp->head().status < 400;
    finish(p, ok);
}

void health_checker::on_closed(health_probe& p) noexcept {
    p.c = nullptr;  // the stack already freed it
    if (p.in_flight) {
        finish(p, false);  // refused, reset or timed out before a status line
    }
}

void health_checker::finish(health_probe& p, bool ok) noexcept {
    gw_.timers().cancel(p.deadline);
    if (p.c != nullptr) {
        p.c->user = nullptr;
        gw_.tcp().abort(*p.c);  // Connection: close anyway; no TIME_WAIT on our side
        p.c = nullptr;
    }
    p.in.clear();
    p.in_flight = false;
    cluster_rt& c = p.cfg->clusters[p.cluster];
    auto& flag = c.health[p.endpoint];
    if (ok) {
        p.failures = 0;
        if (++p.successes >= c.healthy_threshold) {
            flag.store(1, std::memory_order_relaxed);
        }
    } else {
        ++failed_;
        p.successes = 0;
        if (++p.failures >= c.unhealthy_threshold) {
            flag.store(0, std::memory_order_relaxed);
        }
    }
}

}  // namespace sluice::dp::proxy
