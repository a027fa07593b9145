// Config errors with their location: file, line and column from the YAML source, and the field
// path ("routes[2].action.cluster"). Control-plane only.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::cp::model {

struct source_mark {
    int line = 0;    // 1-based; 0 = unknown (config built in code)
    int column = 0;  // 1-based
};

struct diagnostic {
    std::string file;
    source_mark at;
    std::string path;     // field path; empty for document-level errors
    std::string message;  // what was wrong and what was expected

    // "file:line:col: path: message"
    [[nodiscard]] std::string to_string() const;
};

// Where each field path came from, filled by the YAML loader and used by validation so that
// semantic errors (unknown cluster, duplicate name) point at the right line.
class source_map {
public:
    void note(std::string path, source_mark m) { marks_[std::move(path)] = m; }
    // The mark of `path`, or of its nearest recorded parent.
    [[nodiscard]] source_mark find(std::string_view path) const;

private:
    std::unordered_map<std::string, source_mark> marks_;
};

// Collects diagnostics for one file, up to max_errors (then one "stopped" entry).
class diagnostics {
public:
    // Beyond this an operator learns nothing new, and a hostile file could make us allocate.
    static constexpr std::size_t max_errors = 1000;

    diagnostics(std::string file, const source_map* marks)
        : file_(std::move(file)), marks_(marks) {}
    void add(std::string path, std::string message);
    void add_at(source_mark at, std::string path, std::string message);
    [[nodiscard]] bool empty() const noexcept { return list_.empty(); }
    [[nodiscard]] const std::vector<diagnostic>& list() const noexcept { return list_; }
    std::vector<diagnostic> take() { return std::move(list_); }

private:
    std::string file_;
    const source_map* marks_;
    std::vector<diagnostic> list_;
};

// All diagnostics joined one per line.
[[nodiscard]] std::string format_all(const std::vector<diagnostic>& d);

}  // namespace sluice::cp::model
