// The HTTP/1.1 case table: requests and responses, valid and malformed, each with the outcome
// Sluice must produce (the error, or the fields it must extract) and, for the differential test
// against libhttp-parser 2.9, whether the reference agrees and why not where it does not.
// Used by the unit tests (http_parser_test.cc, http_mbuf_test.cc, http_differential_test.cc), as
// the seed corpus of fuzz_http_request / fuzz_http_response, and by bench/proxy/http_parse_bench.cc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/http_types.hh"

namespace sluice::test::http {

namespace h = sluice::dp::proxy::http;

// How libhttp-parser 2.9.4 (strict off, as Debian builds it) judges the same bytes.
enum class ref : std::uint8_t {
    same,         // same accept/reject, same fields
    accepts,      // the reference accepts what Sluice refuses (Sluice is deliberately stricter)
    rejects,      // the reference refuses what Sluice accepts (documented leniency)
    not_compared  // configuration-dependent case (a non-default limit)
};

struct request_case {
    std::string_view name;
    std::string raw;  // one request (head and body), possibly followed by pipelined bytes
    h::error err = h::error::none;
    h::method m = h::method::get;
    std::string_view target;
    std::string_view path;
    std::string_view query;
    std::string_view host;
    std::uint8_t minor = 1;
    h::body_kind body = h::body_kind::none;
    std::string_view payload;  // body payload (chunk framing removed)
    bool keep_alive = true;
    int headers = -1;           // header count, -1: not checked
    std::uint32_t msg_len = 0;  // bytes of the first message when pipelined bytes follow; 0: all
    ref reference = ref::same;
    std::string_view why;  // why the reference differs
};

inline std::string repeat(std::string_view s, std::size_t n) {
    std::string r;
    r.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) {
        r += s;
    }
    return r;
}

inline std::string many_headers(std::size_t n) {
    std::string r;
    for (std::size_t i = 0; i < n; ++i) {
        r += "X-H" + std::to_string(i) + ": v\r\n";
    }
    return r;
}

// A typical curl-like GET: 5 header fields.
inline const std::string typical_get =
    "GET /index.html?lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

// A browser navigation: 20 header fields.
inline const std::string browser_get =
    "GET /products/widgets/item-4711?ref=home&utm_source=newsletter HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"122\", \"Not(A:Brand\";v=\"24\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;"
    "q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=8f2a0c1d9e7b4a3c; theme=dark; consent=1\r\n"
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "X-Request-Id: 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\r\n"
    "If-None-Match: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n"
    "\r\n";

// One chunk with its framing (RFC 9112 §7.1).
inline std::string chunk(std::string_view data, std::string_view ext = "") {
    char size[20];
    std::snprintf(size, sizeof(size), "%zx", data.size());
    return std::string(size) + std::string(ext) + "\r\n" + std::string(data) + "\r\n";
}

inline const std::string chunked_post_payload =
    "{\"id\":1,\"name\":\"widget\",\"tags\":[\"a\",\"b\"],\"price\":12.5}";
inline const std::string chunked_post =
    "POST /upload HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "Content-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n" +
    chunk(chunked_post_payload.substr(0, 20)) + chunk(chunked_post_payload.substr(20, 16), ";ext=1") +
    chunk(chunked_post_payload.substr(36)) + "0\r\n\r\n";

std::vector<request_case> request_cases();  // http_cases.cc

struct response_case {
    std::string_view name;
    std::string raw;
    bool request_was_head = false;
    h::error err = h::error::none;
    std::uint16_t status = 200;
    h::body_kind body = h::body_kind::none;
    std::string_view payload;
    bool keep_alive = true;
    ref reference = ref::same;
    std::string_view why;
};

std::vector<response_case> response_cases();  // http_cases.cc

}  // namespace sluice::test::http
