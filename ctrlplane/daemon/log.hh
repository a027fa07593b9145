// Structured, human-readable log lines on stderr for the daemon: `level=info msg="..." k=v ...`,
// one line per event, so journald (which stamps time and unit) and grep both read them.
// Called from the daemon's single thread only.
#pragma once

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::cp::daemon {

enum class log_level { debug, info, warn, error };

struct kv {
    std::string_view key;
    std::string value;
    template <typename T>
    kv(std::string_view k, const T& v) : key(k), value(fmt::format("{}", v)) {}
};

// Values (and msg) containing spaces, quotes, '=' or newlines are quoted with "..." escapes.
void log(log_level lvl, std::string_view msg, std::initializer_list<kv> fields = {});
[[nodiscard]] std::string quote_if_needed(std::string_view v);

}  // namespace sluice::cp::daemon
