// traceparent case table (W3C Trace Context Level 1 §3.2), shared by the unit tests, the fuzz
// seeds (gen_traceparent_seeds.cc) and the benchmark.
#pragma once

#include <string>
#include <vector>

#include "filters/trace/trace_context.hh"

namespace sluice::test::trace {

using st = sluice::dp::filters::traceparent_status;

struct traceparent_case {
    std::string name;
    std::string value;
    st want;
};

// The specification's own example (§3.2.2.6 / §3.2.3).
inline const std::string spec_example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

inline std::vector<traceparent_case> traceparent_cases() {
    const std::string& v = spec_example;
    std::string upper = v;
    upper[10] = 'F';  // "4bf92f3" → upper-case hex digit inside trace-id
    std::vector<traceparent_case> c = {
        {"spec_example", v, st::ok},
        {"not_sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", st::ok},
        {"unknown_flags_kept_parseable", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
         st::ok},
        {"length_54", v.substr(0, 54), st::bad_length},
        {"length_56", v + "0", st::bad_length},
        {"v00_with_suffix", v + "-extra", st::bad_length},
        {"empty", "", st::bad_length},
        {"one_char", "0", st::bad_length},
        {"upper_case_hex", upper, st::bad_hex},
        {"upper_case_version", "0A" + v.substr(2), st::bad_hex},
        {"non_hex_flags", v.substr(0, 53) + "0g", st::bad_hex},
        {"version_ff", "ff" + v.substr(2), st::bad_version},
        {"zero_trace_id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
         st::zero_trace_id},
        {"zero_parent_id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
         st::zero_parent_id},
        {"bad_separator_1", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
         st::bad_separator},
        {"bad_separator_2", "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
         st::bad_separator},
        {"bad_separator_3", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
         st::bad_separator},
        {"space_padded", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", st::bad_hex},
        // §3.2.4: a higher version is read by its version-00 prefix...
        {"future_version_exact", "cc" + v.substr(2), st::ok},
        {"future_version_suffix", "cc" + v.substr(2) + "-what-the-future-holds", st::ok},
        // ...but only when the 56th character is "-", and never when shorter than 55.
        {"future_version_no_dash", "cc" + v.substr(2) + "x", st::bad_length},
        {"future_version_short", "cc" + v.substr(2, 52), st::bad_length},
    };
    return c;
}

}  // namespace sluice::test::trace
