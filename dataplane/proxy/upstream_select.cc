// See upstream_select.hh. Runs on the worker lcore that owns the request.
#include "upstream_select.hh"

#include "../filters/breaker/breaker.hh"
#include "../filters/ratelimit/ratelimit.hh"
#include "gateway.hh"
#include "gateway_config.hh"

namespace sluice::dp::proxy {

namespace {

std::string_view header_of(const void* ctx, std::string_view lower_name) noexcept {
    return static_cast<const request*>(ctx)->header(lower_name);
}

// Endpoints the outlier detector lets through now, as a bitmap for the balancers.
std::uint32_t healthy_mask(gateway& gw, const cluster_rt& c, bool* healthy) noexcept {
    const std::uint64_t now = gw.now_ns();
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < c.endpoints.size(); ++i) {
        // Active health first: an endpoint the checker marked down is skipped without taking
        // a half-open probe slot from the outlier detector.
        healthy[i] = c.health[i].load(std::memory_order_relaxed) != 0 &&
                     (c.breaker == nullptr || c.breaker->allow(static_cast<std::uint32_t>(i), now));
        n += healthy[i] ? 1 : 0;
    }
    return n;
}

}  // namespace

std::uint32_t match_route(const http_session& s, request& r) noexcept {
    (void)s;
    cfg::request_key k;
    k.listener = r.cfg->listener_index(*r.listener());
    k.host = r.host();
    k.path = r.path();
    k.method = r.method_name();
    k.hdr_ctx = &r;
    k.header = &header_of;
    k.client_addr = reinterpret_cast<const std::uint8_t*>(&r.client_addr_ref());
    k.client_family = 4;
    return r.cfg->routes.match(k);
}

std::uint32_t pick_cluster(gateway& gw, const route_rt& rt) noexcept {
    if (rt.clusters.size() == 1 || rt.total_weight == 0) {
        return rt.clusters.front().cluster;
    }
    std::uint64_t x = gw.next_random() % rt.total_weight;
    for (const auto& w : rt.clusters) {
        if (x < w.weight) {
            return w.cluster;
        }
        x -= w.weight;
    }
    return rt.clusters.back().cluster;
}

bool pick_endpoint_for(gateway& gw, gateway_config& cfg, std::uint32_t cl, std::uint64_t hash,
                       std::uint32_t& ep) noexcept {
    const cluster_rt& c = cfg.clusters[cl];
    const std::size_t n = c.endpoints.size();
    if (n == 0 || n > max_cluster_endpoints) {
        return false;
    }
    bool healthy[max_cluster_endpoints];
    if (healthy_mask(gw, c, healthy) == 0) {
        return false;
    }
    cluster_lcore_state& ls = cfg.slot(gw.index()).clusters[cl];
    const std::span<const bool> h{healthy, n};
    std::uint32_t pick = cfg::no_endpoint;
    switch (static_cast<cp::model::lb_policy>(c.lb)) {
        case cp::model::lb_policy::round_robin:
            pick = ls.wrr.pick(h);
            break;
        case cp::model::lb_policy::least_request: {
            cfg::xorshift64s rng{gw.next_random()};
            pick = c.lr.pick(ls.active, rng, h);
            break;
        }
        case cp::model::lb_policy::maglev:
            pick = c.maglev != nullptr ? c.maglev->pick(hash, h) : cfg::no_endpoint;
            break;
    }
    if (pick == cfg::no_endpoint) {
        return false;
    }
    ep = pick;
    return true;
}

bool pick_endpoint(gateway& gw, request& r, std::uint32_t& ep) noexcept {
    const cluster_rt& c = *r.cluster();
    if (!r.acquired_request && c.breaker != nullptr &&
        r.cfg->route_info.size() != 0) {
        // Breaker concurrency caps are enforced by the `breaker` filter; here only the
        // endpoint choice.
    }
    std::uint64_t hash = 0;
    if (c.lb == static_cast<std::uint8_t>(cp::model::lb_policy::maglev)) {
        if (c.hash_key == static_cast<std::uint8_t>(cp::model::hash_key::header)) {
            const auto v = r.header(c.hash_header);
            hash = v.data() != nullptr ? filters::key_hash_bytes(v) : gw.next_random();
        } else {
            hash = filters::key_hash_ipv4(r.client_addr());
        }
    }
    if (!pick_endpoint_for(gw, *r.cfg, r.cluster_index(), hash, ep)) {
        return false;
    }
    auto& active = r.cfg->slot(gw.index()).clusters[r.cluster_index()].active;
    if (ep < active.size()) {
        ++active[ep];
        r.counted_active = true;
    }
    return true;
}

void report_endpoint(gateway& gw, request& r, bool success) noexcept {
    const cluster_rt* c = r.cluster();
    if (c == nullptr || c->breaker == nullptr) {
        return;
    }
    if (success) {
        c->breaker->on_success(r.endpoint_idx, gw.now_ns());
    } else {
        c->breaker->on_failure(r.endpoint_idx, gw.now_ns());
    }
}

void end_try(gateway& gw, request& r) noexcept {
    if (r.counted_active && r.cfg != nullptr) {
        auto& active = r.cfg->slot(gw.index()).clusters[r.cluster_index()].active;
        if (r.endpoint_idx < active.size() && active[r.endpoint_idx] > 0) {
            --active[r.endpoint_idx];
        }
    }
    r.counted_active = false;
}

bool try_retry_budget(gateway& gw, request& r) noexcept {
    (void)gw;
    const cluster_rt* c = r.cluster();
    if (c == nullptr || c->breaker == nullptr) {
        return true;
    }
    if (!c->breaker->try_acquire(filters::cb_kind::retries)) {
        return false;
    }
    // A retry holds its budget only while it is being scheduled: Envoy counts active retries;
    // ours are short (backoff then a new try), so release at once and rely on the cap.
    c->breaker->release(filters::cb_kind::retries);
    return true;
}

void release_request_slot(gateway& gw, request& r) noexcept {
    (void)gw;
    if (r.acquired_request && r.cluster() != nullptr && r.cluster()->breaker != nullptr) {
        r.cluster()->breaker->release(filters::cb_kind::requests);
    }
    r.acquired_request = false;
}

}  // namespace sluice::dp::proxy
