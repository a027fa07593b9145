// Status codes, counter names, method names and the header-name classifier. Any thread.
#include "http_types.hh"

#include <array>

#include "http_chars.hh"

namespace sluice::dp::proxy::http {

namespace {

struct error_info {
    std::string_view name;
    std::uint16_t status;
};

// Indexed by error; the static_assert below keeps it in step with the enum.
constexpr std::array<error_info, error_count> error_table = {{
    {"none", 0},
    {"bad_method", 400},
    {"bad_target", 400},
    {"bad_version", 400},
    {"unsupported_version", 505},    // RFC 9110 §15.6.6
    {"request_line_too_long", 414},  // RFC 9112 §3
    {"headers_too_large", 431},      // RFC 6585 §5
    {"too_many_headers", 431},
    {"bad_header_name", 400},
    {"bad_header_value", 400},
    {"space_before_colon", 400},  // RFC 9112 §5.1: MUST reject with 400
    {"obs_fold", 400},            // RFC 9112 §5.2: MAY reject with 400
    {"ws_after_start_line", 400},  // RFC 9112 §2.2
    {"bare_cr", 400},              // RFC 9112 §2.2
    {"bare_lf", 400},
    {"missing_host", 400},  // RFC 9112 §3.2
    {"duplicate_host", 400},
    {"bad_host", 400},
    {"cl_and_te", 400},  // RFC 9112 §6.1: MAY reject; request smuggling
    {"duplicate_content_length", 400},
    {"bad_content_length", 400},             // RFC 9112 §6.3 item 5
    {"unsupported_transfer_coding", 501},    // RFC 9112 §6.1
    {"chunked_not_final", 400},              // RFC 9112 §6.3 item 4
    {"te_in_http10", 400},                   // RFC 9112 §6.1: framing is faulty
    {"connect_unsupported", 501},
    {"bad_chunk_size", 400},
    {"chunk_ext_too_long", 400},
    {"bad_chunk_ext", 400},
    {"bad_chunk_terminator", 400},
    {"bad_trailer", 400},
    {"bad_status_line", 502},
}};
static_assert(error_table.size() == error_count);

}  // namespace

std::uint16_t status_for(error e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < error_count ? error_table[i].status : 400;
}

std::string_view to_string(error e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < error_count ? error_table[i].name : "unknown";
}

std::string_view to_string(method m) noexcept {
    switch (m) {
        case method::get: return "GET";
        case method::head: return "HEAD";
        case method::post: return "POST";
        case method::put: return "PUT";
        case method::delete_: return "DELETE";
        case method::connect: return "CONNECT";
        case method::options: return "OPTIONS";
        case method::trace: return "TRACE";
        case method::patch: return "PATCH";
        case method::other: break;
    }
    return "other";
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (detail::lower(a[i]) != detail::lower(b[i])) {
            return false;
        }
    }
    return true;
}

namespace {
// sizeof(W) bytes of a name against a literal of lower-case letters, '-' and digits, case-
// insensitively: 0x20 is OR-ed into the name's bytes only where the literal has a letter (bit 6
// set there, clear in '-' and digits), so 'C' and 'c' match 'c' and only '-' matches '-' (a plain
// `| 0x20` would let CR match '-').
template <typename W>
inline bool word_eq(const char* n, const char* lit) noexcept {
    const auto l = detail::load_word<W>(lit);
    const W letters =
        static_cast<W>((l & static_cast<W>(static_cast<W>(~W{0}) / 0xff * 0x40)) >> 1);
    return static_cast<W>(detail::load_word<W>(n) | letters) == l;
}

// `lit` is lower case, made of letters, '-' and digits, and as long as `n` (2 to 17 bytes: the
// names classify_header knows). Two or three overlapping word compares instead of a byte loop.
inline bool is_name(std::string_view n, const char* lit) noexcept {
    const std::size_t len = n.size();
    const char* s = n.data();
    if (len >= 8) {
        return word_eq<std::uint64_t>(s, lit) &&
               word_eq<std::uint64_t>(s + len - 8, lit + len - 8) &&
               (len <= 16 || word_eq<std::uint64_t>(s + 8, lit + 8));
    }
    if (len >= 4) {
        return word_eq<std::uint32_t>(s, lit) && word_eq<std::uint32_t>(s + len - 4, lit + len - 4);
    }
    return len >= 2 && word_eq<std::uint16_t>(s, lit) &&
           word_eq<std::uint16_t>(s + len - 2, lit + len - 2);
}
}  // namespace

header_id classify_header(std::string_view n) noexcept {
    // Length and first letter leave at most one candidate, then one compare: this runs for every
    // field of every message.
    if (n.empty()) {
        return header_id::other;
    }
    const char f = detail::lower(n[0]);
    auto one = [&](char first, const char* lit, header_id id) {
        return f == first && is_name(n, lit) ? id : header_id::other;
    };
    switch (n.size()) {
        case 2: return one('t', "te", header_id::te);
        case 3: return one('v', "via", header_id::via);
        case 4: return one('h', "host", header_id::host);
        case 6: return one('e', "expect", header_id::expect);
        case 7:
            return f == 'u' ? one('u', "upgrade", header_id::upgrade)
                            : one('t', "trailer", header_id::trailer);
        case 9: return one('f', "forwarded", header_id::forwarded);
        case 10:
            return f == 'c'   ? one('c', "connection", header_id::connection)
                   : f == 'k' ? one('k', "keep-alive", header_id::keep_alive)
                              : one('t', "tracestate", header_id::tracestate);
        case 11: return one('t', "traceparent", header_id::traceparent);
        case 12: return one('x', "x-request-id", header_id::x_request_id);
        case 14: return one('c', "content-length", header_id::content_length);
        case 15: return one('x', "x-forwarded-for", header_id::x_forwarded_for);
        case 16: return one('p', "proxy-connection", header_id::proxy_connection);
        case 17:
            return f == 't' ? one('t', "transfer-encoding", header_id::transfer_encoding)
                            : one('x', "x-forwarded-proto", header_id::x_forwarded_proto);
        default: return header_id::other;
    }
}

}  // namespace sluice::dp::proxy::http
