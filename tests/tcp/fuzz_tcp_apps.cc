// libFuzzer target for the two parsers of the TCP test applications (dataplane/apps): the
// `--app` spec parser (operator input) and the HTTP request-head scan of tcp-http-sink, which
// reads bytes straight from the network.
//
// Input: byte 0 selects the parser (even: HTTP head, odd: --app spec); the rest is its input.
// Checks, beyond "no crash, no sanitizer report":
//   - both parsers are pure: parsing the same bytes twice gives the same answer;
//   - a head without a Content-Length field never reports a length, and a reported length is
//     never negative other than the -1 meaning "none";
//   - an accepted spec names a non-zero port.
//
// Threading: single-threaded, as libFuzzer calls it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "apps/tcp_apps.hh"

namespace {

using namespace sluice::dp::apps;

void require(bool ok) {
    if (!ok) {
        std::abort();  // libFuzzer reports the input
    }
}

bool has_content_length(std::string_view s) {
    static constexpr std::string_view name = "content-length";
    for (std::size_t i = 0; i + name.size() <= s.size(); ++i) {
        std::size_t k = 0;
        while (k < name.size() && (s[i + k] | 0x20) == name[k]) {
            ++k;
        }
        if (k == name.size()) {
            return true;
        }
    }
    return false;
}

void check_head(std::string_view in) {
    const http_request_head a = parse_http_head(in);
    const http_request_head b = parse_http_head(in);
    require(a.length == b.length && a.chunked == b.chunked &&
            a.expect_continue == b.expect_continue);
    require(a.length >= -1);
    if (!has_content_length(in)) {
        require(a.length == -1);
    }
}

void check_spec(std::string_view in) {
    const auto a = parse_tcp_app(in);
    const auto b = parse_tcp_app(in);
    require(a.ok() == b.ok());
    if (!a.ok()) {
        require(!a.message().empty());
        return;
    }
    require(a->kind == b->kind && a->port == b->port && a->bytes == b->bytes);
    require(a->port != 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((data[0] & 1) == 0) {
        check_head(in);
    } else {
        check_spec(in);
    }
    return 0;
}
