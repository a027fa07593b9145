// Diagnostic formatting and source-map lookup (control plane).
#include "ctrlplane/model/diagnostic.hh"

#include <fmt/format.h>

namespace sluice::cp::model {

std::string diagnostic::to_string() const {
    std::string loc = at.line > 0 ? fmt::format("{}:{}:{}", file, at.line, at.column) : file;
    if (path.empty()) {
        return fmt::format("{}: {}", loc, message);
    }
    return fmt::format("{}: {}: {}", loc, path, message);
}

source_mark source_map::find(std::string_view path) const {
    std::string p(path);
    for (;;) {
        if (auto it = marks_.find(p); it != marks_.end()) {
            return it->second;
        }
        auto cut = p.find_last_of(".[");
        if (cut == std::string::npos || cut == 0) {
            return {};
        }
        p.resize(cut);
    }
}

void diagnostics::add(std::string path, std::string message) {
    source_mark at = marks_ != nullptr ? marks_->find(path) : source_mark{};
    add_at(at, std::move(path), std::move(message));
}

void diagnostics::add_at(source_mark at, std::string path, std::string message) {
    if (list_.size() > max_errors) {
        return;
    }
    if (list_.size() == max_errors) {
        list_.push_back(diagnostic{file_, at, "",
                                   fmt::format("more than {} errors; stopped "
                                               "reporting",
                                               max_errors)});
        return;
    }
    list_.push_back(diagnostic{file_, at, std::move(path), std::move(message)});
}

std::string format_all(const std::vector<diagnostic>& d) {
    std::string out;
    for (const auto& x : d) {
        out += x.to_string();
        out += '\n';
    }
    return out;
}

}  // namespace sluice::cp::model
