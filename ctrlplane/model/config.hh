// The config schema as C++ value types: what an operator writes in YAML (docs/config.md), after
// parsing and before encoding into a shared-memory snapshot. Control-plane only; the dataplane
// sees these objects through snapshot_view. Defaults here are the documented defaults.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice::cp::model {

enum class protocol : std::uint8_t { http, tcp, binary };

struct filter {
    std::string name;  // one of the names in filter_registry (filters.hh)
    std::vector<std::pair<std::string, std::string>> settings;  // in file order
};

// Per-listener request limits. The http ones bound what the HTTP/1 codec buffers per request
// (defaults: nginx's large_client_header_buffers 8 KiB line; 64 KiB of headers; 100 headers as in
// Envoy's max_headers_count). max_frame_payload bounds one binary-protocol frame.
struct listener_limits {
    std::uint32_t max_request_line = 8192;
    std::uint32_t max_header_bytes = 65536;
    std::uint32_t max_headers = 100;            // at most 128 (the codec's fixed header table)
    std::uint32_t max_frame_payload = 1 << 20;  // at most 64 MiB
};

struct listener {
    std::string name;
    std::string address;  // IPv4 or IPv6 literal
    std::uint16_t port = 0;
    protocol proto = protocol::http;
    listener_limits limits;
    std::vector<filter> filters;  // run in order, before the route's filters
};

enum class host_match : std::uint8_t { any, exact, suffix };  // suffix: "*.example.com"
enum class path_match : std::uint8_t { any, exact, prefix, regex };
enum class header_op : std::uint8_t { present, exact, prefix, regex };

struct header_matcher {
    std::string name;  // lower-cased on load
    header_op op = header_op::present;
    std::string value;  // unused for present
};

struct route_match {
    host_match host_kind = host_match::any;
    std::string host;  // exact host, or the suffix including the dot (".example.com")
    path_match path_kind = path_match::any;
    std::string path;                       // exact path, prefix, or ECMAScript regex
    std::string method;                     // empty: any method
    std::vector<header_matcher> headers;    // all must match
    std::vector<std::string> client_cidrs;  // empty: any client; else one must contain it
    std::string listener;                   // empty: any listener; else the listener's name
    std::int32_t command = -1;              // binary frame command 0..255; -1: any
};

struct weighted_cluster {
    std::string cluster;
    std::uint32_t weight = 1;
};

// Bits of retry_policy::on.
enum retry_on : std::uint32_t {
    retry_5xx = 1u << 0,
    retry_gateway_error = 1u << 1,  // 502, 503, 504
    retry_connect_failure = 1u << 2,
    retry_reset = 1u << 3,
};

struct retry_policy {
    std::uint32_t attempts = 0;  // retries after the first try; 0 disables retries
    std::uint32_t on = retry_connect_failure | retry_reset;
    std::uint32_t per_try_timeout_ms = 0;  // 0: the route timeout covers all tries
};

struct route_action {
    // One entry for `cluster: x`; several for `weighted_clusters`.
    std::vector<weighted_cluster> clusters;
    bool weighted = false;         // written as weighted_clusters
    std::string prefix_rewrite;    // empty: no rewrite (only with a prefix path match)
    std::uint32_t timeout_ms = 0;  // 0: the cluster's request timeout
    // A request or response body that makes no progress this long ends the exchange (504 before
    // the response head, else both connections are closed). 0: the cluster's stream_idle.
    std::uint32_t stream_idle_ms = 0;
    retry_policy retry;
    std::vector<filter> filters;  // run in order
};

struct route {
    std::string name;
    route_match match;
    route_action action;
};

enum class lb_policy : std::uint8_t { round_robin, least_request, maglev };
enum class hash_key : std::uint8_t { none, client_ip, header };

struct endpoint {
    std::string address;
    std::uint16_t port = 0;
    std::uint32_t weight = 1;
};

struct pool_limits {
    std::uint32_t max_connections_per_endpoint = 1024;  // Envoy's default max_connections
    std::uint32_t max_idle_per_endpoint = 64;           // keeps a warm pool without hoarding fds
};

struct health_check {
    bool enabled = false;  // present in YAML: enabled
    std::string path = "/healthz";
    std::uint32_t interval_ms = 5'000;
    std::uint32_t timeout_ms = 1'000;
    std::uint32_t healthy_threshold = 2;
    std::uint32_t unhealthy_threshold = 3;
};

// Envoy's circuit breaker defaults: 1024 connections/pending/requests, 3 retries.
struct circuit_breakers {
    std::uint32_t max_connections = 1024;
    std::uint32_t max_pending_requests = 1024;
    std::uint32_t max_requests = 1024;
    std::uint32_t max_retries = 3;
};

// Envoy outlier detection defaults (consecutive_5xx 5, base_ejection_time 30 s, max 300 s,
// max_ejection_percent 10); successes_to_close is ours: successes in half-open before closing.
struct outlier_detection {
    std::uint32_t consecutive_failures = 5;
    std::uint32_t base_ejection_ms = 30'000;
    std::uint32_t max_ejection_ms = 300'000;
    std::uint32_t successes_to_close = 3;
    std::uint32_t max_ejection_percent = 10;
};

struct cluster {
    std::string name;
    lb_policy lb = lb_policy::round_robin;
    hash_key key = hash_key::none;  // maglev only
    std::string hash_header;        // key == header
    std::vector<endpoint> endpoints;
    pool_limits pool;
    std::uint32_t connect_timeout_ms = 5'000;
    std::uint32_t idle_timeout_ms = 3'600'000;
    std::uint32_t request_timeout_ms = 15'000;
    // Envoy's stream_idle_timeout default (5 min): long enough for slow uploads and trickling
    // downloads, short enough that a stalled peer does not hold a request slot for good.
    std::uint32_t stream_idle_ms = 300'000;
    health_check health;
    circuit_breakers breakers;
    outlier_detection outlier;
};

enum class limit_key : std::uint8_t { route, client_ip, header };
enum class limit_mode : std::uint8_t { enforce, shadow };

struct rate_limit {
    std::string name;
    double rate = 0;          // tokens per second, > 0
    std::uint64_t burst = 0;  // bucket size, >= 1; default max(1, ceil(rate))
    limit_key key = limit_key::client_ip;
    std::string key_header;  // key == header
    limit_mode mode = limit_mode::enforce;
};

struct config {
    std::vector<listener> listeners;
    std::vector<route> routes;  // ordered: first match wins
    std::vector<cluster> clusters;
    std::vector<rate_limit> rate_limits;
};

// Stable identity of a rate limit: equal while name and definition are equal, so the dataplane
// can carry bucket state across snapshots that leave the limit unchanged.
[[nodiscard]] std::uint64_t rate_limit_identity(const rate_limit& l) noexcept;

[[nodiscard]] std::string_view to_string(protocol p) noexcept;
[[nodiscard]] std::string_view to_string(lb_policy p) noexcept;

}  // namespace sluice::cp::model
