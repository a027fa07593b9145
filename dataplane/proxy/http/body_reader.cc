// See body_reader.hh. RFC 9112 §7.1 (chunked), §7.1.1 (chunk extensions), §7.1.2 (trailers).
#include "body_reader.hh"

#include <algorithm>

#include "http_chars.hh"

namespace sluice::dp::proxy::http {

using namespace detail;

namespace {
constexpr std::uint64_t max_chunk_size = (std::uint64_t{1} << 63) - 1;
}

void body_reader::start(body_kind k, std::uint64_t content_length) noexcept {
    err_ = error::none;
    total_ = 0;
    remaining_ = 0;
    switch (k) {
        case body_kind::none:
            st_ = st::done;
            break;
        case body_kind::length:
            remaining_ = content_length;
            st_ = content_length == 0 ? st::done : st::length;
            break;
        case body_kind::chunked:
            st_ = st::size;
            line_bytes_ = 0;
            size_digits_ = 0;
            break;
        case body_kind::until_close:
            st_ = st::until_close;
            break;
    }
}

body_reader::step body_reader::fail(step s, error e, std::uint32_t at) noexcept {
    st_ = st::failed;
    err_ = e;
    s.consumed = at;
    s.err = e;
    return s;
}

body_reader::step body_reader::feed(const char* p, std::uint32_t n) noexcept {
    step s;
    std::uint32_t i = 0;
    while (i < n) {
        const char c = p[i];
        // Every state of the chunk-size line counts its bytes against max_chunk_line.
        if (st_ >= st::size && st_ <= st::size_lf && ++line_bytes_ > lim_.max_chunk_line) {
            return fail(s, error::chunk_ext_too_long, i);
        }
        switch (st_) {
            case st::done:
                s.consumed = i;
                s.done = true;
                return s;
            case st::failed:
                return fail(s, err_, i);
            case st::length:
            case st::until_close:
            case st::data: {
                const std::uint32_t run =
                    st_ == st::until_close
                        ? n - i
                        : static_cast<std::uint32_t>(std::min<std::uint64_t>(n - i, remaining_));
                s.payload_off = i;
                s.payload_len = run;
                total_ += run;
                i += run;
                if (st_ != st::until_close) {
                    remaining_ -= run;
                    if (remaining_ == 0) {
                        st_ = st_ == st::data ? st::data_cr : st::done;
                    }
                }
                s.consumed = i;
                s.done = st_ == st::done;
                return s;
            }
            case st::size: {
                // chunk-size = 1*HEXDIG, bounded to 2^63 - 1.
                const int v = hex_value(c);
                if (v >= 0) {
                    if (remaining_ > (max_chunk_size >> 4)) {
                        return fail(s, error::bad_chunk_size, i);
                    }
                    remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(v);
                    ++size_digits_;
                    break;
                }
                if (size_digits_ == 0) {
                    return fail(s, error::bad_chunk_size, i);
                }
                if (c == ';') {
                    st_ = st::ext_ws;
                } else if (is(c, c_ws)) {
                    st_ = st::size_ws;
                } else if (c == '\r') {
                    st_ = st::size_lf;
                } else {
                    return fail(s, c == '\n' ? error::bare_lf : error::bad_chunk_size, i);
                }
                break;
            }
            case st::size_ws:
            case st::ext_after_val:
            case st::ext_name_ws:
                // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
                if (is(c, c_ws)) {
                    break;
                }
                if (c == ';') {
                    st_ = st::ext_ws;
                } else if (c == '=' && st_ == st::ext_name_ws) {
                    st_ = st::ext_val_ws;
                } else if (c == '\r' && st_ != st::size_ws) {
                    st_ = st::size_lf;
                } else {
                    return fail(s, c == '\n' ? error::bare_lf : error::bad_chunk_ext, i);
                }
                break;
            case st::ext_ws:
            case st::ext_val_ws:
                if (is(c, c_ws)) {
                    break;
                }
                if (st_ == st::ext_val_ws && c == '"') {
                    st_ = st::ext_quoted;
                } else if (is(c, c_tchar)) {
                    st_ = st_ == st::ext_ws ? st::ext_name : st::ext_token;
                } else {
                    return fail(s, error::bad_chunk_ext, i);
                }
                break;
            case st::ext_name:
            case st::ext_token:
                if (is(c, c_tchar)) {
                    break;
                }
                if (c == '\r') {
                    st_ = st::size_lf;
                } else if (c == ';') {
                    st_ = st::ext_ws;
                } else if (c == '=' && st_ == st::ext_name) {
                    st_ = st::ext_val_ws;
                } else if (is(c, c_ws)) {
                    st_ = st_ == st::ext_name ? st::ext_name_ws : st::ext_after_val;
                } else {
                    return fail(s, c == '\n' ? error::bare_lf : error::bad_chunk_ext, i);
                }
                break;
            case st::ext_quoted:
                // RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                if (c == '"') {
                    st_ = st::ext_after_val;
                } else if (c == '\\') {
                    st_ = st::ext_qpair;
                } else if (!is(c, c_vchar | c_ws) || c == 0x7f) {
                    return fail(s, error::bad_chunk_ext, i);
                }
                break;
            case st::ext_qpair:
                if (!is(c, c_vchar | c_ws)) {
                    return fail(s, error::bad_chunk_ext, i);
                }
                st_ = st::ext_quoted;
                break;
            case st::size_lf:
                if (c != '\n') {
                    return fail(s, error::bare_cr, i);
                }
                line_bytes_ = 0;
                size_digits_ = 0;
                if (remaining_ == 0) {
                    st_ = st::trailers;  // last-chunk: the trailer section follows
                    trailer_.reset(true);
                    trailer_bytes_ = 0;
                    trailer_count_ = 0;
                } else {
                    st_ = st::data;
                }
                break;
            case st::data_cr:
            case st::data_lf:
                // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
                if (c != (st_ == st::data_cr ? '\r' : '\n')) {
                    return fail(s, error::bad_chunk_terminator, i);
                }
                st_ = st_ == st::data_cr ? st::data_lf : st::size;
                break;
            case st::trailers: {
                if (trailer_bytes_ >= lim_.max_header_bytes) {
                    return fail(s, error::headers_too_large, i);
                }
                const std::uint32_t take = std::min(n - i, lim_.max_header_bytes - trailer_bytes_);
                const std::uint32_t k = trailer_.feed(p + i, take, trailer_bytes_, nullptr,
                                                      trailer_count_, unused_conn_, lim_);
                trailer_bytes_ += k;
                i += k;
                if (trailer_.err() != error::none) {
                    const error e = trailer_.err() == error::too_many_headers
                                        ? error::too_many_headers
                                        : error::bad_trailer;
                    return fail(s, e, i);
                }
                if (trailer_.done()) {
                    st_ = st::done;
                    s.consumed = i;
                    s.done = true;
                    return s;
                }
                continue;  // `i` already advanced
            }
        }
        ++i;
    }
    s.consumed = i;
    s.done = st_ == st::done;
    return s;
}

}  // namespace sluice::dp::proxy::http
