// The gateway's HTTP/1.1 response-head parser (RFC 9112 §4, §6.3): same machine and guarantees
// as request_parser (any split, slices, no copies), for what upstream servers send back. It works
// out the body framing from the status, the request method and the framing fields:
// 1xx/204/304/HEAD → none, chunked final → chunked, Content-Length → length, else until_close.
// A 1xx head (100 Continue, 103) is reported as a complete head; the caller resets and parses the
// final response.
//
// Threading: one parser per upstream connection, on its worker lcore. No allocation.
#pragma once

#include <cstdint>

#include "field_section.hh"
#include "http_types.hh"

namespace sluice::dp::proxy::http {

class response_parser {
public:
    enum class state : std::uint8_t { need_more, done, error };

    explicit response_parser(const limits& l = {}) noexcept;
    // Before each response; `request_was_head`: the request was HEAD, so no body follows
    // (RFC 9110 §9.3.2) whatever the framing fields say.
    void reset(bool request_was_head = false) noexcept;
    // Same contract as request_parser::feed_head.
    std::uint32_t feed_head(const char* p, std::uint32_t n) noexcept;

    [[nodiscard]] state head_state() const noexcept { return state_; }
    [[nodiscard]] error err() const noexcept { return err_; }
    [[nodiscard]] const response_head& head() const noexcept { return head_; }

private:
    std::uint32_t fail(error e, std::uint32_t at) noexcept;
    std::uint32_t feed_line(const char* p, std::uint32_t n) noexcept;
    void finish() noexcept;

    limits lim_;
    state state_ = state::need_more;
    error err_ = error::none;
    bool head_request_ = false;
    bool in_fields_ = false;
    std::uint8_t si_ = 0;  // position in the status line's fixed part
    std::uint8_t major_ = 0;
    std::uint32_t pos_ = 0;
    std::uint32_t hdr_start_ = 0;
    detail::field_section fields_;
    response_head head_;
};

}  // namespace sluice::dp::proxy::http
