// Message-body framing for both directions (RFC 9112 §6.3, §7.1): Content-Length, chunked (with
// chunk-extension and trailer validation) and read-until-close. Pass-through friendly: the caller
// forwards the raw bytes each step consumed (chunk framing included) and learns where payload
// bytes lie and where the message ends, so nothing is copied or re-encoded.
//
// Threading: one reader per message direction per connection, on its worker lcore.
#pragma once

#include <cstdint>

#include "field_section.hh"
#include "http_types.hh"

namespace sluice::dp::proxy::http {

class body_reader {
public:
    explicit body_reader(const limits& l = {}) noexcept : lim_(l) {}

    // Starts a body; `content_length` is read for body_kind::length only.
    void start(body_kind k, std::uint64_t content_length) noexcept;

    struct step {
        std::uint32_t consumed = 0;     // bytes of [p, p+n) this call used (framing + payload)
        std::uint32_t payload_off = 0;  // payload run within [p, p+consumed), if payload_len
        std::uint32_t payload_len = 0;
        bool done = false;  // the message ended at p + consumed (bytes after it are the next one)
        error err = error::none;  // the body is malformed; the connection must be closed
    };
    // Handles as much of [p, p+n) as it can, up to and including at most one payload run (so
    // call again with the rest while consumed < n and neither done nor err). until_close bodies
    // are never done: the caller ends them at connection close.
    step feed(const char* p, std::uint32_t n) noexcept;

    [[nodiscard]] std::uint64_t payload_total() const noexcept { return total_; }
    [[nodiscard]] bool done() const noexcept { return st_ == st::done; }
    [[nodiscard]] error err() const noexcept { return err_; }

private:
    enum class st : std::uint8_t {
        done, length, until_close, size, size_ws, ext_ws, ext_name, ext_name_ws, ext_val_ws,
        ext_token, ext_quoted, ext_qpair, ext_after_val, size_lf, data, data_cr, data_lf,
        trailers, failed
    };
    step fail(step s, error e, std::uint32_t at) noexcept;

    limits lim_;
    st st_ = st::done;
    error err_ = error::none;
    std::uint64_t remaining_ = 0;
    std::uint64_t total_ = 0;
    std::uint32_t line_bytes_ = 0;  // bytes of the current chunk-size line
    std::uint32_t size_digits_ = 0;
    std::uint32_t trailer_bytes_ = 0;
    std::uint16_t trailer_count_ = 0;
    detail::field_section trailer_;
    connection_info unused_conn_;
};

}  // namespace sluice::dp::proxy::http
