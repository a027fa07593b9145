// The gateway's HTTP/1.1 request-head parser (RFC 9112 §2-§6, RFC 9110): an incremental state
// machine fed one contiguous span at a time (one mbuf segment's data), resumable at any byte, so
// a head split across any number of segments parses exactly as if it were contiguous. Tokens are
// recorded as slices (offsets into the message), never copied; resolve them with mbuf_slice.hh.
// Strict: anything ambiguous for request smuggling is refused with a precise error (see
// docs/http.md for the table).
//
// Threading: one parser per downstream connection, used only on that connection's worker lcore.
// No allocation, no exceptions, no virtual calls.
#pragma once

#include <cstdint>

#include "field_section.hh"
#include "http_types.hh"

namespace sluice::dp::proxy::http {

class request_parser {
public:
    enum class state : std::uint8_t { need_more, done, error };

    // `l.max_headers` is clamped to max_headers_cap.
    explicit request_parser(const limits& l = {}) noexcept;
    // Forgets the current message; call before the next one (keep-alive, pipelining).
    void reset() noexcept;

    // Feeds the next n bytes of the connection. Returns how many it consumed: all of them while
    // the head is incomplete; when head_state() becomes done, exactly the bytes through the blank
    // line that ends the head (pipelined or body bytes after it are left to the caller). After
    // done or error it consumes nothing until reset().
    std::uint32_t feed_head(const char* p, std::uint32_t n) noexcept;

    [[nodiscard]] state head_state() const noexcept { return state_; }
    [[nodiscard]] error err() const noexcept { return err_; }
    // Valid once head_state() is done; fields partially filled before that.
    [[nodiscard]] const request_head& head() const noexcept { return head_; }

private:
    enum class rl : std::uint8_t {
        lead, lead_lf, method, target_start, path, query, pct1, pct2, asterisk, scheme,
        slash1, slash2, authority, connect_auth, version, line_lf
    };

    std::uint32_t fail(error e, std::uint32_t at) noexcept;
    std::uint32_t feed_line(const char* p, std::uint32_t n) noexcept;
    std::uint32_t fast_line(const char* p, std::uint32_t n) noexcept;
    void end_target(std::uint32_t at) noexcept;
    void finish() noexcept;

    limits lim_;
    state state_ = state::need_more;
    error err_ = error::none;
    bool in_fields_ = false;
    rl rl_ = rl::lead;
    rl pct_ret_ = rl::path;
    std::uint32_t pos_ = 0;        // message offset of the next byte
    std::uint32_t hdr_start_ = 0;  // message offset of the header section
    std::uint32_t tok_len_ = 0;    // bytes of the method or scheme so far
    std::uint8_t vi_ = 0;          // index into "HTTP/x.y"
    std::uint8_t major_ = 0;
    std::uint8_t minor_ = 0;
    bool colon_ = false;  // authority-form: saw ':'; port digits follow
    std::uint32_t port_digits_ = 0;
    char tbuf_[8]{};
    detail::field_section fields_;
    request_head head_;
};

}  // namespace sluice::dp::proxy::http
