// Choosing where a request goes (internal to dataplane/proxy): the route (first match in the
// compiled route table), the cluster (weighted split), the endpoint (the cluster's load-balancing
// policy over endpoints the outlier detector allows), and the breaker bookkeeping around it.
// Runs on the worker lcore that owns the request.
#pragma once

#include <cstdint>

#include "sessions.hh"

namespace sluice::dp::proxy {

struct route_rt;

[[nodiscard]] std::uint32_t match_route(const http_session& s, request& r) noexcept;
[[nodiscard]] std::uint32_t pick_cluster(gateway& gw, const route_rt& rt) noexcept;
// False when no endpoint may take the request (all ejected, or the breaker's request cap).
[[nodiscard]] bool pick_endpoint(gateway& gw, request& r, std::uint32_t& ep) noexcept;
// Outcome of one try on r.endpoint_idx, for passive health (outlier detection).
void report_endpoint(gateway& gw, request& r, bool success) noexcept;
// The try on r.endpoint_idx is over (least-request bookkeeping); idempotent.
void end_try(gateway& gw, request& r) noexcept;
// The cluster's retry budget (circuit breaker max_retries, concurrent retries).
[[nodiscard]] bool try_retry_budget(gateway& gw, request& r) noexcept;
void release_request_slot(gateway& gw, request& r) noexcept;
// Endpoint choice for L4/binary sessions (no request object): same policy, keyed by client.
[[nodiscard]] bool pick_endpoint_for(gateway& gw, gateway_config& cfg, std::uint32_t cl,
                                     std::uint64_t hash, std::uint32_t& ep) noexcept;

}  // namespace sluice::dp::proxy
