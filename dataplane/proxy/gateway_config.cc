// See gateway_config.hh. build() and the destructor run on the config builder thread.
#include "gateway_config.hh"

#include <fmt/format.h>

#include <cstring>

#include "request_ctx.hh"
#include "services.hh"

namespace sluice::dp::proxy {

namespace {

std::string owned(const cp::model::snapshot_view& v, cp::model::str_ref s) {
    return std::string(v.str(s));
}

result<std::vector<filter_ref>> build_filters(const cp::model::snapshot_view& v,
                                              std::span<const cp::model::snap_filter> fs,
                                              std::uint32_t arena_start, std::uint32_t& arena_end,
                                              gateway_services& svc, std::string_view where) {
    std::vector<filter_ref> out;
    std::uint32_t off = arena_start;
    for (const auto& f : fs) {
        filter_settings st;
        st.filter_name = owned(v, f.name);
        for (const auto& kv : v.settings(f)) {
            st.values.emplace_back(owned(v, kv.key), owned(v, kv.value));
        }
        // rate_limit names its limit; hand the factory the limit's definition too.
        if (f.rate_limit != cp::model::no_index && f.rate_limit < v.rate_limits().size()) {
            const auto& l = v.rate_limits()[f.rate_limit];
            st.values.emplace_back("@identity", std::to_string(l.identity));
            st.values.emplace_back("@rate_milli", std::to_string(l.rate_milli));
            st.values.emplace_back("@burst", std::to_string(l.burst));
            st.values.emplace_back("@key", std::to_string(l.key));
            st.values.emplace_back("@mode", std::to_string(l.mode));
            st.values.emplace_back("@key_header", owned(v, l.key_header));
        }
        const filter_factory* fac = nullptr;
        for (const auto& cand : builtin_filters()) {
            if (cand.name == st.filter_name) {
                fac = &cand;
            }
        }
        if (fac == nullptr) {
            return error{fmt::format("{}: filter '{}' is not built into this dataplane", where,
                                     st.filter_name)};
        }
        auto made = fac->make(st, svc);
        if (!made) {
            return error{fmt::format("{}: filter '{}': {}", where, st.filter_name,
                                     made.message())};
        }
        filter_ref r;
        r.filter = std::move(made).value();
        const std::uint32_t need = (r.filter->state_size() + 15u) & ~15u;
        r.state_off = off;
        off += need;
        if (off > request_ctx::filter_arena) {
            return error{fmt::format("{}: filters need {} bytes of per-request state (at most {})",
                                     where, off, request_ctx::filter_arena)};
        }
        out.push_back(std::move(r));
    }
    arena_end = off;
    return out;
}

}  // namespace

result<std::unique_ptr<gateway_config>> gateway_config::build(const cp::model::snapshot_view& v,
                                                              std::uint64_t generation,
                                                              unsigned workers,
                                                              gateway_services& svc) {
    std::unique_ptr<gateway_config> g(new gateway_config());
    g->generation = generation;
    g->workers_ = workers;
    g->svc_ = &svc;

    // Clusters first: routes refer to them by index.
    for (const auto& c : v.clusters()) {
        cluster_rt cr;
        cr.name = owned(v, c.name);
        filters::breaker_def bd;
        bd.name = cr.name;
        for (const auto& e : v.endpoints(c)) {
            if (e.addr.family != 4) {
                return error{fmt::format("cluster '{}': IPv6 endpoints are not supported by the "
                                         "dataplane yet (the TCP stack is IPv4)",
                                         cr.name)};
            }
            endpoint_rt er;
            std::memcpy(&er.addr, e.addr.bytes, 4);
            er.port = e.port;
            er.weight = e.weight == 0 ? 1 : e.weight;
            cr.endpoints.push_back(er);
            cr.weights.push_back(er.weight);
            bd.endpoints.push_back({er.addr, er.port});
        }
        if (cr.endpoints.size() > max_cluster_endpoints) {
            return error{fmt::format("cluster '{}': {} endpoints (at most {})", cr.name,
                                     cr.endpoints.size(), max_cluster_endpoints)};
        }
        cr.lb = c.lb;
        cr.hash_key = c.hash_key;
        cr.hash_header = owned(v, c.hash_header);
        cr.connect_timeout_ms = c.connect_timeout_ms;
        cr.idle_timeout_ms = c.idle_timeout_ms;
        cr.request_timeout_ms = c.request_timeout_ms;
        cr.stream_idle_ms = c.stream_idle_ms;
        cr.max_conns_per_endpoint = c.max_connections_per_endpoint;
        cr.max_idle_per_endpoint = c.max_idle_per_endpoint;
        cr.max_retries = c.cb_max_retries;
        cr.health_enabled = c.health_enabled != 0;
        cr.health_path = owned(v, c.health_path);
        cr.health_interval_ms = c.health_interval_ms;
        cr.health_timeout_ms = c.health_timeout_ms;
        cr.healthy_threshold = c.healthy_threshold;
        cr.unhealthy_threshold = c.unhealthy_threshold;
        cr.health = std::make_unique<std::atomic<std::uint8_t>[]>(cr.endpoints.size());
        for (std::size_t i = 0; i < cr.endpoints.size(); ++i) {
            cr.health[i].store(1, std::memory_order_relaxed);
        }
        if (cr.lb == static_cast<std::uint8_t>(cp::model::lb_policy::maglev)) {
            std::vector<cfg::maglev_endpoint> me;
            for (const auto& e : v.endpoints(c)) {
                me.push_back({cfg::endpoint_id(e), e.weight == 0 ? 1u : e.weight});
            }
            auto m = cfg::maglev_table::build(me);
            if (!m) {
                return error{fmt::format("cluster '{}': {}", cr.name, m.message())};
            }
            cr.maglev = std::make_unique<cfg::maglev_table>(std::move(m).value());
        }
        cr.lr = cfg::least_request(cr.weights);
        bd.max_connections = c.cb_max_connections;
        bd.max_pending_requests = c.cb_max_pending_requests;
        bd.max_requests = c.cb_max_requests;
        bd.max_retries = c.cb_max_retries;
        bd.consecutive_failures = c.od_consecutive_failures;
        bd.base_ejection_ms = c.od_base_ejection_ms;
        bd.max_ejection_ms = c.od_max_ejection_ms;
        bd.successes_to_close = c.od_successes_to_close;
        bd.max_ejection_percent = c.od_max_ejection_percent;
        cr.breaker = svc.breakers.acquire(bd);
        g->breakers_.push_back(cr.breaker);
        g->clusters.push_back(std::move(cr));
    }

    // Listeners: their filters' state comes first in the request arena.
    std::uint32_t listener_arena = 0;
    for (const auto& l : v.listeners()) {
        listener_rt lr;
        lr.name = owned(v, l.name);
        lr.port = l.port;
        lr.protocol = l.protocol;
        lr.max_request_line = l.max_request_line;
        lr.max_header_bytes = l.max_header_bytes;
        lr.max_headers = l.max_headers;
        lr.max_frame_payload = l.max_frame_payload;
        auto fs = build_filters(v, v.filters(l), 0, lr.arena_bytes, svc,
                                fmt::format("listener '{}'", lr.name));
        if (!fs) {
            return error{fs.message()};
        }
        lr.filters = std::move(fs).value();
        listener_arena = std::max(listener_arena, lr.arena_bytes);
        g->listeners.push_back(std::move(lr));
    }

    auto rt = cfg::route_table::build(v);
    if (!rt) {
        return error{rt.message()};
    }
    g->routes = std::move(rt).value();
    for (const auto& r : v.routes()) {
        route_rt rr;
        rr.name = owned(v, r.name);
        for (const auto& w : v.clusters(r)) {
            rr.clusters.push_back({w.cluster, w.weight});
            rr.total_weight += w.weight;
        }
        if (rr.clusters.empty()) {
            return error{fmt::format("route '{}': no cluster", rr.name)};
        }
        rr.prefix_match = r.path_kind == static_cast<std::uint8_t>(cp::model::path_match::prefix);
        rr.prefix = owned(v, r.path);
        rr.prefix_rewrite = owned(v, r.prefix_rewrite);
        rr.has_rewrite = rr.prefix_match && r.prefix_rewrite.len != 0;
        rr.timeout_ms = r.timeout_ms;
        rr.stream_idle_ms = r.stream_idle_ms;
        rr.retry_attempts = r.retry_attempts;
        rr.retry_on = r.retry_on;
        rr.per_try_timeout_ms = r.per_try_timeout_ms;
        auto fs = build_filters(v, v.filters(r), (listener_arena + 15u) & ~15u, rr.arena_bytes,
                                svc, fmt::format("route '{}'", rr.name));
        if (!fs) {
            return error{fs.message()};
        }
        rr.filters = std::move(fs).value();
        g->route_info.push_back(std::move(rr));
    }

    g->slots_ = std::make_unique<worker_slot[]>(workers);
    for (unsigned i = 0; i < workers; ++i) {
        auto& cs = g->slots_[i].clusters;
        cs.resize(g->clusters.size());
        for (std::size_t k = 0; k < g->clusters.size(); ++k) {
            cs[k].wrr = cfg::smooth_wrr(g->clusters[k].weights);
            cs[k].active.assign(g->clusters[k].endpoints.size(), 0);
        }
    }
    return g;
}

bool gateway_config::unreferenced() const noexcept {
    for (unsigned i = 0; i < workers_; ++i) {
        if (slots_[i].refs.load(std::memory_order_acquire) != 0) {
            return false;
        }
    }
    return true;
}

gateway_config::~gateway_config() {
    // Filters release their limiters in their destructors (route_info/listeners members).
    route_info.clear();
    listeners.clear();
    if (svc_ != nullptr) {
        for (auto* b : breakers_) {
            svc_->breakers.release(b);
        }
    }
}

}  // namespace sluice::dp::proxy
