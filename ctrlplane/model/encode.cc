// Config → flat snapshot bytes (control plane). Strings are pooled and deduplicated; tables are
// laid out in table_id order, each 8-byte aligned, followed by the string pool.
#include "ctrlplane/model/encode.hh"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "ctrlplane/model/address.hh"
#include "ctrlplane/model/filters.hh"
#include "ctrlplane/model/snapshot_format.hh"
#include "ctrlplane/shm/contract.hh"

namespace sluice::cp::model {
namespace {

class encoder {
public:
    result<std::vector<std::byte>> run(const config& c);

private:
    str_ref str(const std::string& s) {
        if (auto it = pool_index_.find(s); it != pool_index_.end()) {
            return it->second;
        }
        str_ref r{static_cast<std::uint32_t>(pool_.size()), static_cast<std::uint32_t>(s.size())};
        pool_ += s;
        pool_index_.emplace(s, r);
        return r;
    }
    static snap_addr addr(const ip_address& a, std::uint8_t prefix = 0) {
        snap_addr s{};
        std::memcpy(s.bytes, a.bytes.data(), 16);
        s.family = a.v6 ? 6 : 4;
        s.prefix_len = prefix;
        return s;
    }
    template <typename T>
    static index_range range_of(const std::vector<T>& v, std::size_t first) {
        return {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(v.size() - first)};
    }

    // Appends `fs` to the filters table (and their settings); the range they occupy.
    result<index_range> filters(const std::vector<filter>& fs,
                                const std::unordered_map<std::string, std::uint32_t>& limit_idx,
                                std::string_view owner_kind, const std::string& owner) {
        std::size_t first = filters_.size();
        for (const auto& f : fs) {
            const filter_spec* spec = find_filter(f.name);
            if (spec == nullptr) {
                return error{
                    fmt::format("{} '{}': unknown filter '{}'", owner_kind, owner, f.name)};
            }
            snap_filter sf{};
            sf.name = str(f.name);
            sf.kind = static_cast<std::uint16_t>(spec->kind);
            sf.rate_limit = no_index;
            std::size_t sfirst = settings_.size();
            for (const auto& [k, v] : f.settings) {
                settings_.push_back(snap_setting{str(k), str(v)});
                if (spec->kind == filter_kind::rate_limit && k == "limit") {
                    auto it = limit_idx.find(v);
                    if (it == limit_idx.end()) {
                        return error{
                            fmt::format("{} '{}': unknown rate limit '{}'", owner_kind, owner, v)};
                    }
                    sf.rate_limit = it->second;
                }
            }
            sf.settings = range_of(settings_, sfirst);
            filters_.push_back(sf);
        }
        return range_of(filters_, first);
    }

