// The flat encoding of a validated config inside a shm snapshot slot: a header, fixed-size
// tables, and a string pool, linked by offsets and indices only. Written by encode.cc on the
// control plane, read in place by snapshot_view on lcores. Every struct is trivially copyable and
// pinned by static_asserts; any layout change bumps snapshot_format_version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sluice::cp::model {

inline constexpr std::uint32_t snapshot_magic = 0x50414e53;  // "SNAP" little-endian
inline constexpr std::uint32_t snapshot_format_version = 3;  // 2: listener filters and limits,
                                                             // route listener and command, filters
                                                             // trace/auth/headers/breaker/accesslog
                                                             // 3: route and cluster stream_idle_ms
inline constexpr std::uint32_t no_index = 0xffffffffu;
inline constexpr std::uint16_t no_command = 0xffff;  // snap_route::command: any command

struct str_ref {  // bytes [off, off+len) of the string pool; not NUL-terminated
    std::uint32_t off;
    std::uint32_t len;
};
struct index_range {  // elements [first, first+count) of a table
    std::uint32_t first;
    std::uint32_t count;
};

enum class table_id : std::uint32_t {
    listeners,
    routes,
    header_matchers,
    cidrs,
    weighted_clusters,
    filters,
    settings,
    clusters,
    endpoints,
    rate_limits,
    strings,  // count is in bytes
    count_,
};
inline constexpr std::uint32_t table_slots = 12;
static_assert(static_cast<std::uint32_t>(table_id::count_) <= table_slots);

struct table_ref {
    std::uint32_t offset;  // from the snapshot start, aligned to 8
    std::uint32_t count;
};

struct snapshot_header {
    std::uint32_t magic;
    std::uint32_t format_version;
    std::uint32_t total_size;
    std::uint32_t table_count;   // table_slots
    std::uint64_t content_hash;  // FNV-1a 64 of the bytes after the header
    table_ref tables[table_slots];
    std::uint8_t reserved[8];
};
static_assert(sizeof(snapshot_header) == 128);
static_assert(offsetof(snapshot_header, content_hash) == 16);
static_assert(offsetof(snapshot_header, tables) == 24);

struct snap_addr {
    std::uint8_t bytes[16];   // IPv4 in bytes[0..3], network order
    std::uint8_t family;      // 4 or 6
    std::uint8_t prefix_len;  // CIDRs only
    std::uint8_t reserved[2];
};
static_assert(sizeof(snap_addr) == 20);

struct snap_listener {
    str_ref name;
    snap_addr addr;
    std::uint16_t port;
    std::uint8_t protocol;  // model::protocol
    std::uint8_t reserved;
    index_range filters;              // filters table; run before the route's filters
    std::uint32_t max_request_line;   // http
    std::uint32_t max_header_bytes;   // http
    std::uint32_t max_headers;        // http, <= 128
    std::uint32_t max_frame_payload;  // binary
};
static_assert(sizeof(snap_listener) == 56);
static_assert(offsetof(snap_listener, addr) == 8);
static_assert(offsetof(snap_listener, port) == 28);
static_assert(offsetof(snap_listener, filters) == 32);
static_assert(offsetof(snap_listener, max_request_line) == 40);
static_assert(offsetof(snap_listener, max_frame_payload) == 52);

struct snap_header_matcher {
    str_ref name;  // lower case
    str_ref value;
    std::uint8_t op;  // model::header_op
    std::uint8_t reserved[3];
};
static_assert(sizeof(snap_header_matcher) == 20);

struct snap_weighted_cluster {
    std::uint32_t cluster;  // index into clusters
    std::uint32_t weight;
};
static_assert(sizeof(snap_weighted_cluster) == 8);

struct snap_filter {
    str_ref name;
    std::uint16_t kind;  // model::filter_kind
    std::uint16_t reserved;
    index_range settings;
    std::uint32_t rate_limit;  // index into rate_limits for kind rate_limit, else no_index
};
static_assert(sizeof(snap_filter) == 24);
static_assert(offsetof(snap_filter, settings) == 12);

struct snap_setting {
    str_ref key;
    str_ref value;
};
static_assert(sizeof(snap_setting) == 16);

