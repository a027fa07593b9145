// The header-section machine shared by the request parser, the response parser and the chunked
// trailer reader (RFC 9112 §5, RFC 9110 §5): field lines up to the blank line, validated byte by
// byte, resumable at any byte, recording name/value slices without copying. It also folds the
// framing fields (Content-Length, Transfer-Encoding, Host, Connection, Expect, Upgrade) into a
// summary as their bytes go by, since earlier spans are gone by the time a field ends.
//
// Internal (detail). Threading: one instance per parser, on the parser's lcore.
#pragma once

#include <cstdint>
#include <string_view>

#include "http_types.hh"

namespace sluice::dp::proxy::http::detail {

struct framing {
    std::uint32_t cl_count = 0;
    std::uint64_t cl_value = 0;
    std::uint32_t host_count = 0;
    slice host;
    bool te_present = false;
    bool te_last_chunked = false;      // the final coding seen so far is chunked
    bool te_chunked_not_last = false;  // chunked followed by another coding (or itself)
    bool te_unknown = false;           // a coding we do not know, or one with parameters
    bool expect_continue = false;
    bool upgrade_present = false;
};

class field_section {
public:
    // `trailer`: a chunked trailer section; framing fields are not interpreted there.
    void reset(bool trailer) noexcept;
    // Parses p[0..n), whose first byte is at message offset `pos`. Records fields into `out`
    // (may be null: validate and count only) while count < max_headers_cap. Stops right after the
    // blank line (done()) or at the first error (err()). Returns the bytes consumed.
    std::uint32_t feed(const char* p, std::uint32_t n, std::uint32_t pos, header_field* out,
                       std::uint16_t& count, connection_info& conn, const limits& l) noexcept;
    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] error err() const noexcept { return err_; }
    [[nodiscard]] const framing& frame() const noexcept { return fr_; }

private:
    enum class st : std::uint8_t { line_start, name, value_ows, value, value_cr, end_cr };
    enum class mode : std::uint8_t { none, content_length, list, host };

    std::uint32_t fail(error e, std::uint32_t at) noexcept {
        err_ = e;
        return at;
    }
    [[nodiscard]] error begin_value(std::string_view name) noexcept;
    [[nodiscard]] error value_byte(char c, std::uint32_t off, connection_info& conn) noexcept;
    [[nodiscard]] error end_element(connection_info& conn) noexcept;
    [[nodiscard]] error end_field(header_field* out, std::uint16_t& count,
                                  connection_info& conn) noexcept;

    framing fr_;
    st st_ = st::line_start;
    mode mode_ = mode::none;
    bool trailer_ = false;
    bool done_ = false;
    error err_ = error::none;
    header_id id_ = header_id::other;
    std::uint32_t name_off_ = 0;
    std::uint32_t name_len_ = 0;
    std::uint32_t val_off_ = 0;
    std::uint32_t val_end_ = 0;
    // Content-Length value (RFC 9112 §6.2: 1*DIGIT).
    std::uint32_t cl_digits_ = 0;
    bool cl_ws_ = false;
    std::uint64_t cl_acc_ = 0;
    // One list element (RFC 9110 §5.6.1) of Transfer-Encoding, Connection or Expect.
    std::uint32_t tok_off_ = 0;
    std::uint32_t tok_len_ = 0;
    bool tok_ended_ = false;
    bool tok_bad_ = false;
    bool in_params_ = false;
    std::uint32_t nbuf_len_ = 0;
    char nbuf_[20]{};  // lower-cased prefix of a name cut by a span end (longest known: 17)
    char tbuf_[16]{};  // lower-cased element prefix: enough for every known token
};

}  // namespace sluice::dp::proxy::http::detail
