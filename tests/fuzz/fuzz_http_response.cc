// Fuzz target for the HTTP/1.1 response parser and the body reader (chunked, length,
// until-close), differential against libhttp-parser 2.9. The first input byte says whether the
// request was HEAD (bit 0); the rest is the response. Asserts split invariance, and that what
// Sluice accepts the reference accepts with the same status, header count and body bytes.
// Documented exceptions: 1xx, 204 and 304 responses never have a body (RFC 9112 §6.3 item 1),
// the reference reads one when Content-Length or Transfer-Encoding says so; a field whose name
// merely begins with a framing field's name, which the reference takes for the framing field;
// HTAB as optional whitespace in Content-Length/Transfer-Encoding, which the reference refuses.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "../proxy/http/http_driver.hh"
#include "../proxy/http/reference.hh"

namespace {

using namespace sluice::test::http;

[[noreturn]] void fail(const char* what, std::string_view raw) {
    std::fprintf(stderr, "fuzz_http_response: %s\ninput (%zu bytes): %.*s\n", what, raw.size(),
                 static_cast<int>(raw.size()), raw.data());
    std::abort();
}

bool prefix_names = false;  // has_framing_name_prefix() of the last whole parse
bool tab_in_framing = false;  // has_tab_in_framing_line() of the last whole parse

outcome run(std::string_view raw, bool head_req, const std::vector<std::uint32_t>& cuts,
            std::uint16_t* status, std::uint16_t* headers) {
    static h::response_parser p;
    static h::body_reader b;
    p.reset(head_req);
    outcome o = drive(p, b, raw, cuts);
    if (status != nullptr) {
        *status = p.head().status;
        *headers = p.head().header_count;
        prefix_names = has_framing_name_prefix(p.head().headers, p.head().header_count, raw);
        tab_in_framing = has_tab_in_framing_line(p.head().headers, p.head().header_count, raw);
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 200000) {
        return 0;
    }
    const bool head_req = (data[0] & 1) != 0;
    const std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::uint16_t status = 0;
    std::uint16_t headers = 0;
    const outcome whole = run(raw, head_req, {}, &status, &headers);
    if (raw.size() > 1) {
        const auto cut = static_cast<std::uint32_t>(1 + (data[0] >> 1) % (raw.size() - 1));
        if (!(run(raw, head_req, {cut}, nullptr, nullptr) == whole)) {
            fail("outcome depends on where the input is cut", raw);
        }
    }
    if (!whole.complete) {
        return 0;
    }
    if (status < 200 || status == 204 || status == 304) {
        return 0;  // documented: no body whatever the framing fields say
    }
    if (prefix_names) {
        return 0;  // documented: the reference's field-name matcher takes these for the real one
    }
    if (tab_in_framing) {
        return 0;  // documented: the reference refuses HTAB as OWS in framing fields
    }
    const ref_result r = run_reference(raw, true, head_req);
    if (!r.complete) {
        fail("Sluice accepts what the reference refuses", raw);
    }
    if (r.status != status || r.headers != headers) {
        fail("status or header count differs", raw);
    }
    if (whole.payload != r.body) {
        fail("body differs", raw);
    }
    return 0;
}
