// See field_section.hh. RFC 9112 §5 (field syntax), §2.2 (line endings), RFC 9110 §5.5 (values).
#include "field_section.hh"

#include <string_view>

#include "http_chars.hh"

namespace sluice::dp::proxy::http::detail {

namespace {

constexpr std::uint64_t max_content_length = (std::uint64_t{1} << 63) - 1;

bool is_known_coding(std::string_view t) noexcept {
    // RFC 9110 §8.4.1 and the IANA HTTP Transfer Coding Registry; "identity" is gone (RFC 7230).
    return t == "gzip" || t == "deflate" || t == "compress" || t == "x-gzip" ||
           t == "x-compress";
}

}  // namespace

void field_section::reset(bool trailer) noexcept {
    fr_ = framing{};
    st_ = st::line_start;
    mode_ = mode::none;
    trailer_ = trailer;
    done_ = false;
    err_ = error::none;
}

// begin_value and end_field run once per field and only from feed(); inlined there they save
// the call, the spills and the reloads of the members feed() holds in registers (measured with
// bench/gateway/inproc_callgrind.py: about 30 instructions per field).
[[gnu::always_inline]] inline error field_section::begin_value(std::string_view name) noexcept {
    // `name` is the whole name, or its first sizeof(nbuf_) bytes when it spanned segments.
    id_ = name_len_ <= sizeof(nbuf_) ? classify_header(name) : header_id::other;
    mode_ = mode::none;
    if (trailer_) {
        // RFC 9110 §6.5.1: fields for framing, routing or connection management cannot be
        // processed after the content; a trailer carrying one is refused, not ignored.
        switch (id_) {
            case header_id::host:
            case header_id::content_length:
            case header_id::transfer_encoding:
            case header_id::connection:
            case header_id::keep_alive:
            case header_id::proxy_connection:
            case header_id::te:
            case header_id::upgrade:
            case header_id::expect:
            case header_id::trailer:
                return error::bad_trailer;
            default:
                return error::none;
        }
    }
    switch (id_) {
        case header_id::host:
            // RFC 9112 §3.2: more than one Host field line → 400.
            if (++fr_.host_count > 1) {
                return error::duplicate_host;
            }
            cl_ws_ = false;
            mode_ = mode::host;
            break;
        case header_id::content_length:
            // RFC 9112 §6.3 item 5 lets a recipient merge identical values; we refuse any
            // second Content-Length, equal or not: nothing legitimate sends two.
            if (++fr_.cl_count > 1) {
                return error::duplicate_content_length;
            }
            cl_digits_ = 0;
            cl_ws_ = false;
            cl_acc_ = 0;
            mode_ = mode::content_length;
            break;
        case header_id::transfer_encoding:
            fr_.te_present = true;
            [[fallthrough]];
        case header_id::connection:
        case header_id::expect:
            tok_len_ = 0;
            tok_ended_ = false;
            tok_bad_ = false;
            in_params_ = false;
            mode_ = mode::list;
            break;
        case header_id::upgrade:
            fr_.upgrade_present = true;
            break;
        default:
            break;
    }
    return error::none;
}

error field_section::end_element(connection_info& conn) noexcept {
    const bool params = in_params_;
    const std::uint32_t len = tok_len_;
    const bool bad = tok_bad_;
    tok_len_ = 0;
    tok_ended_ = false;
    tok_bad_ = false;
    in_params_ = false;
    if (len == 0 && !bad && !params) {
        // RFC 9110 §5.6.1.2 says to ignore empty list elements, but parsers disagree on them in
        // Transfer-Encoding (libhttp-parser then misses "chunked"), so there they are refused.
        return id_ == header_id::transfer_encoding ? error::bad_header_value : error::none;
    }
    const std::string_view t(tbuf_, len <= sizeof(tbuf_) ? len : 0);
    switch (id_) {
        case header_id::transfer_encoding:
            // RFC 9112 §6.1: chunked MUST be applied once and MUST be the final coding.
            if (fr_.te_last_chunked) {
                fr_.te_chunked_not_last = true;
            }
            if (bad || params || len == 0) {
                fr_.te_unknown = true;  // we accept no transfer-parameters
                fr_.te_last_chunked = false;
            } else if (t == "chunked") {
                fr_.te_last_chunked = true;
            } else {
                fr_.te_unknown = fr_.te_unknown || !is_known_coding(t);
                fr_.te_last_chunked = false;
            }
            return error::none;
        case header_id::connection:
            // RFC 9110 §7.6.1: Connection = #connection-option, each a token.
            if (bad || params || len == 0) {
                return error::bad_header_value;
            }
            if (t == "close") {
                conn.close = true;
            } else if (t == "keep-alive") {
                conn.keep_alive = true;
            } else if (t == "upgrade") {
                conn.upgrade = true;
            }
            if (conn.token_count < max_connection_tokens) {
                conn.tokens[conn.token_count++] = {tok_off_, len};
            } else {
                conn.truncated = true;
            }
            return error::none;
        case header_id::expect:
            // RFC 9110 §10.1.1: only 100-continue is defined; others are ignored here.
            if (!bad && !params && t == "100-continue") {
                fr_.expect_continue = true;
            }
            return error::none;
        default:
            return error::none;
    }
}

error field_section::value_byte(char c, std::uint32_t off, connection_info& conn) noexcept {
    if (mode_ == mode::content_length) {
        // RFC 9112 §6.2: Content-Length = 1*DIGIT. A list ("5, 5") is refused like two fields.
        if (is(c, c_digit)) {
            if (cl_ws_) {
                return error::bad_content_length;
            }
            const auto d = static_cast<std::uint64_t>(c - '0');
            if (cl_acc_ > (max_content_length - d) / 10) {
                return error::bad_content_length;
            }
            cl_acc_ = cl_acc_ * 10 + d;
            ++cl_digits_;
            return error::none;
        }
        if (c == ',') {
            return error::duplicate_content_length;
        }
        if (is(c, c_ws)) {
            cl_ws_ = true;
            return error::none;
        }
        return error::bad_content_length;
    }
    // mode::list
    if (in_params_) {
        return c == ',' ? end_element(conn) : error::none;
    }
    if (c == ',') {
        return end_element(conn);
    }
    if (is(c, c_ws)) {
        tok_ended_ = tok_len_ > 0 || tok_bad_;
        return error::none;
    }
    if (c == ';') {
        in_params_ = true;
        return error::none;
    }
    if (tok_ended_ || !is(c, c_tchar)) {
        tok_bad_ = true;
        return error::none;
    }
    if (tok_len_ == 0) {
        tok_off_ = off;
    }
    if (tok_len_ < sizeof(tbuf_)) {
        tbuf_[tok_len_] = lower(c);
    }
    ++tok_len_;
    return error::none;
}

[[gnu::always_inline]] inline error field_section::end_field(header_field* out,
                                                             std::uint16_t& count,
                                                             connection_info& conn) noexcept {
    if (mode_ == mode::content_length) {
        if (cl_digits_ == 0) {
            return error::bad_content_length;
        }
        fr_.cl_value = cl_acc_;
    } else if (mode_ == mode::list) {
        if (auto e = end_element(conn); e != error::none) {
            return e;
        }
    } else if (mode_ == mode::host) {
        fr_.host = {val_off_, val_end_ - val_off_};
    }
    if (out != nullptr && count < max_headers_cap) {
        out[count] = {{name_off_, name_len_}, {val_off_, val_end_ - val_off_}, id_};
    }
    ++count;
    return error::none;
}

std::uint32_t field_section::feed(const char* p, std::uint32_t n, std::uint32_t pos,
                                  header_field* out, std::uint16_t& count, connection_info& conn,
                                  const limits& l) noexcept {
    std::uint32_t i = 0;
    while (i < n) {
        switch (st_) {
            case st::line_start: {
                const char c = p[i];
                if (c == '\r') {
                    st_ = st::end_cr;
                    ++i;
                    break;
                }
                if (c == '\n') {
                    return fail(error::bare_lf, i);
                }
                if (is(c, c_ws)) {
                    // RFC 9112 §5.2: obs-fold MAY be rejected (we do); §2.2: whitespace right
                    // after the start line MUST be rejected or skipped (we reject).
                    return fail(count == 0 && !trailer_ ? error::ws_after_start_line
                                                        : error::obs_fold,
                                i);
                }
                if (!is(c, c_tchar)) {
                    return fail(error::bad_header_name, i);
                }
                if (count >= l.max_headers) {
                    return fail(error::too_many_headers, i);
                }
                name_off_ = pos + i;
                name_len_ = 0;
                nbuf_len_ = 0;
                st_ = st::name;
                [[fallthrough]];  // the usual path runs line_start → name → value in one go
            }
            case st::name: {
                const std::uint32_t j = scan_class(p, i, n, tchar_class, c_tchar);
                const std::uint32_t run = j - i;
                // A name cut by the span end is kept (lower-cased prefix) for classification;
                // a name wholly in this span is classified in place, without a copy.
                if (j == n || nbuf_len_ != 0) {
                    for (std::uint32_t k = i; k < j && nbuf_len_ < sizeof(nbuf_); ++k) {
                        nbuf_[nbuf_len_++] = lower(p[k]);
                    }
                }
                name_len_ += run;
                i = j;
                if (i == n) {
                    return n;
                }
                const char c = p[i];
                if (c != ':') {
                    // RFC 9112 §5.1: no whitespace between field name and colon, MUST reject.
                    return fail(is(c, c_ws) ? error::space_before_colon : error::bad_header_name,
                                i);
                }
                const std::string_view name = nbuf_len_ != 0 ? std::string_view(nbuf_, nbuf_len_)
                                                             : std::string_view(p + i - run, run);
                if (auto e = begin_value(name); e != error::none) {
                    return fail(e, i);
                }
                st_ = st::value_ows;
                ++i;
                [[fallthrough]];
            }
            case st::value_ows: {
                while (i < n && is(p[i], c_ws)) {
                    ++i;
                }
                if (i == n) {
                    return n;
                }
                const char c = p[i];
                val_off_ = val_end_ = pos + i;
                if (c == '\r') {
                    st_ = st::value_cr;
                    ++i;
                    break;
                }
                if (c == '\n') {
                    return fail(error::bare_lf, i);
                }
                if (!is(c, c_vchar)) {
                    return fail(error::bad_header_value, i);
                }
                st_ = st::value;
                [[fallthrough]];
            }
            case st::value: {
                std::uint32_t j = i;
                if (mode_ == mode::none) {
                    j = scan_value(p, i, n);
                } else if (mode_ == mode::host) {
                    // RFC 9110 §7.2: Host = uri-host [ ":" port ]; OWS only at the end.
                    for (; j < n; ++j) {
                        const char d = p[j];
                        if (is(d, c_auth) || d == '%') {
                            if (cl_ws_) {
                                return fail(error::bad_host, j);
                            }
                        } else if (is(d, c_ws)) {
                            cl_ws_ = true;
                        } else if (is(d, c_vchar)) {
                            return fail(error::bad_host, j);
                        } else {
                            break;
                        }
                    }
                } else {
                    for (; j < n; ++j) {
                        const char d = p[j];
                        // Token bytes of a list element, the bulk of Connection and
                        // Transfer-Encoding values, are taken here; the rest byte by byte.
                        if (mode_ == mode::list && !in_params_ && !tok_ended_ && !tok_bad_ &&
                            is(d, c_tchar)) {
                            if (tok_len_ == 0) {
                                tok_off_ = pos + j;
                            }
                            if (tok_len_ < sizeof(tbuf_)) {
                                tbuf_[tok_len_] = lower(d);
                            }
                            ++tok_len_;
                            continue;
                        }
                        if (!is(d, c_vchar | c_ws)) {
                            break;
                        }
                        if (auto e = value_byte(d, pos + j, conn); e != error::none) {
                            return fail(e, j);
                        }
                    }
                }
                // The value ends after its last non-OWS byte (RFC 9110 §5.5: OWS is not part of
                // it). If this span holds only OWS, the end found in an earlier span stands.
                std::uint32_t k = j;
                while (k > i && is(p[k - 1], c_ws)) {
                    --k;
                }
                if (k > i) {
                    val_end_ = pos + k;
                }
                i = j;
                if (i == n) {
                    return n;
                }
                const char c = p[i];
                if (c == '\r') {
                    if (i + 1 < n && p[i + 1] == '\n') {  // CRLF in this span: end the field now
                        if (auto e = end_field(out, count, conn); e != error::none) {
                            return fail(e, i + 1);
                        }
                        st_ = st::line_start;
                        i += 2;
                        break;
                    }
                    st_ = st::value_cr;
                    ++i;
                    break;
                }
                // NUL and other controls (RFC 9110 §5.5) and a lone LF (RFC 9112 §2.2).
                return fail(c == '\n' ? error::bare_lf : error::bad_header_value, i);
            }
            case st::value_cr:
                if (p[i] != '\n') {
                    return fail(error::bare_cr, i);  // RFC 9112 §2.2: bare CR is invalid
                }
                if (auto e = end_field(out, count, conn); e != error::none) {
                    return fail(e, i);
                }
                st_ = st::line_start;
                ++i;
                break;
            case st::end_cr:
                if (p[i] != '\n') {
                    return fail(error::bare_cr, i);
                }
                done_ = true;
                return i + 1;
        }
    }
    return n;
}

}  // namespace sluice::dp::proxy::http::detail
