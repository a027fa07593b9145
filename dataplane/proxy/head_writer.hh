// Writes HTTP/1.1 message heads into a flat buffer (the worker's scratch): the request head a
// backend gets and the response head a client gets, with hop-by-hop fields removed and the
// filters' header edits applied (RFC 9110 §7.6.1, RFC 9112 §3-§5). Copies are unavoidable here
// (heads are rewritten); bodies are never copied.
//
// Threading: the owning worker lcore; no allocation (overflow() reports a too-small buffer).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "byte_chain.hh"
#include "http/http_types.hh"

namespace sluice::dp::proxy {

class request_ctx;
struct http_session;
struct request;
struct upstream_conn;

class head_writer {
public:
    head_writer(char* buf, std::uint32_t cap) noexcept : buf_(buf), cap_(cap) {}

    void append(std::string_view s) noexcept {
        if (s.empty()) {
            return;  // an empty view may have a null data(): memcpy must not see it
        }
        if (len_ + s.size() > cap_) {
            overflow_ = true;
            return;
        }
        std::memcpy(buf_ + len_, s.data(), s.size());
        len_ += static_cast<std::uint32_t>(s.size());
    }
    void append_slice(const byte_chain& src, http::slice s) noexcept {
        if (len_ + s.len > cap_) {
            overflow_ = true;
            return;
        }
        src.copy_out(s.off, s.len, buf_ + len_);
        len_ += s.len;
    }
    void append_num(std::uint64_t v) noexcept;
    // Dotted quad of a network-order IPv4 address (what "%u.%u.%u.%u" gave, without vfprintf:
    // measured ~1,670 instructions per upstream head in bench/gateway/inproc_callgrind.py).
    void append_ipv4(std::uint32_t be_addr) noexcept;
    void status_line(std::uint16_t status, std::string_view reason) noexcept;
    void header(std::string_view name, std::string_view value) noexcept {
        append(name);
        append(": ");
        append(value);
        append("\r\n");
    }
    void header_num(std::string_view name, std::uint64_t v) noexcept {
        append(name);
        append(": ");
        append_num(v);
        append("\r\n");
    }
    // set/add edits of the response direction.
    void apply_response_edits(const request_ctx& r) noexcept;
    void apply_request_edits(const request_ctx& r) noexcept;
    void end() noexcept { append("\r\n"); }
    void unappend(std::uint32_t n) noexcept { len_ = n <= len_ ? len_ - n : 0; }

    [[nodiscard]] const char* data() const noexcept { return buf_; }
    [[nodiscard]] std::uint32_t size() const noexcept { return len_; }
    [[nodiscard]] bool overflow() const noexcept { return overflow_; }

private:
    char* buf_;
    std::uint32_t cap_;
    std::uint32_t len_ = 0;
    bool overflow_ = false;
};

// The request head for the upstream: request line with the route's prefix rewrite, the
// client's fields minus hop-by-hop ones and removed/set ones, X-Forwarded-For, then edits.
void write_upstream_head(head_writer& w, const http_session& s, const request& r) noexcept;
// The response head for the client, from the upstream's head in u.in.
void write_client_head(head_writer& w, const http_session& s, const request& r,
                       const upstream_conn& u) noexcept;

}  // namespace sluice::dp::proxy
