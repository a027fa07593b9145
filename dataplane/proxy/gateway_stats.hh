// The gateway's per-lcore counters: plain uint64_t written by the owning worker only, summed by
// readers (SIGUSR1 stats, the control-plane stats slot). Names match docs/gateway.md.
#pragma once

#include <cstdint>

#include "http/http_types.hh"

namespace sluice::dp::proxy {

struct gateway_stats {
    std::uint64_t downstream_accepted = 0;
    std::uint64_t downstream_rejected = 0;  // no session left, or no listener in the config
    std::uint64_t downstream_active = 0;
    std::uint64_t requests = 0;
    std::uint64_t responses_1xx = 0, responses_2xx = 0, responses_3xx = 0, responses_4xx = 0,
                  responses_5xx = 0;
    std::uint64_t parse_errors[http::error_count] = {};  // requests refused, by reason
    std::uint64_t upstream_parse_errors = 0;  // malformed responses (answered 502)
    std::uint64_t no_route = 0;               // 404
    std::uint64_t upstream_connects = 0;
    std::uint64_t upstream_reused = 0;        // requests served on a pooled connection
    std::uint64_t upstream_connect_failures = 0;
    std::uint64_t upstream_timeouts = 0;      // 504
    std::uint64_t stream_idle_timeouts = 0;   // a body stalled for stream_idle (504 or reset)
    std::uint64_t upstream_resets = 0;        // 502
    std::uint64_t upstream_unavailable = 0;   // 503: no healthy endpoint or pool limit
    std::uint64_t retries = 0;
    std::uint64_t local_replies = 0;          // answered by a filter
    std::uint64_t rate_limited = 0;
    std::uint64_t rate_limited_shadow = 0;   // would have been limited (shadow mode)
    std::uint64_t rate_limit_delayed = 0;    // queued for a token (rate_limit max_delay)
    std::uint64_t log_dropped = 0;           // access-log records lost (ring full, no log)
    std::uint64_t breaker_rejected = 0;
    std::uint64_t pool_exhausted = 0;         // request or upstream pool empty
    std::uint64_t l4_sessions = 0;
    std::uint64_t l4_bytes_up = 0, l4_bytes_down = 0;
    std::uint64_t binary_frames = 0;
    std::uint64_t binary_errors[8] = {};      // by binary::decode_error
    std::uint64_t config_switches = 0;
};

}  // namespace sluice::dp::proxy
