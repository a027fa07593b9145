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

header_id classify_header(std::string_view n) noexcept {
    // Length and first letter rule out all candidates but at most one or two before the one
    // case-insensitive compare: this runs for every field of every message.
    struct known {
        std::string_view name;  // lower case
        header_id id;
    };
    static constexpr known table[] = {
        {"te", header_id::te},
        {"via", header_id::via},
        {"host", header_id::host},
        {"expect", header_id::expect},
        {"upgrade", header_id::upgrade},
        {"trailer", header_id::trailer},
        {"forwarded", header_id::forwarded},
        {"connection", header_id::connection},
        {"keep-alive", header_id::keep_alive},
        {"tracestate", header_id::tracestate},
        {"traceparent", header_id::traceparent},
        {"x-request-id", header_id::x_request_id},
        {"content-length", header_id::content_length},
        {"x-forwarded-for", header_id::x_forwarded_for},
        {"proxy-connection", header_id::proxy_connection},
        {"transfer-encoding", header_id::transfer_encoding},
        {"x-forwarded-proto", header_id::x_forwarded_proto},
    };
    if (n.size() < 2 || n.size() > 17) {
        return header_id::other;
    }
    const char first = detail::lower(n[0]);
    for (const known& k : table) {
        if (k.name.size() == n.size() && k.name[0] == first && iequals(n, k.name)) {
            return k.id;
        }
    }
    return header_id::other;
}

}  // namespace sluice::dp::proxy::http
