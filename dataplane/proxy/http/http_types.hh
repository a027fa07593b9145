// HTTP/1.1 message-head vocabulary shared by the request parser, the response parser and the body
// reader: token slices (offsets into the message, never copies), limits, error reasons with
// their status codes, methods, well-known header ids and the parsed heads.
//
// Threading: plain data and pure functions; each worker lcore owns its parsers and heads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::dp::proxy::http {

// A token of the message: `off` is relative to the first byte fed to the parser after reset()
// (the first byte of the request or status line, or of the empty lines RFC 9112 §2.2 lets a
// server skip before a request line). Resolve it against the bytes with resolve() (mbuf_slice.hh)
// or view_of() below.
struct slice {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
};

// Views a slice inside a contiguous copy of the message (tests, benchmarks, fuzzing).
inline std::string_view view_of(const char* msg, slice s) noexcept { return {msg + s.off, s.len}; }

struct limits {
    std::uint32_t max_request_line = 8192;  // RFC 9112 §3: at least 8000 octets recommended → 414
    std::uint32_t max_header_bytes = 65536;  // header section incl. final CRLF → 431
    std::uint32_t max_headers = 100;         // field lines → 431; must be <= max_headers_cap
    std::uint32_t max_chunk_line = 4096;     // chunk-size line incl. extensions → 400
    bool allow_connect = false;              // CONNECT (authority-form): 501 unless allowed
};

// Every reason a message is refused; each has one status (status_for) and one counter name
// (to_string). Response-side errors are answered 502 by the gateway, whatever status_for says.
enum class error : std::uint8_t {
    none,
    bad_method,
    bad_target,
    bad_version,
    unsupported_version,
    request_line_too_long,
    headers_too_large,
    too_many_headers,
    bad_header_name,
    bad_header_value,
    space_before_colon,
    obs_fold,
    ws_after_start_line,
    bare_cr,
    bare_lf,
    missing_host,
    duplicate_host,
    bad_host,
    cl_and_te,
    duplicate_content_length,
    bad_content_length,
    unsupported_transfer_coding,
    chunked_not_final,
    te_in_http10,
    connect_unsupported,
    bad_chunk_size,
    chunk_ext_too_long,
    bad_chunk_ext,
    bad_chunk_terminator,
    bad_trailer,
    bad_status_line,
    count_
};
inline constexpr std::size_t error_count = static_cast<std::size_t>(error::count_);

// The status a server answers a request refused for `e` (400, 414, 431, 501 or 505; 0 for none).
std::uint16_t status_for(error e) noexcept;
// A stable snake_case name, used as the counter reason ("cl_and_te", ...).
std::string_view to_string(error e) noexcept;

// RFC 9110 §9: the methods with their own enumerator; any other valid token is `other`
// (accepted: the gateway forwards extension methods such as PROPFIND untouched).
enum class method : std::uint8_t { get, head, post, put, delete_, connect, options, trace, patch, other };
std::string_view to_string(method m) noexcept;

// Header fields the gateway acts on; everything else is `other`.
enum class header_id : std::uint8_t {
    other,
    host,
    content_length,
    transfer_encoding,
    connection,
    keep_alive,
    proxy_connection,
    te,
    upgrade,
    expect,
    trailer,
    traceparent,
    tracestate,
    x_request_id,
    x_forwarded_for,
    x_forwarded_proto,
    forwarded,
    via,
    count_
};
// Classifies a field name (case-insensitive, RFC 9110 §5.1).
header_id classify_header(std::string_view name) noexcept;
// ASCII case-insensitive equality (field names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

struct header_field {
    slice name;
    slice value;  // without leading and trailing OWS (RFC 9110 §5.5)
    header_id id = header_id::other;
};

inline constexpr std::uint32_t max_headers_cap = 128;       // limits.max_headers <= this
inline constexpr std::uint32_t max_connection_tokens = 16;  // Connection options kept per head

enum class body_kind : std::uint8_t { none, length, chunked, until_close /* responses only */ };

// What the Connection header fields said (RFC 9110 §7.6.1), shared by both heads.
struct connection_info {
    bool close = false;
    bool keep_alive = false;
    bool upgrade = false;
    bool truncated = false;  // more than max_connection_tokens options; the rest are not listed
    std::uint8_t token_count = 0;
    slice tokens[max_connection_tokens];  // every option, in order (hop-by-hop field names)
};

struct request_head {
    method m = method::other;
    slice method_tok;
    slice target;  // the whole request-target
    slice path;    // origin-form or absolute-form path, without the query; empty for "*"
    slice query;   // after '?', without it; len 0 when absent
    slice host;    // the absolute-form authority if any (RFC 9112 §3.2.2), else the Host value
    std::uint8_t version_minor = 1;  // 0 or 1 (HTTP/1.2+ is handled as 1.1, RFC 9110 §2.5)
    body_kind body = body_kind::none;
    std::uint64_t content_length = 0;
    bool keep_alive = false;
    bool expect_continue = false;
    bool upgrade = false;  // Upgrade present and listed in Connection
    bool absolute_form = false;
    std::uint32_t head_len = 0;  // bytes of the head, through the blank line
    connection_info conn;
    std::uint16_t header_count = 0;
    header_field headers[max_headers_cap];
};

struct response_head {
    std::uint16_t status = 0;
    std::uint8_t version_minor = 1;
    slice reason;
    body_kind body = body_kind::none;
    std::uint64_t content_length = 0;
    bool keep_alive = false;
    std::uint32_t head_len = 0;
    connection_info conn;
    std::uint16_t header_count = 0;
    header_field headers[max_headers_cap];
};

}  // namespace sluice::dp::proxy::http
