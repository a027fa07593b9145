// The one definition of how route regexes are compiled, shared by control-plane validation
// (validate.cc) and the dataplane's route table (dataplane/cfg/route_table.cc), so a pattern the
// control plane accepts always builds in the dataplane. Header-only; any thread.
#pragma once

#include <re2/re2.h>

#include <cstddef>
#include <cstdint>

namespace sluice::cp::model {

// Longer patterns are refused: the dataplane compiles every pattern when it builds a route table
// for a new snapshot; 1 KiB is far beyond any sane route regex.
inline constexpr std::size_t max_regex_length = 1024;

// RE2's program-size budget (its own default, RE2::Options::max_mem = 8 MiB), made explicit so
// both planes agree on what compiles.
inline constexpr std::int64_t regex_max_mem = std::int64_t{8} << 20;

[[nodiscard]] inline RE2::Options regex_options() {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(regex_max_mem);
    return o;
}

}  // namespace sluice::cp::model
