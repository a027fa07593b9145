// The HTTP filter chain's interface (docs/filters.md): a chain of responsibility run on every
// request. A filter is one object per config generation (built by the config builder from the
// route's or listener's `filters:` entry, immutable afterwards, shared by every worker), plus
// optional per-request state that comes from the request's pooled arena (state_size() bytes,
// zeroed before on_request_headers) so nothing is allocated per request.
//
// Order: the listener's filters, then the route's, each in config order (position is the
// priority). Request callbacks run in that order, response callbacks and on_complete too.
//
// Threading: every callback runs on the worker lcore that owns the request, on the hot path:
// no allocation, locks, syscalls or logging; shared state (rate-limit buckets, breakers) is
// lock-free.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hh"

namespace sluice::dp::proxy {

class request_ctx;

enum class filter_status : std::uint8_t {
    proceed,  // go on to the next filter (or upstream)
    respond,  // the filter answered with request_ctx::respond(); stop the chain
    pause,    // wait; request_ctx::resume() (or resume_after(ms)) continues later on this lcore
};

class http_filter {
public:
    virtual ~http_filter() = default;
    // Per-request state bytes this filter needs (at most request_ctx::filter_arena in total
    // for one chain; the builder rejects a chain that needs more).
    [[nodiscard]] virtual std::uint32_t state_size() const noexcept { return 0; }
    // The request head was parsed and routed. May read headers, queue header edits for the
    // upstream request, answer locally, or pause.
    virtual filter_status on_request_headers(request_ctx& r, void* state) noexcept = 0;
    // A run of request body payload (decoded: chunk framing removed); `end` on the last one.
    virtual filter_status on_request_body(request_ctx& r, void* state, std::string_view data,
                                          bool end) noexcept {
        (void)r, (void)state, (void)data, (void)end;
        return filter_status::proceed;
    }
    // The response head is about to go to the client (upstream or local): may queue
    // response header edits.
    virtual void on_response_headers(request_ctx& r, void* state) noexcept { (void)r, (void)state; }
    // The exchange is over (response sent, or failed); runs for every filter whose
    // on_request_headers ran, also when a later filter answered.
    virtual void on_complete(request_ctx& r, void* state) noexcept { (void)r, (void)state; }
};

// What a filter factory gets: its settings from the snapshot, in config order, as owned
// strings (the builder copies them out of shared memory).
struct filter_settings {
    std::string filter_name;
    std::vector<std::pair<std::string, std::string>> values;
    [[nodiscard]] std::string_view get(std::string_view key, std::string_view dflt = {}) const {
        for (const auto& [k, v] : values) {
            if (k == key) {
                return v;
            }
        }
        return dflt;
    }
};

class gateway_services;  // process-wide registries a factory may use (limiters, access log…)

// Registration: one entry per filter name (the control plane's filter registry,
// ctrlplane/model/filters.hh, lists the same names and their settings).
struct filter_factory {
    std::string_view name;
    result<std::unique_ptr<http_filter>> (*make)(const filter_settings& s,
                                                 gateway_services& svc);
};
// The built-in factories (dataplane/filters/builtin.cc).
[[nodiscard]] std::span<const filter_factory> builtin_filters() noexcept;

}  // namespace sluice::dp::proxy
