// See request_ctx.hh. Runs on the worker lcore that owns the request.
#include "request_ctx.hh"

#include <rte_cycles.h>

#include <algorithm>
#include <cstring>

#include "../filters/auth/auth.hh"
#include "../filters/trace/trace_context.hh"
#include "gateway.hh"
#include "http_session.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

http::method request_ctx::method() const noexcept {
    return head_ != nullptr ? head_->m : http::method::other;
}

std::uint64_t request_ctx::now_ms() const noexcept { return gw_->now_ms(); }

std::uint64_t request_ctx::now_ns() const noexcept { return gw_->now_ns(); }

unsigned request_ctx::worker() const noexcept { return gw_->index(); }

std::uint64_t request_ctx::random() noexcept { return gw_->next_random(); }

filters::fast_rng& request_ctx::rng() noexcept { return gw_->id_rng(); }

std::uint64_t request_ctx::unix_offset_s() const noexcept { return gw_->unix_offset_ms() / 1000; }

std::uint64_t request_ctx::start_unix_ns() const noexcept {
    const auto& r = static_cast<const request&>(*this);
    return (r.start_ms + gw_->unix_offset_ms()) * 1'000'000ULL;
}

std::uint64_t request_ctx::elapsed_us() const noexcept {
    const auto& r = static_cast<const request&>(*this);
    return (rte_rdtsc() - r.start_tsc) * 1'000'000ULL / rte_get_tsc_hz();
}

rte_be32_t request_ctx::upstream_addr() const noexcept {
    return static_cast<const request&>(*this).up_addr;
}

std::uint16_t request_ctx::upstream_port() const noexcept {
    return static_cast<const request&>(*this).up_port;
}

filters::auth_counters& request_ctx::auth_counters() noexcept { return gw_->auth_stats(); }
void request_ctx::count_rate_limited() noexcept { ++gw_->stats_.rate_limited; }
void request_ctx::count_rate_limited_shadow() noexcept { ++gw_->stats_.rate_limited_shadow; }
void request_ctx::count_rate_limit_delayed() noexcept { ++gw_->stats_.rate_limit_delayed; }
void request_ctx::count_breaker_rejected() noexcept { ++gw_->stats_.breaker_rejected; }
void request_ctx::count_log_dropped() noexcept { ++gw_->stats_.log_dropped; }

std::string_view request_ctx::header(std::string_view lower_name) const noexcept {
    if (head_ == nullptr || session_ == nullptr) {
        return {};
    }
    const byte_chain& src = session_->head;
    for (std::uint16_t i = 0; i < head_->header_count; ++i) {
        const http::header_field& f = head_->headers[i];
        if (f.name.len != lower_name.size()) {
            continue;
        }
        char tmp[256];
        if (!http::iequals(src.view(f.name.off, f.name.len, tmp, sizeof(tmp)), lower_name)) {
            continue;
        }
        if (f.value.len == 0) {
            return {hdr_buf_, 0};  // present, empty (non-null data)
        }
        return src.view(f.value.off, f.value.len, hdr_buf_, sizeof(hdr_buf_));
    }
    return {};
}

bool request_ctx::push_edit(header_edit* edits, std::uint8_t& n, edit_op op,
                            std::string_view name, std::string_view value) noexcept {
    if (n >= max_edits || edit_used_ + name.size() + value.size() > edit_bytes ||
        name.size() > 0xffff || value.size() > 0xffff) {
        return false;
    }
    header_edit& e = edits[n++];
    e.op = op;
    e.name_off = edit_used_;
    e.name_len = static_cast<std::uint16_t>(name.size());
    for (char c : name) {
        edit_buf_[edit_used_++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    e.value_off = edit_used_;
    e.value_len = static_cast<std::uint16_t>(value.size());
    if (!value.empty()) {
        std::memcpy(edit_buf_ + edit_used_, value.data(), value.size());
    }
    edit_used_ = static_cast<std::uint16_t>(edit_used_ + value.size());
    return true;
}

bool request_ctx::edit_request(edit_op op, std::string_view name,
                               std::string_view value) noexcept {
    return push_edit(req_edits_, n_req_, op, name, value);
}

bool request_ctx::edit_response(edit_op op, std::string_view name,
                                std::string_view value) noexcept {
    return push_edit(resp_edits_, n_resp_, op, name, value);
}

void request_ctx::respond(std::uint16_t status, std::string_view body) noexcept {
    local_status_ = status;
    const std::size_t n = std::min(body.size(), sizeof(local_body_));
    if (n != 0) {
        std::memcpy(local_body_, body.data(), n);
    }
    local_body_len_ = static_cast<std::uint16_t>(n);
}

void request_ctx::resume() noexcept {
    if (session_ != nullptr) {
        http_resume(*session_);
    }
}

namespace {
void on_wake(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)w, (void)n;
    static_cast<request*>(ctx)->resume();  // may end the exchange and free the request
}
}  // namespace

void request_ctx::resume_after(std::uint32_t ms) noexcept {
    auto& r = static_cast<request&>(*this);
    gw_->timers().arm_after(r.wake, ms, &on_wake, &r);
}

void request_ctx::reset_ctx() noexcept {
    session_ = nullptr;
    head_ = nullptr;
    method_ = path_ = query_ = host_ = target_ = {};
    route_ = nullptr;
    cluster_ = nullptr;
    listener_ = nullptr;
    status_ = 0;
    bytes_in_ = bytes_out_ = 0;
    local_ = false;
    local_status_ = 0;
    local_body_len_ = 0;
    n_req_ = n_resp_ = 0;
    edit_used_ = 0;
    line_used_ = 0;
    trace_id[0] = 0;
    request_id_len = 0;
    // The arena is not cleared here: run_request_chain zeroes each filter's state just before
    // its on_request_headers (filter.hh), so a route without filters clears nothing.
}

namespace {
std::string_view stash(request_ctx& r, char* buf, std::uint16_t& used, std::uint16_t cap,
                       const byte_chain& src, http::slice s) noexcept {
    (void)r;
    if (s.len == 0) {
        return {};
    }
    const std::uint16_t room = static_cast<std::uint16_t>(cap - used);
    auto v = src.view(s.off, s.len, buf + used, room);
    if (v.data() == buf + used) {
        used = static_cast<std::uint16_t>(used + v.size());
    }
    return v;
}
}  // namespace

void fill_request_views(http_session& s, request& r) noexcept {
    const http::request_head& h = s.parser->head();
    const byte_chain& src = s.head;
    r.method_ = stash(r, r.line_buf_, r.line_used_, sizeof(r.line_buf_), src, h.method_tok);
    r.path_ = stash(r, r.line_buf_, r.line_used_, sizeof(r.line_buf_), src, h.path);
    if (r.path_.empty()) {
        r.path_ = "/";
    }
    r.query_ = stash(r, r.line_buf_, r.line_used_, sizeof(r.line_buf_), src, h.query);
    r.target_ = stash(r, r.line_buf_, r.line_used_, sizeof(r.line_buf_), src, h.target);
    // Host: lower case, without the port (route matching compares names).
    char tmp[256];
    auto host = src.view(h.host.off, h.host.len, tmp, sizeof(tmp));
    std::size_t n = 0;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    for (char c : host) {
        if (n >= sizeof(r.host_buf_)) {
            break;
        }
        r.host_buf_[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    r.host_ = {r.host_buf_, n};
}

}  // namespace sluice::dp::proxy
