// Fuzz target for the HTTP/1.1 request parser (dataplane/proxy/http), differential against
// libhttp-parser 2.9. Asserts that
//   - the outcome (accept/refuse, reason, bytes, payload) does not depend on where the input is
//     cut into spans;
//   - whatever Sluice accepts the reference accepts too, with the same method, URL, header count
//     and body bytes. Sluice may refuse more (tests/proxy/http/http_cases.cc lists why).
// Documented exceptions: an extension method the reference does not know (RFC 9110 §9.1); a
// field whose name merely begins with a framing field's name ("Transfer-Encodingx"), which the
// reference takes for the framing field.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "../proxy/http/http_driver.hh"
#include "../proxy/http/reference.hh"

namespace {

using namespace sluice::test::http;

[[noreturn]] void fail(const char* what, std::string_view raw) {
    std::fprintf(stderr, "fuzz_http_request: %s\ninput (%zu bytes): %.*s\n", what, raw.size(),
                 static_cast<int>(raw.size()), raw.data());
    std::abort();
}

outcome run(std::string_view raw, const std::vector<std::uint32_t>& cuts, h::request_head* head) {
    static h::request_parser p;  // request_head is large: keep it off the stack
    static h::body_reader b;
    p.reset();
    outcome o = drive(p, b, raw, cuts);
    if (head != nullptr && o.head_done) {
        *head = p.head();
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 200000) {
        return 0;
    }
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    static h::request_head head;
    const outcome whole = run(raw, {}, &head);
    if (size > 2) {
        const auto a = static_cast<std::uint32_t>((data[0] * 131U + data[size - 1]) % size);
        const auto b = static_cast<std::uint32_t>((a + 1 + data[size / 2]) % size);
        std::vector<std::uint32_t> cuts = {std::min(a, b), std::max(a, b)};
        if (cuts[0] == 0 || cuts[0] == cuts[1]) {
            cuts.erase(cuts.begin());
        }
        if (!(run(raw, cuts, nullptr) == whole)) {
            fail("outcome depends on where the input is cut", raw);
        }
    }
    if (!whole.complete) {
        return 0;  // Sluice may refuse more than the reference
    }
    if (has_framing_name_prefix(head.headers, head.header_count, raw)) {
        return 0;  // documented: the reference's field-name matcher takes these for the real one
    }
    if (has_tab_in_framing_line(head.headers, head.header_count, raw)) {
        return 0;  // documented: the reference refuses HTAB as OWS in framing fields
    }
    const ref_result r = run_reference(raw);
    if (!r.complete) {
        if (r.err == HPE_INVALID_METHOD && head.m == h::method::other) {
            return 0;  // documented: extension methods (RFC 9110 §9.1)
        }
        fail("Sluice accepts what the reference refuses", raw);
    }
    if (h::view_of(raw.data(), head.method_tok) != r.method) {
        fail("method differs", raw);
    }
    if (h::view_of(raw.data(), head.target) != r.url) {
        fail("URL differs", raw);
    }
    if (head.header_count != r.headers) {
        fail("header count differs", raw);
    }
    if (whole.payload != r.body) {
        fail("body differs", raw);
    }
    return 0;
}
