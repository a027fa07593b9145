// See response_parser.hh. RFC 9112 §4 (status line), §6.3 (message body length).
#include "response_parser.hh"

#include <algorithm>
#include <cstring>

#include "http_chars.hh"

namespace sluice::dp::proxy::http {

using namespace detail;

namespace {
// Status-line positions: "HTTP/" 0-4, major 5, '.' 6, minor 7, SP 8, status 9-11, then
// SP (reason follows) or CR; 12 = reason, 13 = LF expected.
constexpr std::uint8_t si_reason = 12;
constexpr std::uint8_t si_lf = 13;
}  // namespace

response_parser::response_parser(const limits& l) noexcept : lim_(l) {
    lim_.max_headers = std::min(lim_.max_headers, max_headers_cap);
    reset();
}

void response_parser::reset(bool request_was_head) noexcept {
    state_ = state::need_more;
    err_ = error::none;
    head_request_ = request_was_head;
    in_fields_ = false;
    si_ = 0;
    major_ = 0;
    pos_ = 0;
    hdr_start_ = 0;
    fields_.reset(false);
    head_.status = 0;
    head_.version_minor = 1;
    head_.reason = {};
    head_.body = body_kind::none;
    head_.content_length = 0;
    head_.keep_alive = false;
    head_.head_len = 0;
    head_.conn.close = head_.conn.keep_alive = head_.conn.upgrade = head_.conn.truncated = false;
    head_.conn.token_count = 0;
    head_.header_count = 0;
}

std::uint32_t response_parser::fail(error e, std::uint32_t at) noexcept {
    err_ = e;
    state_ = state::error;
    return at;
}

std::uint32_t response_parser::feed_line(const char* p, std::uint32_t n) noexcept {
    static constexpr char proto[] = "HTTP/";
    std::uint32_t i = 0;
    // The usual start, "HTTP/1.x DDD" whole in this span, checked in one go with the checks the
    // byte loop makes; the loop takes everything else, every error and every split included.
    if (si_ == 0 && n >= si_reason && std::memcmp(p, "HTTP/1.", 7) == 0 && is(p[7], c_digit) &&
        p[8] == ' ' && p[9] >= '1' && p[9] <= '5' && is(p[10], c_digit) && is(p[11], c_digit)) {
        major_ = 1;
        head_.version_minor = p[7] == '0' ? 0 : 1;
        head_.status =
            static_cast<std::uint16_t>((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
        si_ = si_reason;
        i = si_reason;
        // And the usual end, SP reason-phrase CRLF (RFC 9112 §4), when whole in this span.
        if (n >= si_reason + 3 && p[si_reason] == ' ') {
            const std::uint32_t j = scan_value(p, si_reason + 1, n);
            if (j + 1 < n && p[j] == '\r' && p[j + 1] == '\n') {
                head_.reason = {pos_ + si_reason + 1, j - si_reason - 1};
                si_ = si_lf;
                in_fields_ = true;
                hdr_start_ = pos_ + j + 2;
                return j + 2;
            }
        }
    }
    while (i < n) {
        const char c = p[i];
        const std::uint32_t at = pos_ + i;
        if (si_ < 5) {
            if (c != proto[si_]) {
                return fail(error::bad_status_line, i);
            }
        } else if (si_ == 5 || si_ == 7) {
            if (!is(c, c_digit)) {
                return fail(error::bad_status_line, i);
            }
            if (si_ == 5) {
                major_ = static_cast<std::uint8_t>(c - '0');
            } else {
                head_.version_minor = c == '0' ? 0 : 1;
            }
        } else if (si_ == 6) {
            if (c != '.') {
                return fail(error::bad_status_line, i);
            }
        } else if (si_ == 8) {
            if (c != ' ') {
                return fail(error::bad_status_line, i);
            }
            if (major_ != 1) {
                return fail(error::unsupported_version, i);
            }
        } else if (si_ <= 11) {
            // RFC 9112 §4: status-code = 3DIGIT; RFC 9110 §15: 100..599.
            if (!is(c, c_digit) || (si_ == 9 && (c < '1' || c > '5'))) {
                return fail(error::bad_status_line, i);
            }
            head_.status = static_cast<std::uint16_t>(head_.status * 10 + (c - '0'));
        } else if (si_ == si_reason) {
            // After the code: SP reason-phrase, or (leniently, common in the wild) CR at once.
            if (c == '\r') {
                si_ = si_lf;
                ++i;
                continue;
            }
            if (c == '\n') {
                return fail(error::bare_lf, i);
            }
            if (head_.reason.off == 0) {
                if (c != ' ') {
                    return fail(error::bad_status_line, i);
                }
                head_.reason.off = at + 1;
                ++i;
                continue;
            }
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
            std::uint32_t j = i;
            while (j < n && is(p[j], c_vchar | c_ws)) {
                ++j;
            }
            head_.reason.len = pos_ + j - head_.reason.off;
            i = j;
            if (i < n && p[i] != '\r' && p[i] != '\n') {
                return fail(error::bad_status_line, i);
            }
            continue;
        } else {  // si_lf
            if (c != '\n') {
                return fail(error::bare_cr, i);
            }
            in_fields_ = true;
            hdr_start_ = at + 1;
            return i + 1;
        }
        ++si_;
        ++i;
    }
    return n;
}

void response_parser::finish() noexcept {
    const framing& fr = fields_.frame();
    head_.head_len = pos_;
    const std::uint16_t s = head_.status;
    if (fr.cl_count != 0 && fr.te_present) {
        fail(error::cl_and_te, 0);  // RFC 9112 §6.3 item 3: ought to be handled as an error
        return;
    }
    if (s < 200 || s == 204 || s == 304 || head_request_) {
        head_.body = body_kind::none;  // RFC 9112 §6.3 item 1
        head_.content_length = fr.cl_value;
    } else if (fr.te_present) {
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing; we
        // refuse it rather than guess.
        if (head_.version_minor == 0) {
            fail(error::te_in_http10, 0);
            return;
        }
        // RFC 9112 §7: chunked is applied at most once. Chunked followed by anything (itself
        // included) leaves two readings of the framing; refuse it (502) rather than pick one.
        if (fr.te_chunked_not_last) {
            fail(error::chunked_not_final, 0);
            return;
        }
        // RFC 9112 §6.3 item 4: chunked final → chunked; no chunked → read until close.
        head_.body = fr.te_last_chunked ? body_kind::chunked : body_kind::until_close;
    } else if (fr.cl_count != 0) {
        head_.body = body_kind::length;
        head_.content_length = fr.cl_value;
    } else {
        head_.body = body_kind::until_close;  // RFC 9112 §6.3 item 8
    }
    head_.keep_alive = head_.body != body_kind::until_close &&
                       (head_.version_minor == 1 ? !head_.conn.close
                                                 : head_.conn.keep_alive && !head_.conn.close);
    state_ = state::done;
}

std::uint32_t response_parser::feed_head(const char* p, std::uint32_t n) noexcept {
    std::uint32_t used = 0;
    while (used < n && state_ == state::need_more) {
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