    std::string pool_;
    std::unordered_map<std::string, str_ref> pool_index_;
    std::vector<snap_listener> listeners_;
    std::vector<snap_route> routes_;
    std::vector<snap_header_matcher> headers_;
    std::vector<snap_addr> cidrs_;
    std::vector<snap_weighted_cluster> weighted_;
    std::vector<snap_filter> filters_;
    std::vector<snap_setting> settings_;
    std::vector<snap_cluster> clusters_;
    std::vector<snap_endpoint> endpoints_;
    std::vector<snap_rate_limit> limits_;
};

result<std::vector<std::byte>> encoder::run(const config& c) {
    std::unordered_map<std::string, std::uint32_t> cluster_idx, limit_idx;
    for (const auto& cl : c.clusters) {
        cluster_idx.emplace(cl.name, static_cast<std::uint32_t>(clusters_.size()));
        snap_cluster s{};
        s.name = str(cl.name);
        s.hash_header = str(cl.hash_header);
        std::size_t first = endpoints_.size();
        std::uint32_t total = 0;
        for (const auto& e : cl.endpoints) {
            auto a = parse_ip(e.address);
            if (!a) {
                return error{fmt::format("cluster '{}': endpoint address '{}' does not parse",
                                         cl.name, e.address)};
            }
            endpoints_.push_back(snap_endpoint{addr(*a), e.port, 0, e.weight});
            total += e.weight;
        }
        s.endpoints = range_of(endpoints_, first);
        s.lb = static_cast<std::uint8_t>(cl.lb);
        s.hash_key = static_cast<std::uint8_t>(cl.key);
        s.health_enabled = cl.health.enabled ? 1 : 0;
        s.connect_timeout_ms = cl.connect_timeout_ms;
        s.idle_timeout_ms = cl.idle_timeout_ms;
        s.request_timeout_ms = cl.request_timeout_ms;
        s.stream_idle_ms = cl.stream_idle_ms;
        s.max_connections_per_endpoint = cl.pool.max_connections_per_endpoint;
        s.max_idle_per_endpoint = cl.pool.max_idle_per_endpoint;
        s.health_path = str(cl.health.path);
        s.health_interval_ms = cl.health.interval_ms;
        s.health_timeout_ms = cl.health.timeout_ms;
        s.healthy_threshold = cl.health.healthy_threshold;
        s.unhealthy_threshold = cl.health.unhealthy_threshold;
        s.cb_max_connections = cl.breakers.max_connections;
        s.cb_max_pending_requests = cl.breakers.max_pending_requests;
        s.cb_max_requests = cl.breakers.max_requests;
        s.cb_max_retries = cl.breakers.max_retries;
        s.od_consecutive_failures = cl.outlier.consecutive_failures;
        s.od_base_ejection_ms = cl.outlier.base_ejection_ms;
        s.od_max_ejection_ms = cl.outlier.max_ejection_ms;
        s.od_successes_to_close = cl.outlier.successes_to_close;
        s.od_max_ejection_percent = cl.outlier.max_ejection_percent;
        s.total_weight = total;
        clusters_.push_back(s);
    }
    for (const auto& l : c.rate_limits) {
        limit_idx.emplace(l.name, static_cast<std::uint32_t>(limits_.size()));
        snap_rate_limit s{};
        s.identity = rate_limit_identity(l);
        s.name = str(l.name);
        s.key_header = str(l.key_header);
        s.rate_milli = static_cast<std::uint64_t>(std::llround(l.rate * 1000.0));
        s.burst = l.burst;
        s.key = static_cast<std::uint8_t>(l.key);
        s.mode = static_cast<std::uint8_t>(l.mode);
        limits_.push_back(s);
    }
    std::unordered_map<std::string, std::uint32_t> listener_idx;
    for (const auto& l : c.listeners) {
        auto a = parse_ip(l.address);
        if (!a) {
            return error{
                fmt::format("listener '{}': address '{}' does not parse (config not "
                            "validated?)",
                            l.name, l.address)};
        }
        listener_idx.emplace(l.name, static_cast<std::uint32_t>(listeners_.size()));
        snap_listener s{};
        s.name = str(l.name);
        s.addr = addr(*a);
        s.port = l.port;
        s.protocol = static_cast<std::uint8_t>(l.proto);
        auto fr = filters(l.filters, limit_idx, "listener", l.name);
        if (!fr) {
            return fr.err();
        }
        s.filters = *fr;
        s.max_request_line = l.limits.max_request_line;
        s.max_header_bytes = l.limits.max_header_bytes;
        s.max_headers = l.limits.max_headers;
        s.max_frame_payload = l.limits.max_frame_payload;
        listeners_.push_back(s);
    }
    for (const auto& r : c.routes) {
        snap_route s{};
        s.name = str(r.name);
        s.host = str(r.match.host);
        s.path = str(r.match.path);
        s.method = str(r.match.method);
        s.prefix_rewrite = str(r.action.prefix_rewrite);
        s.host_kind = static_cast<std::uint8_t>(r.match.host_kind);
        s.path_kind = static_cast<std::uint8_t>(r.match.path_kind);
        s.weighted = r.action.weighted ? 1 : 0;
        s.timeout_ms = r.action.timeout_ms;
        s.stream_idle_ms = r.action.stream_idle_ms;
        std::size_t first = headers_.size();
        for (const auto& h : r.match.headers) {
            headers_.push_back(snap_header_matcher{
                str(h.name), str(h.value), static_cast<std::uint8_t>(h.op), {}});
        }
        s.headers = range_of(headers_, first);
        first = cidrs_.size();
        for (const auto& cs : r.match.client_cidrs) {
            auto ci = parse_cidr(cs);
            if (!ci) {
                return error{fmt::format("route '{}': CIDR '{}' does not parse", r.name, cs)};
            }
            cidrs_.push_back(addr(ci->base, ci->prefix_len));
        }
        s.cidrs = range_of(cidrs_, first);
        first = weighted_.size();
        for (const auto& w : r.action.clusters) {
            auto it = cluster_idx.find(w.cluster);
            if (it == cluster_idx.end()) {
                return error{fmt::format("route '{}': unknown cluster '{}'", r.name, w.cluster)};
            }
            weighted_.push_back(snap_weighted_cluster{it->second, w.weight});
            s.total_weight += w.weight;
        }
        s.clusters = range_of(weighted_, first);
        auto fr = filters(r.action.filters, limit_idx, "route", r.name);
        if (!fr) {
            return fr.err();
        }
        s.filters = *fr;
        s.listener = no_index;
        if (!r.match.listener.empty()) {
            auto it = listener_idx.find(r.match.listener);
            if (it == listener_idx.end()) {
                return error{
                    fmt::format("route '{}': unknown listener '{}'", r.name, r.match.listener)};
            }
            s.listener = it->second;
        }
        s.command = r.match.command >= 0 && r.match.command <= 255
                        ? static_cast<std::uint16_t>(r.match.command)
                        : no_command;
        s.retry_attempts = r.action.retry.attempts;
        s.retry_on = r.action.retry.on;
        s.per_try_timeout_ms = r.action.retry.per_try_timeout_ms;
        routes_.push_back(s);
    }

    std::vector<std::byte> out(sizeof(snapshot_header));
    snapshot_header h{};
    h.magic = snapshot_magic;
    h.format_version = snapshot_format_version;
    h.table_count = table_slots;
    auto place = [&](table_id id, const void* data, std::size_t bytes, std::size_t count) {
        out.resize((out.size() + 7) / 8 * 8);
        h.tables[static_cast<std::uint32_t>(id)] = {static_cast<std::uint32_t>(out.size()),
                                                    static_cast<std::uint32_t>(count)};
        std::size_t at = out.size();
        out.resize(at + bytes);
        if (bytes != 0) {
            std::memcpy(out.data() + at, data, bytes);
        }
    };
    auto put = [&](table_id id, const auto& v) {
        place(id, v.data(), v.size() * sizeof(v[0]), v.size());
    };
    put(table_id::listeners, listeners_);
    put(table_id::routes, routes_);
    put(table_id::header_matchers, headers_);
    put(table_id::cidrs, cidrs_);
    put(table_id::weighted_clusters, weighted_);
    put(table_id::filters, filters_);
    put(table_id::settings, settings_);
    put(table_id::clusters, clusters_);
    put(table_id::endpoints, endpoints_);
    put(table_id::rate_limits, limits_);
    place(table_id::strings, pool_.data(), pool_.size(), pool_.size());
    if (out.size() > std::numeric_limits<std::uint32_t>::max()) {
        return error{
            fmt::format("encoded snapshot is {} bytes; the format allows 4 GiB", out.size())};
    }
    h.total_size = static_cast<std::uint32_t>(out.size());
    h.content_hash = shm::fnv1a64(out.data() + sizeof h, out.size() - sizeof h);
    std::memcpy(out.data(), &h, sizeof h);
    return out;
}

}  // namespace

result<std::vector<std::byte>> encode(const config& c) { return encoder().run(c); }

}  // namespace sluice::cp::model