struct snap_route {
    str_ref name;
    str_ref host;  // exact host, or suffix ".example.com"
    str_ref path;
    str_ref method;
    str_ref prefix_rewrite;
    std::uint8_t host_kind;  // model::host_match
    std::uint8_t path_kind;  // model::path_match
    std::uint8_t weighted;
    std::uint8_t reserved;
    std::uint32_t timeout_ms;
    index_range headers;
    index_range cidrs;
    index_range clusters;  // weighted_clusters table
    index_range filters;
    std::uint32_t total_weight;
    std::uint32_t retry_attempts;
    std::uint32_t retry_on;  // model::retry_on bits
    std::uint32_t per_try_timeout_ms;
    std::uint32_t listener;  // index into listeners, or no_index: any listener
    std::uint16_t command;   // binary frame command 0..255, or no_command
    std::uint16_t reserved2;
    std::uint32_t stream_idle_ms;  // 0: the cluster's stream_idle_ms (format 3)
};
static_assert(sizeof(snap_route) == 108);
static_assert(offsetof(snap_route, stream_idle_ms) == 104);
static_assert(offsetof(snap_route, listener) == 96);
static_assert(offsetof(snap_route, command) == 100);
static_assert(offsetof(snap_route, host_kind) == 40);
static_assert(offsetof(snap_route, timeout_ms) == 44);
static_assert(offsetof(snap_route, headers) == 48);
static_assert(offsetof(snap_route, filters) == 72);
static_assert(offsetof(snap_route, total_weight) == 80);

struct snap_endpoint {
    snap_addr addr;
    std::uint16_t port;
    std::uint16_t reserved;
    std::uint32_t weight;
};
static_assert(sizeof(snap_endpoint) == 28);

struct snap_cluster {
    str_ref name;
    str_ref hash_header;
    index_range endpoints;
    std::uint8_t lb;        // model::lb_policy
    std::uint8_t hash_key;  // model::hash_key
    std::uint8_t health_enabled;
    std::uint8_t reserved;
    std::uint32_t connect_timeout_ms;
    std::uint32_t idle_timeout_ms;
    std::uint32_t request_timeout_ms;
    std::uint32_t max_connections_per_endpoint;
    std::uint32_t max_idle_per_endpoint;
    str_ref health_path;
    std::uint32_t health_interval_ms;
    std::uint32_t health_timeout_ms;
    std::uint32_t healthy_threshold;
    std::uint32_t unhealthy_threshold;
    std::uint32_t cb_max_connections;
    std::uint32_t cb_max_pending_requests;
    std::uint32_t cb_max_requests;
    std::uint32_t cb_max_retries;
    std::uint32_t od_consecutive_failures;
    std::uint32_t od_base_ejection_ms;
    std::uint32_t od_max_ejection_ms;
    std::uint32_t od_successes_to_close;
    std::uint32_t od_max_ejection_percent;
    std::uint32_t total_weight;
    std::uint32_t stream_idle_ms;  // body progress timeout, > 0 (format 3)
};
static_assert(sizeof(snap_cluster) == 116);
static_assert(offsetof(snap_cluster, stream_idle_ms) == 112);
static_assert(offsetof(snap_cluster, lb) == 24);
static_assert(offsetof(snap_cluster, health_path) == 48);
static_assert(offsetof(snap_cluster, cb_max_connections) == 72);
static_assert(offsetof(snap_cluster, od_consecutive_failures) == 88);
static_assert(offsetof(snap_cluster, total_weight) == 108);

struct snap_rate_limit {
    std::uint64_t identity;  // model::rate_limit_identity: equal across snapshots if unchanged
    str_ref name;
    str_ref key_header;
    std::uint64_t rate_milli;  // tokens per 1000 s (rate × 1000, rounded)
    std::uint64_t burst;
    std::uint8_t key;   // model::limit_key
    std::uint8_t mode;  // model::limit_mode
    std::uint8_t reserved[6];
};
static_assert(sizeof(snap_rate_limit) == 48);
static_assert(offsetof(snap_rate_limit, rate_milli) == 24);

template <typename T>
inline constexpr bool snapshot_pod_v =
    std::is_trivially_copyable_v<T>&& std::is_standard_layout_v<T> && alignof(T) <= 8;
static_assert(snapshot_pod_v<snapshot_header> && snapshot_pod_v<snap_listener> &&
              snapshot_pod_v<snap_route> && snapshot_pod_v<snap_header_matcher> &&
              snapshot_pod_v<snap_addr> && snapshot_pod_v<snap_weighted_cluster> &&
              snapshot_pod_v<snap_filter> && snapshot_pod_v<snap_setting> &&
              snapshot_pod_v<snap_cluster> && snapshot_pod_v<snap_endpoint> &&
              snapshot_pod_v<snap_rate_limit>);

}  // namespace sluice::cp::model
