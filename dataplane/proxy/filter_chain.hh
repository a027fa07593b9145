// The filter chain runner (docs/filters.md): runs a request's listener filters, then its route's,
// in config order, through the http_filter callbacks, keeping the position so a paused chain
// resumes after the filter that paused. http_session.cc drives it for every exchange; the chain
// benchmark (bench/filters/chain_bench.cc) and tests call it directly.
//
// Threading: the worker lcore that owns the request; no allocation, locks or syscalls.
#pragma once

#include <cstdint>

#include "sessions.hh"

namespace sluice::dp::proxy {

enum class chain_status : std::uint8_t {
    proceed,  // every filter proceeded: go upstream
    respond,  // a filter answered locally (r.local_status_, r.local_body_)
    pause,    // a filter paused; request_ctx::resume() continues from the next filter
};

// Runs on_request_headers from filter r.filter_pos on; sets r.filters_run, r.filter_pos and,
// on a pause, r.paused.
[[nodiscard]] chain_status run_request_chain(request& r) noexcept;
// on_response_headers, then on_complete, for every filter whose on_request_headers ran.
void run_response_chain(request& r) noexcept;
void run_complete_chain(request& r) noexcept;

}  // namespace sluice::dp::proxy
