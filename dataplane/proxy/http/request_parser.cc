// See request_parser.hh. RFC 9112 §3 (request line), §3.2 (request-target, Host), §6 (framing).
#include "request_parser.hh"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "http_chars.hh"

namespace sluice::dp::proxy::http {

using namespace detail;

namespace {

method method_of(std::string_view t) noexcept {
    // RFC 9110 §9.1: methods are case-sensitive.
    switch (t.size()) {
        case 3:
            return t == "GET" ? method::get : t == "PUT" ? method::put : method::other;
        case 4:
            return t == "HEAD" ? method::head : t == "POST" ? method::post : method::other;
        case 5:
            return t == "TRACE" ? method::trace : t == "PATCH" ? method::patch : method::other;
        case 6:
            return t == "DELETE" ? method::delete_ : method::other;
        case 7:
            return t == "OPTIONS" ? method::options
                   : t == "CONNECT" ? method::connect
                                    : method::other;
        default:
            return method::other;
    }
}

}  // namespace

request_parser::request_parser(const limits& l) noexcept : lim_(l) {
    lim_.max_headers = std::min(lim_.max_headers, max_headers_cap);
    reset();
}

void request_parser::reset() noexcept {
    state_ = state::need_more;
    err_ = error::none;
    in_fields_ = false;
    rl_ = rl::lead;
    pos_ = 0;
    hdr_start_ = 0;
    tok_len_ = 0;
    vi_ = 0;
    colon_ = false;
    port_digits_ = 0;
    fields_.reset(false);
    // Only the scalars: the header array is overwritten up to header_count.
    head_.m = method::other;
    head_.method_tok = head_.target = head_.path = head_.query = head_.host = {};
    head_.version_minor = 1;
    head_.body = body_kind::none;
    head_.content_length = 0;
    head_.keep_alive = head_.expect_continue = head_.upgrade = head_.absolute_form = false;
    head_.head_len = 0;
    head_.conn.close = head_.conn.keep_alive = head_.conn.upgrade = head_.conn.truncated = false;
    head_.conn.token_count = 0;
    head_.header_count = 0;
}

std::uint32_t request_parser::fail(error e, std::uint32_t at) noexcept {
    err_ = e;
    state_ = state::error;
    return at;
}

void request_parser::end_target(std::uint32_t at) noexcept {
    head_.target.len = at - head_.target.off;
    if (head_.query.off != 0) {
        head_.query.len = at - head_.query.off;
    } else if (head_.path.off != 0) {
        head_.path.len = at - head_.path.off;
    }
    rl_ = rl::version;
    vi_ = 0;
}

// RFC 9112 §3, the common shape whole in this span, at the start of the line:
//   ("GET" / "PUT" / "HEAD" / "POST") SP "/" *c_path [ "?" *c_query ] SP "HTTP/1." ("0" / "1")
//   CRLF
// (origin-form, §3.2.1, with no pct-encoding). The method is one word compare, the target a class scan
// (scan_class: 16 bytes at a time), the version one 8-byte compare. Returns the bytes through the
// LF with the head recorded as feed_line's byte loop records it, or 0, having recorded nothing,
// for anything else (other methods, other target forms, '%', a bad byte, a line cut by the span
// end), which the byte loop then accepts or refuses exactly as before.
std::uint32_t request_parser::fast_line(const char* p, std::uint32_t n) noexcept {
    // The shortest such line is "GET / HTTP/1.1\r\n".
    if (n < 16) {
        return 0;
    }
    const auto w = load_word<std::uint32_t>(p);
    method m;
    std::uint32_t ml;
    if (w == le_word<std::uint32_t>("GET ")) {
        m = method::get;
        ml = 3;
    } else if (w == le_word<std::uint32_t>("PUT ")) {
        m = method::put;
        ml = 3;
    } else if (p[4] != ' ') {
        return 0;
    } else if (w == le_word<std::uint32_t>("POST")) {
        m = method::post;
        ml = 4;
    } else if (w == le_word<std::uint32_t>("HEAD")) {
        m = method::head;
        ml = 4;
    } else {
        return 0;
    }
    const std::uint32_t path = ml + 1;
    if (p[path] != '/') {
        return 0;  // asterisk-, absolute- or authority-form, or an error: the byte loop decides
    }
    std::uint32_t i = scan_class(p, path + 1, n, path_class, c_path);
    std::uint32_t query = 0;
    if (i < n && p[i] == '?') {
        query = i + 1;
        i = scan_class(p, query, n, query_class, c_query);
    }
    // SP "HTTP/1.x" CR LF: 11 bytes.
    if (n - i < 11 || p[i] != ' ') {
        return 0;
    }
    const auto v = load_word<std::uint64_t>(p + i + 1);
    std::uint8_t minor;
    if (v == le_word<std::uint64_t>("HTTP/1.1")) {
        minor = 1;
    } else if (v == le_word<std::uint64_t>("HTTP/1.0")) {
        minor = 0;
    } else {
        return 0;
    }
    if (p[i + 9] != '\r' || p[i + 10] != '\n') {
        return 0;
    }
    head_.m = m;
    head_.method_tok = {pos_, ml};
    tok_len_ = ml;
    head_.target = {pos_ + path, i - path};
    head_.path.off = pos_ + path;
    if (query != 0) {
        head_.path.len = query - 1 - path;
        head_.query = {pos_ + query, i - query};
    } else {
        head_.path.len = i - path;
    }
    head_.version_minor = minor;
    rl_ = rl::version;
    in_fields_ = true;
    hdr_start_ = pos_ + i + 11;
    return i + 11;
}

// One byte at a time, except the method and path runs, which are scanned in tight loops.
std::uint32_t request_parser::feed_line(const char* p, std::uint32_t n) noexcept {
    if (rl_ == rl::lead) {
        if (const std::uint32_t k = fast_line(p, n); k != 0) {
            return k;
        }
    }
    std::uint32_t i = 0;
    while (i < n) {
        const char c = p[i];
        const std::uint32_t at = pos_ + i;
        switch (rl_) {
            case rl::lead:
                // RFC 9112 §2.2: SHOULD ignore at least one empty line before the request line.
                if (c == '\r') {
                    rl_ = rl::lead_lf;
                    ++i;
                    break;
                }
                if (c == '\n') {
                    return fail(error::bare_lf, i);
                }
                head_.method_tok.off = at;
                rl_ = rl::method;
                break;
            case rl::lead_lf:
                if (c != '\n') {
                    return fail(error::bare_cr, i);
                }
                rl_ = rl::lead;
                ++i;
                break;
            case rl::method: {
                std::uint32_t j = i;
                while (j < n && is(p[j], c_tchar)) {
                    ++j;
                }
                // Decoded in place when whole in this span; a method cut by the span end is
                // kept in tbuf_ (the longest known method fits).
                const bool cut = j == n || tok_len_ != 0;
                for (std::uint32_t k = i; cut && k < j; ++k) {
                    if (tok_len_ < sizeof(tbuf_)) {
                        tbuf_[tok_len_] = p[k];
                    }
                    ++tok_len_;
                }
                const std::uint32_t run = j - i;
                i = j;
                if (i == n) {
                    return n;
                }
                const char* mtok = p + i - run;
                if (cut) {
                    mtok = tbuf_;
                } else {
                    tok_len_ = run;
                }
                // RFC 9112 §3: method SP request-target SP HTTP-version; method = token.
                if (p[i] != ' ' || tok_len_ == 0) {
                    return fail(error::bad_method, i);
                }
                head_.method_tok.len = tok_len_;
                head_.m = tok_len_ <= sizeof(tbuf_) ? method_of({mtok, tok_len_}) : method::other;
                if (head_.m == method::connect && !lim_.allow_connect) {
                    return fail(error::connect_unsupported, i);
                }
                rl_ = rl::target_start;
                ++i;
                break;
            }
            case rl::target_start:
                head_.target.off = at;
                if (head_.m == method::connect) {
                    // RFC 9112 §3.2.3: CONNECT takes the authority-form, and only it.
                    if (!is(c, c_auth)) {
                        return fail(error::bad_target, i);
                    }
                    head_.host.off = at;
                    rl_ = rl::connect_auth;
                } else if (c == '/') {
                    head_.path.off = at;  // origin-form (RFC 9112 §3.2.1)
                    rl_ = rl::path;
                    ++i;
                } else if (c == '*') {
                    // RFC 9112 §3.2.4: asterisk-form only for OPTIONS.
                    if (head_.m != method::options) {
                        return fail(error::bad_target, i);
                    }
                    rl_ = rl::asterisk;
                    ++i;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                    head_.absolute_form = true;  // RFC 9112 §3.2.2
                    tok_len_ = 0;
                    rl_ = rl::scheme;
                } else {
                    return fail(error::bad_target, i);
                }
                break;
            case rl::path:
            case rl::query: {
                const std::uint8_t cls = rl_ == rl::path ? c_path : c_query;
                std::uint32_t j = i;
                while (j < n && is(p[j], cls)) {
                    ++j;
                }
                i = j;
                if (i == n) {
                    return n;
                }
                const char d = p[i];
                const std::uint32_t dat = pos_ + i;
                if (d == ' ') {
                    end_target(dat);
                } else if (d == '%') {
                    pct_ret_ = rl_;
                    rl_ = rl::pct1;
                } else if (d == '?' && rl_ == rl::path) {
                    head_.path.len = dat - head_.path.off;
                    head_.query.off = dat + 1;
                    rl_ = rl::query;
                } else {
                    // '#' (no fragment in a request-target), controls, and characters RFC 3986
                    // does not allow; CR or LF here means a missing version (HTTP/0.9).
                    return fail(d == '\r' || d == '\n' ? error::bad_version : error::bad_target,
                                i);
                }
                ++i;
                break;
            }
            case rl::pct1:
            case rl::pct2:
                // RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG.
                if (!is(c, c_hex)) {
                    return fail(error::bad_target, i);
                }
                rl_ = rl_ == rl::pct1 ? rl::pct2 : pct_ret_;
                ++i;
                break;
            case rl::asterisk:
                if (c != ' ') {
                    return fail(error::bad_target, i);
                }
                end_target(at);
                ++i;
                break;
            case rl::scheme:
                if (c == ':') {
                    // The gateway serves http and https URIs only (RFC 9110 §4.2).
                    const std::string_view s(tbuf_, tok_len_ <= sizeof(tbuf_) ? tok_len_ : 0);
                    if (s != "http" && s != "https") {
                        return fail(error::bad_target, i);
                    }
                    rl_ = rl::slash1;
                } else if (is(c, c_tchar) && c != '_' && c != '!') {
                    if (tok_len_ < sizeof(tbuf_)) {
                        tbuf_[tok_len_] = lower(c);
                    }
                    ++tok_len_;
                } else {
                    return fail(error::bad_target, i);
                }
                ++i;
                break;
            case rl::slash1:
            case rl::slash2:
                if (c != '/') {
                    return fail(error::bad_target, i);
                }
                rl_ = rl_ == rl::slash1 ? rl::slash2 : rl::authority;
                head_.host.off = at + 1;
                ++i;
                break;
            case rl::authority:
                if (is(c, c_auth)) {
                    ++i;
                    break;
                }
                if (at == head_.host.off) {
                    return fail(error::bad_target, i);  // RFC 9110 §4.2.1: empty host invalid
                }
                if (c == '/' || c == '?' || c == ' ') {
                    head_.host.len = at - head_.host.off;
                    head_.path.off = at;
                    if (c == '/') {
                        rl_ = rl::path;
                    } else if (c == '?') {
                        head_.query.off = at + 1;
                        rl_ = rl::query;
                    } else {
                        end_target(at);
                    }
                    ++i;
                    break;
                }
                // '@': userinfo is deprecated and refused (RFC 9110 §4.2.4); '%' and the rest.
                return fail(error::bad_target, i);
            case rl::connect_auth:
                if (c == ' ') {
                    // RFC 9110 §9.3.6: authority-form needs a port.
                    if (!colon_ || port_digits_ == 0 || at == head_.host.off) {
                        return fail(error::bad_target, i);
                    }
                    head_.host.len = at - head_.host.off;
                    end_target(at);
                } else if (c == ':') {
                    colon_ = true;
                    port_digits_ = 0;
                } else if (is(c, c_digit)) {
                    port_digits_ += colon_ ? 1 : 0;
                } else if (is(c, c_auth)) {
                    colon_ = false;  // host characters, or an IPv6 literal's brackets
                } else {
                    return fail(error::bad_target, i);
                }
                ++i;
                break;
            case rl::version: {
                // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
                static constexpr char proto[] = "HTTP/";
                // Fast path: "HTTP/1.x\r\n" whole in this span.
                if (vi_ == 0 && n - i >= 10 && std::memcmp(p + i, "HTTP/1.", 7) == 0 &&
                    is(p[i + 7], c_digit) && p[i + 8] == '\r' && p[i + 9] == '\n') {
                    head_.version_minor = p[i + 7] == '0' ? 0 : 1;
                    in_fields_ = true;
                    hdr_start_ = at + 10;
                    return i + 10;
                }
                if (vi_ < 5) {
                    if (c != proto[vi_]) {
                        return fail(error::bad_version, i);
                    }
                } else if (vi_ == 5 || vi_ == 7) {
                    if (!is(c, c_digit)) {
                        return fail(error::bad_version, i);
                    }
                    (vi_ == 5 ? major_ : minor_) = static_cast<std::uint8_t>(c - '0');
                } else if (vi_ == 6) {
                    if (c != '.') {
                        return fail(error::bad_version, i);
                    }
                } else {
                    if (c == '\n') {
                        return fail(error::bare_lf, i);
                    }
                    if (c != '\r') {
                        return fail(error::bad_version, i);
                    }
                    rl_ = rl::line_lf;
                }
                ++vi_;
                ++i;
                break;
            }
            case rl::line_lf:
                if (c != '\n') {
                    return fail(error::bare_cr, i);
                }
                // RFC 9110 §6.2: a higher minor version is handled as the highest we support;
                // another major version is not HTTP/1 (505, RFC 9110 §15.6.6).
                if (major_ != 1) {
                    return fail(error::unsupported_version, i);
                }
                head_.version_minor = minor_ == 0 ? 0 : 1;
                in_fields_ = true;
                hdr_start_ = at + 1;
                return i + 1;
        }
    }
    return n;
}

void request_parser::finish() noexcept {
    const framing& fr = fields_.frame();
    head_.head_len = pos_;
    // RFC 9112 §6.1 and §6.3: both framings is the classic smuggling vector; refuse it.
    if (fr.cl_count != 0 && fr.te_present) {
        fail(error::cl_and_te, 0);
        return;
    }
    if (fr.te_present) {
        if (head_.version_minor == 0) {
            fail(error::te_in_http10, 0);
            return;
        }
        if (fr.te_chunked_not_last) {
            fail(error::chunked_not_final, 0);
            return;
        }
        if (fr.te_unknown) {
            fail(error::unsupported_transfer_coding, 0);
            return;
        }
        if (!fr.te_last_chunked) {
            fail(error::chunked_not_final, 0);
            return;
        }
        head_.body = body_kind::chunked;
    } else if (fr.cl_count != 0) {
        head_.body = body_kind::length;
        head_.content_length = fr.cl_value;
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused with 400.
    if (fr.host_count == 0 && head_.version_minor == 1) {
        fail(error::missing_host, 0);
        return;
    }
    if (!head_.absolute_form) {
        head_.host = fr.host;  // absolute-form authority wins otherwise (RFC 9112 §3.2.2)
    }
    head_.keep_alive = head_.version_minor == 1 ? !head_.conn.close
                                                : head_.conn.keep_alive && !head_.conn.close;
    head_.expect_continue = fr.expect_continue;
    head_.upgrade = fr.upgrade_present && head_.conn.upgrade;
    state_ = state::done;
}

std::uint32_t request_parser::feed_head(const char* p, std::uint32_t n) noexcept {
    std::uint32_t used = 0;
    while (used < n && state_ == state::need_more) {
        // Each phase gets at most its remaining budget, so the limit error comes at the same byte
        // however the input is split, and an earlier syntax error always wins.
        if (!in_fields_) {
            if (pos_ >= lim_.max_request_line) {
                fail(error::request_line_too_long, 0);
                break;
            }
            const std::uint32_t take = std::min(n - used, lim_.max_request_line - pos_);
            const std::uint32_t k = feed_line(p + used, take);
            used += k;
            pos_ += k;
        } else {
            const std::uint32_t section = pos_ - hdr_start_;
            if (section >= lim_.max_header_bytes) {
                fail(error::headers_too_large, 0);
                break;
            }
            const std::uint32_t take = std::min(n - used, lim_.max_header_bytes - section);
            const std::uint32_t k = fields_.feed(p + used, take, pos_, head_.headers,
                                                 head_.header_count, head_.conn, lim_);
            used += k;
            pos_ += k;
            if (fields_.err() != error::none) {
                fail(fields_.err(), 0);
            } else if (fields_.done()) {
                finish();
            }
        }
    }
    return used;
}

}  // namespace sluice::dp::proxy::http
