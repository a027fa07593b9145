// What a filter sees of one HTTP exchange (docs/filters.md): the parsed request (views into
// the received mbufs, zero-copy), the chosen route and cluster, header edits queued for the
// upstream request and for the response, a local reply, and the per-request state arena.
//
// Threading: one request_ctx per exchange, used only on the worker lcore that owns the
// downstream connection. Objects come from the worker's request pool.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "http/http_types.hh"

namespace sluice::dp::filters {
class fast_rng;
struct auth_counters;
}  // namespace sluice::dp::filters

namespace sluice::dp::proxy {

class gateway;
class gateway_config;
struct route_rt;
struct cluster_rt;
struct listener_rt;
struct http_session;

enum class edit_op : std::uint8_t { set, add, remove };

struct header_edit {
    edit_op op;
    std::uint16_t name_off, name_len;  // into the edit buffer; names stored lower case
    std::uint16_t value_off, value_len;
};

class request_ctx {
public:
    static constexpr std::uint32_t filter_arena = 512;  // per-request filter state, bytes
    static constexpr std::uint32_t edit_bytes = 2048;   // header edit names and values
    static constexpr std::uint32_t max_edits = 24;      // per direction

    // --- the request ---
    [[nodiscard]] http::method method() const noexcept;
    [[nodiscard]] std::string_view method_name() const noexcept { return method_; }
    [[nodiscard]] std::string_view path() const noexcept { return path_; }
    [[nodiscard]] std::string_view query() const noexcept { return query_; }
    [[nodiscard]] std::string_view host() const noexcept { return host_; }  // lower case, no port
    // First field with this (lower-case) name; data()==nullptr when absent.
    [[nodiscard]] std::string_view header(std::string_view lower_name) const noexcept;
    [[nodiscard]] rte_be32_t client_addr() const noexcept { return client_addr_; }
    [[nodiscard]] const rte_be32_t& client_addr_ref() const noexcept { return client_addr_; }
    [[nodiscard]] std::uint16_t client_port() const noexcept { return client_port_; }
    [[nodiscard]] const route_rt* route() const noexcept { return route_; }
    [[nodiscard]] const cluster_rt* cluster() const noexcept { return cluster_; }
    [[nodiscard]] std::uint32_t cluster_index() const noexcept { return cluster_idx_; }
    [[nodiscard]] const listener_rt* listener() const noexcept { return listener_; }
    [[nodiscard]] std::uint64_t now_ms() const noexcept;
    [[nodiscard]] std::uint64_t now_ns() const noexcept;
    [[nodiscard]] unsigned worker() const noexcept;
    [[nodiscard]] std::uint64_t random() noexcept;
    // The worker's id generator (trace ids, request ids).
    [[nodiscard]] filters::fast_rng& rng() noexcept;
    [[nodiscard]] std::string_view path_query() const noexcept { return target_; }
    // Wall clock: now_ms()/1000 + unix_offset_s() is Unix time in seconds.
    [[nodiscard]] std::uint64_t unix_offset_s() const noexcept;
    [[nodiscard]] std::uint64_t start_unix_ns() const noexcept;
    [[nodiscard]] std::uint64_t elapsed_us() const noexcept;
    [[nodiscard]] rte_be32_t upstream_addr() const noexcept;
    [[nodiscard]] std::uint16_t upstream_port() const noexcept;
    [[nodiscard]] filters::auth_counters& auth_counters() noexcept;
    void count_rate_limited() noexcept;
    void count_rate_limited_shadow() noexcept;
    void count_rate_limit_delayed() noexcept;
    void count_breaker_rejected() noexcept;
    void count_log_dropped() noexcept;

    // --- the response (on_response_headers, on_complete) ---
    [[nodiscard]] std::uint16_t status() const noexcept { return status_; }
    [[nodiscard]] std::uint64_t bytes_in() const noexcept { return bytes_in_; }
    [[nodiscard]] std::uint64_t bytes_out() const noexcept { return bytes_out_; }
    [[nodiscard]] bool local_reply() const noexcept { return local_; }

    // --- actions ---
    // Queue an edit of the upstream request's / the response's header section. `name` is a
    // field name (any case; stored lower case). False when the edit buffer is full (counted).
    bool edit_request(edit_op op, std::string_view name, std::string_view value = {}) noexcept;
    bool edit_response(edit_op op, std::string_view name, std::string_view value = {}) noexcept;
    // Answer locally (the chain stops when the filter returns filter_status::respond). The
    // queued response edits apply; `body` is copied.
    void respond(std::uint16_t status, std::string_view body = {}) noexcept;
    // Continue a chain a filter paused (on this lcore, later).
    void resume() noexcept;
    // Pause with a deadline: arms the request's wake timer on the worker's timer wheel to call
    // resume() after `ms` (1 ms ticks); the filter then returns filter_status::pause. The timer
    // is cancelled if the exchange ends first (client gone, request timeout). One per request:
    // a second call moves it.
    void resume_after(std::uint32_t ms) noexcept;

    // Trace ids the trace filter sets (hex / text, NUL-free, fixed length or empty).
    char trace_id[33] = {};
    char request_id[65] = {};
    std::uint8_t request_id_len = 0;

    [[nodiscard]] std::span<const header_edit> request_edits() const noexcept {
        return {req_edits_, n_req_};
    }
    [[nodiscard]] std::span<const header_edit> response_edits() const noexcept {
        return {resp_edits_, n_resp_};
    }
    [[nodiscard]] std::string_view edit_text(std::uint16_t off, std::uint16_t len) const noexcept {
        return {edit_buf_ + off, len};
    }
    [[nodiscard]] unsigned char* arena() noexcept { return arena_; }

    // --- proxy internals (dataplane/proxy), not for filters ---
    bool push_edit(header_edit* edits, std::uint8_t& n, edit_op op, std::string_view name,
                   std::string_view value) noexcept;
    void reset_ctx() noexcept;

    http_session* session_ = nullptr;
    gateway* gw_ = nullptr;
    const http::request_head* head_ = nullptr;
    std::string_view method_, path_, query_, host_, target_;
    rte_be32_t client_addr_ = 0;
    std::uint16_t client_port_ = 0;
    const route_rt* route_ = nullptr;
    const cluster_rt* cluster_ = nullptr;
    std::uint32_t cluster_idx_ = 0;
    const listener_rt* listener_ = nullptr;
    std::uint16_t status_ = 0;
    std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
    bool local_ = false;
    std::uint16_t local_status_ = 0;
    std::uint16_t local_body_len_ = 0;
    char local_body_[256] = {};
    header_edit req_edits_[max_edits] = {};
    header_edit resp_edits_[max_edits] = {};
    std::uint8_t n_req_ = 0, n_resp_ = 0;
    std::uint16_t edit_used_ = 0;
    char edit_buf_[edit_bytes] = {};
    // Copies of request tokens that straddle mbuf segments (rare), and the lower-cased host.
    char host_buf_[256] = {};
    char line_buf_[2048] = {};
    std::uint16_t line_used_ = 0;
    mutable char hdr_buf_[1024] = {};
    alignas(16) unsigned char arena_[filter_arena] = {};
};

}  // namespace sluice::dp::proxy
