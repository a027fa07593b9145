// Setup-path and housekeeping logging for the dataplane: one human-readable line per event on
// stderr, "sluice-dataplane: <level>: <message>". Never called from the per-packet path.
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <utility>

namespace sluice::dp::log {

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "sluice-dataplane: {}\n", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "sluice-dataplane: warning: {}\n",
               fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "sluice-dataplane: error: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sluice::dp::log
