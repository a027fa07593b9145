// libFuzzer target for the TCP option parser. Beyond "no crash, no out-of-bounds read" it checks
// properties: parsed values respect their bounds, and what we parsed survives a trip through
// our own builders (build → parse gives the same fields back).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/tcp/options.hh"

namespace {

using namespace sluice::dp::net::tcp;  // NOLINT: test-only file, not a header

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tcp_options o;
    parse_options(std::span(data, size), o);
    require(o.sack_count <= max_sack_blocks);
    require(o.window_shift <= max_window_shift);
    require(o.has_mss || o.mss == 0);
    require(o.has_timestamps || (o.ts_val == 0 && o.ts_ecr == 0));

    if (o.has_mss) {
        syn_option_spec spec;
        spec.mss = o.mss;
        spec.window_scale = o.has_window_scale;
        spec.window_shift = o.window_shift;
        spec.sack_permitted = o.sack_permitted;
        spec.timestamps = o.has_timestamps;
        spec.ts_val = o.ts_val;
        spec.ts_ecr = o.ts_ecr;
        std::array<std::uint8_t, max_option_bytes> buf{};
        const std::size_t n = build_syn_options(buf, spec);
        require(n % 4 == 0 && n <= max_option_bytes);
        tcp_options back;
        require(parse_options(std::span(buf.data(), n), back).status == option_status::ok);
        require(back.mss == o.mss && back.has_window_scale == o.has_window_scale &&
                back.window_shift == o.window_shift && back.sack_permitted == o.sack_permitted &&
                back.has_timestamps == o.has_timestamps && back.ts_val == o.ts_val &&
                back.ts_ecr == o.ts_ecr);
    }

    std::array<std::uint8_t, max_option_bytes> buf{};
    std::size_t written = 0;
    const std::size_t n = build_segment_options(buf, o.has_timestamps, o.ts_val, o.ts_ecr,
                                                std::span(o.sack.data(), o.sack_count), &written);
    require(n % 4 == 0 && n <= max_option_bytes);
    tcp_options back;
    require(parse_options(std::span(buf.data(), n), back).status == option_status::ok);
    require(back.has_timestamps == o.has_timestamps && back.ts_val == o.ts_val);
    require(back.sack_count == written);
    for (std::size_t i = 0; i < written; ++i) {
        require(back.sack[i] == o.sack[i]);
    }
    return 0;
}
