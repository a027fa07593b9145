// Validation table: each broken config is rejected with its own message at its own field path
// (and line where the case pins it). Also: all errors are collected in one pass.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "ctrlplane/model/loader.hh"

namespace sluice::cp::model {
namespace {

// A cluster and rate limit that cases may refer to.
const std::string base = R"(clusters:
  - name: c
    endpoints: [ { address: 10.0.0.1, port: 80 } ]
rate_limits:
  - { name: lim, rate: 10 }
)";

std::string route_with(const std::string& body) { return base + "routes:\n  - name: r\n" + body; }
// Listeners named in cases: web (http), raw (binary), pg (tcp).
std::string with_listeners(const std::string& rest) {
    return "listeners:\n  - { name: web, address: 0.0.0.0, port: 80 }\n"
           "  - { name: raw, address: 0.0.0.0, port: 81, protocol: binary }\n"
           "  - { name: pg, address: 0.0.0.0, port: 82, protocol: tcp }\n" +
           rest;
}
std::string route_filter(const std::string& filter_flow) {
    return route_with("    action:\n      cluster: c\n      filters:\n        - " + filter_flow +
                      "\n");
}
std::string cluster_with(const std::string& body) {
    return "clusters:\n  - name: x\n    endpoints: [ { address: 10.0.0.1, port: 80 } ]\n" + body;
}

struct broken_case {
    const char* name;
    std::string yaml;
    std::string path;
    std::string message;  // a substring the message must contain
    int line = 0;         // 0: only require that some line is given
};

const broken_case cases[] = {
    {"unknown_top_level_field", "listners: []\n", "listners",
     "unknown field 'listners' (expected one of: listeners, routes, clusters, rate_limits)", 1},
    {"unknown_listener_field", "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, extra: 1 }\n",
     "listeners[0].extra",
     "unknown field 'extra' (expected one of: name, address, port, protocol, limits, filters)", 2},
    {"port_out_of_range", "listeners:\n  - name: a\n    address: 1.2.3.4\n    port: 70000\n",
     "listeners[0].port", "expected an integer in 1..65535, got '70000'", 4},
    {"port_zero", "listeners:\n  - { name: a, address: 1.2.3.4, port: 0 }\n", "listeners[0].port",
     "expected an integer in 1..65535, got '0'"},
    {"port_not_a_number", "listeners:\n  - { name: a, address: 1.2.3.4, port: seventy }\n",
     "listeners[0].port", "expected an integer in 1..65535, got 'seventy'"},
    {"port_is_a_list", "listeners:\n  - { name: a, address: 1.2.3.4, port: [1] }\n",
     "listeners[0].port", "expected an integer in 1..65535, got a list"},
    {"bad_listener_address", "listeners:\n  - name: a\n    address: 300.1.1.1\n    port: 80\n",
     "listeners[0].address", "expected an IPv4 or IPv6 address, got '300.1.1.1'", 3},
    {"unknown_protocol", "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, protocol: udp }\n",
     "listeners[0].protocol", "expected one of http, tcp, binary, got 'udp'"},
    {"missing_port", "listeners:\n  - { name: a, address: 1.2.3.4 }\n", "listeners[0].port",
     "missing required field 'port'", 2},
    {"duplicate_listener_name",
     "listeners:\n  - { name: web, address: 1.2.3.4, port: 1 }\n"
     "  - { name: web, address: 1.2.3.4, port: 2 }\n",
     "listeners[1].name", "duplicate listener name 'web' (first used by listeners[0])", 3},
    {"duplicate_listener_bind",
     "listeners:\n  - { name: a, address: 0.0.0.0, port: 80 }\n"
     "  - { name: b, address: 0.0.0.0, port: 80 }\n",
     "listeners[1].port", "0.0.0.0:80 is already used by listener 'a'"},
    {"listeners_not_a_list", "listeners: { name: a }\n", "listeners",
     "expected a list, got a mapping"},
    {"empty_name", "listeners:\n  - { name: '', address: 1.2.3.4, port: 1 }\n", "listeners[0].name",
     "name must not be empty"},
    {"empty_endpoint_list", "clusters:\n  - name: c\n    endpoints: []\n", "clusters[0].endpoints",
     "a cluster needs at least one endpoint", 3},
    {"endpoint_weight_zero",
     "clusters:\n  - name: c\n    endpoints: [ { address: 10.0.0.1, port: 80, weight: 0 } ]\n",
     "clusters[0].endpoints[0].weight", "weight must be at least 1"},
    {"bad_endpoint_address",
     "clusters:\n  - name: c\n    endpoints: [ { address: 10.0.0, port: 80 } ]\n",
     "clusters[0].endpoints[0].address", "expected an IPv4 or IPv6 address, got '10.0.0'"},
    {"missing_endpoints", "clusters:\n  - name: c\n", "clusters[0].endpoints",
     "missing required field 'endpoints'"},
    {"unknown_lb_policy", cluster_with("    lb_policy: random\n"), "clusters[0].lb_policy",
     "expected one of round_robin, least_request, maglev, got 'random'", 4},
    {"hash_key_without_maglev", cluster_with("    hash_key: client_ip\n"), "clusters[0].hash_key",
     "hash_key needs lb_policy maglev (this cluster uses round_robin)"},
    {"maglev_without_hash_key", cluster_with("    lb_policy: maglev\n"), "clusters[0].lb_policy",
     "lb_policy maglev needs hash_key (client_ip or header:<name>)"},
    {"bad_hash_key", cluster_with("    lb_policy: maglev\n    hash_key: cookie:x\n"),
     "clusters[0].hash_key", "expected client_ip or header:<name>, got 'cookie:x'"},
    {"bad_duration", cluster_with("    timeouts: { connect: 5 seconds }\n"),
     "clusters[0].timeouts.connect",
     "expected a duration such as 250ms, 5s, 2m or 1h, got '5 seconds'"},
    {"zero_duration", cluster_with("    timeouts: { request: 0s }\n"),
     "clusters[0].timeouts.request", "duration must be greater than 0"},
    {"zero_stream_idle", cluster_with("    timeouts: { stream_idle: 0ms }\n"),
     "clusters[0].timeouts.stream_idle", "duration must be greater than 0"},
    {"unknown_timeout_field", cluster_with("    timeouts: { stream: 5s }\n"),
     "clusters[0].timeouts.stream",
     "unknown field 'stream' (expected one of: connect, idle, request, stream_idle)"},
    {"bad_route_stream_idle", route_with("    action: { cluster: c, stream_idle: soon }\n"),
     "routes[0].action.stream_idle",
     "expected a duration such as 250ms, 5s, 2m or 1h, got 'soon'"},
    {"health_timeout_not_below_interval",
     cluster_with("    health_check: { interval: 1s, timeout: 2s }\n"),
     "clusters[0].health_check.timeout",
     "timeout (2000 ms) must be greater than 0 and shorter than interval (1000 ms)"},
    {"max_ejection_below_base",
     cluster_with("    outlier_detection: { base_ejection_time: 1m, max_ejection_time: 30s }\n"),
     "clusters[0].outlier_detection.max_ejection_time",
     "max_ejection_time (30000 ms) must not be shorter than base_ejection_time (60000 ms)"},
    {"ejection_percent_out_of_range",
     cluster_with("    outlier_detection: { max_ejection_percent: 150 }\n"),
     "clusters[0].outlier_detection.max_ejection_percent",
     "expected an integer in 0..100, got '150'"},
    {"unknown_breaker_field", cluster_with("    circuit_breakers: { max_conns: 5 }\n"),
     "clusters[0].circuit_breakers.max_conns", "unknown field 'max_conns'"},
    {"route_to_missing_cluster", route_with("    action: { cluster: nope }\n"),
     "routes[0].action.cluster",
     "unknown cluster 'nope' (expected the name of an entry under clusters)", 8},
    {"weighted_to_missing_cluster",
     route_with("    action:\n      weighted_clusters:\n        - { cluster: c, weight: 1 }\n"
                "        - { cluster: d, weight: 1 }\n"),
     "routes[0].action.weighted_clusters[1].cluster", "unknown cluster 'd'", 11},
    {"weighted_weight_zero",
     route_with("    action:\n      weighted_clusters: [ { cluster: c, weight: 0 } ]\n"),
     "routes[0].action.weighted_clusters[0].weight", "weight must be at least 1"},
    {"cluster_and_weighted",
     route_with("    action:\n      cluster: c\n      weighted_clusters: [ { cluster: c, "
                "weight: 1 } ]\n"),
     "routes[0].action", "expected exactly one of cluster or weighted_clusters"},
    {"missing_action", route_with(""), "routes[0].action", "missing required field 'action'"},
    {"bad_path_regex",
     route_with("    match: { path: { regex: '([a-z' } }\n    action: { cluster: c }\n"),
     "routes[0].match.path.regex", "invalid regex '([a-z'"},
    {"bad_header_regex",
     route_with("    match:\n      headers: [ { name: x-a, regex: '*x' } ]\n"
                "    action: { cluster: c }\n"),
     "routes[0].match.headers[0].regex", "invalid regex '*x'"},
    {"path_without_slash",
     route_with("    match: { path: { prefix: api } }\n    action: { cluster: c }\n"),
     "routes[0].match.path.prefix", "expected a path starting with '/', got 'api'"},
    {"two_path_kinds",
     route_with("    match: { path: { prefix: /a, exact: /b } }\n    action: { cluster: c }\n"),
     "routes[0].match.path", "expected exactly one of exact, prefix or regex"},
    {"bad_host_wildcard",
     route_with("    match: { host: 'api.*.com' }\n    action: { cluster: c }\n"),
     "routes[0].match.host",
     "expected a host name or a leading wildcard such as *.example.com, got 'api.*.com'"},
    {"bad_method", route_with("    match: { method: FETCH }\n    action: { cluster: c }\n"),
     "routes[0].match.method",
     "expected an HTTP method (GET, HEAD, POST, PUT, DELETE, CONNECT, "
     "OPTIONS, TRACE, PATCH), got 'FETCH'"},
    {"cidr_prefix_too_long",
     route_with("    match: { client_cidrs: [ 10.0.0.0/33 ] }\n    action: { cluster: c }\n"),
     "routes[0].match.client_cidrs[0]",
     "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got '10.0.0.0/33'"},
    {"cidr_bad_address",
     route_with("    match: { client_cidrs: [ 10.0.0.0/8, 10.0.0/8 ] }\n"
                "    action: { cluster: c }\n"),
     "routes[0].match.client_cidrs[1]", "got '10.0.0/8'"},
    {"header_two_ops",
     route_with("    match:\n      headers: [ { name: x-a, exact: a, prefix: b } ]\n"
                "    action: { cluster: c }\n"),
     "routes[0].match.headers[0]", "expected exactly one of exact, prefix, regex or present"},
    {"bad_header_name",
     route_with("    match:\n      headers: [ { name: 'X Env', exact: a } ]\n"
                "    action: { cluster: c }\n"),
     "routes[0].match.headers[0].name", "'x env' is not a valid header name"},
    {"unknown_filter",
     route_with("    action:\n      cluster: c\n      filters: [ { name: gzip } ]\n"),
     "routes[0].action.filters[0].name",
     "unknown filter 'gzip' (expected one of: rate_limit, request_headers, response_headers, "
     "cors, trace, auth, headers, breaker, accesslog)"},
    // Listener limits, listener filters, match.listener and match.command.
    {"limit_for_other_protocol",
     "listeners:\n  - name: a\n    address: 1.2.3.4\n    port: 1\n"
     "    limits: { max_frame_payload: 10 }\n",
     "listeners[0].limits.max_frame_payload",
     "max_frame_payload applies only to binary listeners (this one is http)", 5},
    {"http_limit_on_binary",
     "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, protocol: binary, "
     "limits: { max_headers: 10 } }\n",
     "listeners[0].limits.max_headers", "max_headers applies only to http listeners"},
    {"too_many_headers",
     "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, limits: { max_headers: 129 } }\n",
     "listeners[0].limits.max_headers", "expected an integer in 1..128, got '129'"},
    {"frame_payload_over_64mib",
     "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, protocol: binary, "
     "limits: { max_frame_payload: 67108865 } }\n",
     "listeners[0].limits.max_frame_payload", "expected an integer in 1..67108864"},
    {"unknown_limit",
     "listeners:\n  - { name: a, address: 1.2.3.4, port: 1, limits: { max_body: 1 } }\n",
     "listeners[0].limits.max_body", "unknown field 'max_body'"},
    {"listener_filter_unknown",
     "listeners:\n  - name: a\n    address: 1.2.3.4\n    port: 1\n"
     "    filters: [ { name: gzip } ]\n",
     "listeners[0].filters[0].name", "unknown filter 'gzip'", 5},
    {"listener_filter_missing_limit",
     base + "listeners:\n  - name: a\n    address: 1.2.3.4\n    port: 1\n"
            "    filters: [ { name: rate_limit, settings: { limit: nope } } ]\n",
     "listeners[0].filters[0].settings.limit", "unknown rate limit 'nope'"},
    {"route_on_unknown_listener",
     with_listeners(route_with("    match: { listener: nope }\n    action: { cluster: c }\n")),
     "routes[0].match.listener",
     "unknown listener 'nope' (expected the name of an entry under listeners)"},
    {"command_on_http_listener",
     with_listeners(
         route_with("    match: { listener: web, command: 3 }\n    action: { cluster: c }\n")),
     "routes[0].match.command",
     "command applies only to binary listeners (listener 'web' is http)"},
    {"command_out_of_range",
     route_with("    match: { command: 256 }\n    action: { cluster: c }\n"),
     "routes[0].match.command", "expected an integer in 0..255, got '256'"},
    {"tcp_route_with_conditions",
     with_listeners(route_with(
         "    match: { listener: pg, path: { prefix: / } }\n    action: { cluster: c }\n")),
     "routes[0].match", "a route for tcp listener 'pg' may have no other match conditions"},
    // Filter values.
    {"trace_percent_out_of_range",
     route_filter("{ name: trace, settings: { sample_percent: 101 } }"),
     "routes[0].action.filters[0].settings.sample_percent",
     "expected an integer in 0..100, got '101'"},
    {"breaker_takes_no_settings", route_filter("{ name: breaker, settings: { threshold: 5 } }"),
     "routes[0].action.filters[0].settings.threshold",
     "unknown setting 'threshold': filter breaker takes no settings"},
    {"accesslog_takes_no_settings", route_filter("{ name: accesslog, settings: { format: x } }"),
     "routes[0].action.filters[0].settings.format", "filter accesslog takes no settings"},
    {"auth_without_mode", route_filter("{ name: auth, settings: { keys: a } }"),
     "routes[0].action.filters[0].settings", "filter auth needs setting 'mode'"},
    {"auth_bad_mode", route_filter("{ name: auth, settings: { mode: jwt } }"),
     "routes[0].action.filters[0].settings.mode", "expected api_key or hmac, got 'jwt'"},
    {"auth_api_key_without_keys", route_filter("{ name: auth, settings: { mode: api_key } }"),
     "routes[0].action.filters[0].settings",
     "auth mode api_key needs setting 'keys' (a comma-separated list)"},
    {"auth_api_key_empty_key",
     route_filter("{ name: auth, settings: { mode: api_key, keys: 'a,,b' } }"),
     "routes[0].action.filters[0].settings.keys", "key 2 of the list is empty"},
    {"auth_api_key_with_secret",
     route_filter("{ name: auth, settings: { mode: api_key, keys: a, secret: s } }"),
     "routes[0].action.filters[0].settings.secret",
     "setting 'secret' applies only to mode hmac (this filter uses api_key)"},
    {"auth_hmac_without_secret", route_filter("{ name: auth, settings: { mode: hmac } }"),
     "routes[0].action.filters[0].settings", "auth mode hmac needs a non-empty setting 'secret'"},
    {"auth_hmac_with_keys",
     route_filter("{ name: auth, settings: { mode: hmac, secret: s, keys: a } }"),
     "routes[0].action.filters[0].settings.keys", "setting 'keys' applies only to mode api_key"},
    {"auth_bad_skew",
     route_filter("{ name: auth, settings: { mode: hmac, secret: s, max_skew: soon } }"),
     "routes[0].action.filters[0].settings.max_skew",
     "expected a duration greater than 0 such as 300s or 5m, got 'soon'"},
    {"auth_bad_header",
     route_filter("{ name: auth, settings: { mode: hmac, secret: s, header: 'a b' } }"),
     "routes[0].action.filters[0].settings.header", "'a b' is not a valid header name"},
    {"headers_set_without_colon",
     route_filter("{ name: headers, settings: { request_set: 'X-A: 1; X-B' } }"),
     "routes[0].action.filters[0].settings.request_set",
     "entry 2 'X-B': expected 'Name: value' (entries are separated by ';')"},
    {"headers_bad_name", route_filter("{ name: headers, settings: { response_add: 'X A: 1' } }"),
     "routes[0].action.filters[0].settings.response_add",
     "entry 1: 'X A' is not a valid header name"},
    {"headers_value_with_newline",
     route_filter("{ name: headers, settings: { request_add: \"X-A: a\\nb\" } }"),
     "routes[0].action.filters[0].settings.request_add",
     "entry 1 (X-A): header value must not contain CR, LF or NUL"},
    {"headers_remove_bad_name",
     route_filter("{ name: headers, settings: { request_remove: 'x-a; x:b' } }"),
     "routes[0].action.filters[0].settings.request_remove",
     "entry 2: 'x:b' is not a valid header name"},
    {"headers_unknown_key",
     route_filter("{ name: headers, settings: { request_append: 'X-A: 1' } }"),
     "routes[0].action.filters[0].settings.request_append",
     "unknown setting 'request_append' for filter headers (expected: request_set, request_add, "
     "request_remove, response_set, response_add, response_remove)"},
    {"request_headers_value_with_cr",
     route_filter("{ name: request_headers, settings: { x-a: \"a\\rb\" } }"),
     "routes[0].action.filters[0].settings.x-a", "header value must not contain CR, LF or NUL"},
    {"regex_rejected_by_re2",
     route_with("    match: { path: { regex: '^/(a)\\1$' } }\n    action: { cluster: c }\n"),
     "routes[0].match.path.regex", "invalid regex '^/(a)\\1$'"},
    {"filter_refers_to_missing_limit",
     route_with("    action:\n      cluster: c\n      filters:\n"
                "        - { name: rate_limit, settings: { limit: nope } }\n"),
     "routes[0].action.filters[0].settings.limit",
     "unknown rate limit 'nope' (expected the name of an entry under rate_limits)"},
    {"filter_missing_required_setting",
     route_with("    action:\n      cluster: c\n      filters: [ { name: rate_limit } ]\n"),
     "routes[0].action.filters[0].settings", "filter rate_limit needs setting 'limit'"},
    {"filter_unknown_setting",
     route_with("    action:\n      cluster: c\n      filters:\n"
                "        - { name: rate_limit, settings: { limit: lim, burst: 5 } }\n"),
     "routes[0].action.filters[0].settings.burst",
     "unknown setting 'burst' for filter rate_limit (expected: limit, xdp_block, max_delay)"},
    {"filter_max_delay_too_long",
     route_with("    action:\n      cluster: c\n      filters:\n"
                "        - { name: rate_limit, settings: { limit: lim, max_delay: 2m } }\n"),
     "routes[0].action.filters[0].settings.max_delay",
     "expected a duration in 1ms..60s such as 500ms, got '2m'"},
    {"filter_max_delay_zero",
     route_with("    action:\n      cluster: c\n      filters:\n"
                "        - { name: rate_limit, settings: { limit: lim, max_delay: 0ms } }\n"),
     "routes[0].action.filters[0].settings.max_delay",
     "expected a duration in 1ms..60s such as 500ms, got '0ms'"},
    {"filter_xdp_block_not_a_duration",
     route_with("    action:\n      cluster: c\n      filters:\n"
                "        - { name: rate_limit, settings: { limit: lim, xdp_block: 2days } }\n"),
     "routes[0].action.filters[0].settings.xdp_block",
     "expected a duration in 1ms..24h such as 30s, got '2days'"},
    {"prefix_rewrite_without_prefix_match",
     route_with("    action: { cluster: c, prefix_rewrite: /v2 }\n"),
     "routes[0].action.prefix_rewrite", "prefix_rewrite needs a prefix path match"},
    {"too_many_retries", route_with("    action: { cluster: c, retry: { attempts: 11 } }\n"),
     "routes[0].action.retry.attempts", "expected an integer in 0..10, got '11'"},
    {"unknown_retry_condition", route_with("    action: { cluster: c, retry: { on: [ 4xx ] } }\n"),
     "routes[0].action.retry.on[0]",
     "expected one of 5xx, gateway_error, connect_failure, reset, got '4xx'"},
    {"duplicate_route_name",
     base + "routes:\n  - { name: r, action: { cluster: c } }\n"
            "  - { name: r, action: { cluster: c } }\n",
     "routes[1].name", "duplicate route name 'r' (first used by routes[0])", 8},
    {"negative_rate", "rate_limits:\n  - { name: l, rate: -5 }\n", "rate_limits[0].rate",
     "rate must be between 0.001 and 1e9 tokens per second, got -5", 2},
    {"zero_rate", "rate_limits:\n  - { name: l, rate: 0 }\n", "rate_limits[0].rate",
     "rate must be between 0.001 and 1e9 tokens per second, got 0"},
    {"rate_rounds_to_zero", "rate_limits:\n  - { name: l, rate: 0.0004 }\n", "rate_limits[0].rate",
     "rate must be between 0.001 and 1e9 tokens per second, got 0.0004"},
    {"rate_not_a_number", "rate_limits:\n  - { name: l, rate: fast }\n", "rate_limits[0].rate",
     "expected a number, got 'fast'"},
    {"burst_zero", "rate_limits:\n  - { name: l, rate: 5, burst: 0 }\n", "rate_limits[0].burst",
     "burst must be at least 1"},
    {"bad_limit_key", "rate_limits:\n  - { name: l, rate: 5, key: cookie }\n", "rate_limits[0].key",
     "expected route, client_ip or header:<name>, got 'cookie'"},
    {"bad_limit_mode", "rate_limits:\n  - { name: l, rate: 5, mode: log }\n", "rate_limits[0].mode",
     "expected one of enforce, shadow, got 'log'"},
    {"duplicate_yaml_key",
     "listeners:\n  - name: a\n    name: b\n    address: 1.2.3.4\n"
     "    port: 1\n",
     "listeners[0].name", "duplicate field 'name'", 3},
    {"yaml_syntax_error", "listeners: [ { name: web\n", "", "YAML syntax error"},
    {"empty_document", "", "", "empty document"},
    {"document_is_a_list", "- a\n- b\n", "", "expected a mapping, got a list", 1},
};

class validation_table : public ::testing::TestWithParam<broken_case> {};

TEST_P(validation_table, rejects_with_specific_message_and_path) {
    const broken_case& c = GetParam();
    if (c.message.empty()) {
        GTEST_SKIP() << "covered elsewhere";
    }
    load_result r = load_config(c.yaml, "test.yaml");
    ASSERT_FALSE(r.ok()) << c.yaml;
    ASSERT_FALSE(r.errors.empty());
    bool found = false;
    for (const auto& d : r.errors) {
        if (d.path == c.path && d.message.find(c.message) != std::string::npos) {
            found = true;
            EXPECT_EQ(d.file, "test.yaml");
            if (c.line != 0) {
                EXPECT_EQ(d.at.line, c.line) << d.to_string();
            } else if (c.name != std::string("empty_document")) {
                EXPECT_GT(d.at.line, 0) << d.to_string();
            }
        }
    }
    EXPECT_TRUE(found) << "wanted " << c.path << ": " << c.message << "\ngot:\n"
                       << format_all(r.errors);
}

INSTANTIATE_TEST_SUITE_P(broken_configs, validation_table, ::testing::ValuesIn(cases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(validation, duplicate_cluster_name_points_at_the_second) {
    auto r = load_config(
        "clusters:\n  - name: c\n    endpoints: [ { address: 1.1.1.1, port: 1 } ]\n"
        "  - name: c\n    endpoints: [ { address: 1.1.1.2, port: 1 } ]\n",
        "f.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << format_all(r.errors);
    EXPECT_EQ(r.errors[0].to_string(),
              "f.yaml:4:5: clusters[1].name: duplicate cluster name 'c' (first used by "
              "clusters[0])");
}

TEST(validation, collects_every_error_in_one_pass) {
    auto r = load_config(
        "listeners:\n"
        "  - { name: web, address: 300.1.1.1, port: seventy, protocol: udp }\n"
        "rate_limits:\n"
        "  - { name: l, rate: -5, burst: 0 }\n"
        "routes:\n"
        "  - { name: r, action: { cluster: missing } }\n",
        "many.yaml");
    ASSERT_FALSE(r.ok());
    std::vector<std::string> paths;
    for (const auto& d : r.errors) {
        paths.push_back(d.path);
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"listeners[0].port", "listeners[0].protocol",
                                               "listeners[0].address", "rate_limits[0].rate",
                                               "rate_limits[0].burst", "routes[0].action.cluster"}))
        << format_all(r.errors);
}

TEST(validation, a_field_that_failed_to_parse_is_not_reported_twice) {
    auto r = load_config("clusters:\n  - name: c\n    endpoints: nope\n", "f.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << format_all(r.errors);
    EXPECT_EQ(r.errors[0].path, "clusters[0].endpoints");
    EXPECT_EQ(r.errors[0].message, "expected a list, got 'nope'");
}

TEST(validation, alias_amplification_is_bounded) {
    // One anchored list of 100 header matchers, reused by 1000 routes: 300k nodes to walk from a
    // ~50 KB file. The walk stops at the node budget instead of growing with the product.
    std::string text =
        "clusters:\n  - name: c\n    endpoints: [ { address: 1.1.1.1, port: 1 } ]\n"
        "routes:\n  - name: r0\n    action: { cluster: c }\n"
        "    match:\n      headers: &h [ &m { name: x, present: true }";
    for (int i = 1; i < 100; ++i) {
        text += ", *m";
    }
    text += " ]\n";
    for (int i = 1; i < 1000; ++i) {
        text += fmt::format(
            "  - {{ name: r{}, action: {{ cluster: c }}, match: {{ headers: *h }} "
            "}}\n",
            i);
    }
    auto r = load_config(text, "bomb.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors[0].message,
              "document has more than 200000 nodes (counting each use of an alias); refusing to "
              "load it")
        << format_all(r.errors).substr(0, 2000);
}

TEST(validation, error_count_is_capped) {
    std::string y = "listeners:\n";
    for (int i = 0; i < 3000; ++i) {
        y += "  - { name: a, address: 1.1.1.1, port: 0 }\n";
    }
    auto r = load_config(y, "many.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1001u);
    EXPECT_EQ(r.errors.back().message, "more than 1000 errors; stopped reporting");
}

TEST(validation, host_is_stored_lower_case) {
    auto r = load_config(
        "clusters:\n  - name: c\n    endpoints: [ { address: 1.1.1.1, port: 1 } ]\n"
        "routes:\n  - name: r\n    match: { host: API.Example.COM }\n"
        "    action: { cluster: c }\n",
        "f.yaml");
    ASSERT_TRUE(r.ok()) << format_all(r.errors);
    EXPECT_EQ(r.cfg->routes[0].match.host, "api.example.com");
}

TEST(validation, weight_sums_must_fit_the_snapshot) {
    std::string y = "clusters:\n  - name: c\n    endpoints:\n";
    for (int i = 0; i < 5000; ++i) {
        y += fmt::format("      - {{ address: 10.0.{}.{}, port: 1, weight: 1000000 }}\n", i / 250,
                         i % 250);
    }
    auto r = load_config(y, "w.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << format_all(r.errors).substr(0, 1000);
    EXPECT_EQ(r.errors[0].path, "clusters[0].endpoints");
    EXPECT_EQ(r.errors[0].message, "endpoint weights add up to 5000000000; at most 4294967295");
}

TEST(validation, valid_files_load) {
    for (const char* f : {"full.yaml", "minimal.yaml"}) {
        auto r = load_config_file(std::string(SLUICE_CONFIG_DIR) + "/" + f);
        EXPECT_TRUE(r.ok()) << f << ":\n" << format_all(r.errors);
    }
}

TEST(validation, unreadable_file_is_reported) {
    auto r = load_config_file("/nonexistent/sluice.yaml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.errors.at(0).to_string(), "/nonexistent/sluice.yaml: cannot read the file");
}

}  // namespace
}  // namespace sluice::cp::model
