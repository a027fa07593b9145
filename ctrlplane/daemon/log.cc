// Log line formatting (daemon thread).
#include "ctrlplane/daemon/log.hh"

#include <cstdio>

namespace sluice::cp::daemon {

std::string quote_if_needed(std::string_view v) {
    bool plain = !v.empty();
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\\' || c == '\t') {
            plain = false;
            break;
        }
    }
    if (plain) {
        return std::string(v);
    }
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

void log(log_level lvl, std::string_view msg, std::initializer_list<kv> fields) {
    static constexpr std::string_view names[] = {"debug", "info", "warn", "error"};
    // msg is always quoted (it is prose); values only when they need it.
    std::string m = quote_if_needed(msg);
    if (m.empty() || m.front() != '"') {
        m = fmt::format("\"{}\"", msg);
    }
    std::string line = fmt::format("level={} msg={}", names[static_cast<int>(lvl)], m);
    for (const auto& f : fields) {
        line += fmt::format(" {}={}", f.key, quote_if_needed(f.value));
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace sluice::cp::daemon
