// A strict reader over yaml-cpp nodes for the config loader (control plane): mappings with a
// fixed set of fields (unknown and repeated ones reported), typed scalars with ranges and units,
// lists, all recording each field path's line in a source_map and every problem in diagnostics.
// Nothing throws; a wrong shape is reported and the value left at its default.
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "ctrlplane/model/diagnostic.hh"

namespace sluice::cp::model::detail {

template <typename E>
using choices = std::initializer_list<std::pair<std::string_view, E>>;

class yaml_reader {
public:
    yaml_reader(diagnostics& d, source_map& sm) : d_(d), sm_(sm) {}

protected:
    static source_mark mark(const YAML::Node& n) {
        auto m = n.Mark();
        return {m.line + 1, m.column + 1};
    }
    void fail(const YAML::Node& n, const std::string& path, std::string msg) {
        d_.add_at(mark(n), path, std::move(msg));
    }
    static std::string describe(const YAML::Node& n) {
        if (n.IsScalar()) {
            return fmt::format("'{}'", n.Scalar());
        }
        return n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "nothing";
    }

    // Checks n is a mapping with only `allowed` keys (each once) and notes every field's mark.
    bool fields(const YAML::Node& n, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
        sm_.note(path, mark(n));
        if (!n.IsMap()) {
            fail(n, path, fmt::format("expected a mapping, got {}", describe(n)));
            return false;
        }
        std::set<std::string> seen;
        for (const auto& kv : n) {
            if (!tick(kv.first)) {
                return false;
            }
            std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
            std::string sub = join(path, key);
            sm_.note(sub, mark(kv.first));
            if (!seen.insert(key).second) {
                fail(kv.first, sub, fmt::format("duplicate field '{}'", key));
                continue;
            }
            bool known = false;
            for (auto a : allowed) {
                known = known || a == key;
            }
            if (!known) {
                std::string list;
                for (auto a : allowed) {
                    list += list.empty() ? "" : ", ";
                    list += a;
                }
                fail(kv.first, sub,
                     fmt::format("unknown field '{}' (expected one of: {})", key, list));
            }
        }
        return true;
    }

    static std::string join(const std::string& path, std::string_view key) {
        return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
    }

    bool require(const YAML::Node& parent, const std::string& path, std::string_view key) {
        if (parent[std::string(key)]) {
            return true;
        }
        fail(parent, join(path, key), fmt::format("missing required field '{}'", key));
        return false;
    }

    // A list at n (absent: empty). Calls each(item, item_path).
    template <typename F>
    void list(const YAML::Node& n, const std::string& path, F&& each) {
        if (!n) {
            return;
        }
        sm_.note(path, mark(n));
        if (!n.IsSequence()) {
            fail(n, path, fmt::format("expected a list, got {}", describe(n)));
            return;
        }
        std::size_t i = 0;
        for (const auto& item : n) {
            if (!tick(item)) {
                return;
            }
            std::string ip = fmt::format("{}[{}]", path, i++);
            sm_.note(ip, mark(item));
            each(item, ip);
        }
    }

    bool str(const YAML::Node& n, const std::string& path, std::string& out) {
        if (!n) {
            return false;
        }
        if (!n.IsScalar()) {
            fail(n, path, fmt::format("expected a string, got {}", describe(n)));
            return false;
        }
        out = n.Scalar();
        return true;
    }

    template <typename U>
    bool integer(const YAML::Node& n, const std::string& path, std::uint64_t lo, std::uint64_t hi,
                 U& out) {
        if (!n) {
            return false;
        }
        std::int64_t v = 0;
        const std::string s = n.IsScalar() ? n.Scalar() : std::string();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (!n.IsScalar() || s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 ||
            static_cast<std::uint64_t>(v) < lo || static_cast<std::uint64_t>(v) > hi) {
            fail(n, path,
                 fmt::format("expected an integer in {}..{}, got {}", lo, hi, describe(n)));
            return false;
        }
        out = static_cast<U>(v);
        return true;
    }

    bool number(const YAML::Node& n, const std::string& path, double& out) {
        if (!n) {
            return false;
        }
        const std::string s = n.IsScalar() ? n.Scalar() : std::string();
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (!n.IsScalar() || s.empty() || ec != std::errc() || p != s.data() + s.size() ||
            !std::isfinite(v)) {
            fail(n, path, fmt::format("expected a number, got {}", describe(n)));
            return false;
        }
        out = v;
        return true;
    }

    // "250ms", "5s", "2m", "1h" → milliseconds (at most 2^32-1 ms, about 49 days).
    bool duration(const YAML::Node& n, const std::string& path, std::uint32_t& out_ms) {
        if (!n) {
            return false;
        }
        const std::string s = n.IsScalar() ? n.Scalar() : std::string();
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
        std::uint64_t mult = unit == "ms"  ? 1
                             : unit == "s" ? 1000
                             : unit == "m" ? 60'000
                             : unit == "h" ? 3'600'000
                                           : 0;
        if (!n.IsScalar() || ec != std::errc() || p == s.data() || mult == 0 ||
            v > 0xffffffffULL / mult) {
            fail(n, path,
                 fmt::format("expected a duration such as 250ms, 5s, 2m or 1h, got {}",
                             describe(n)));
            return false;
        }
        out_ms = static_cast<std::uint32_t>(v * mult);
        return true;
    }

    template <typename E>
    bool choice(const YAML::Node& n, const std::string& path, choices<E> opts, E& out) {
        if (!n) {
            return false;
        }
        std::string list;
        for (const auto& [name, val] : opts) {
            if (n.IsScalar() && n.Scalar() == name) {
                out = val;
                return true;
            }
            list += list.empty() ? "" : ", ";
            list += name;
        }
        fail(n, path, fmt::format("expected one of {}, got {}", list, describe(n)));
        return false;
    }

    bool boolean(const YAML::Node& n, const std::string& path, bool& out) {
        if (!n) {
            return false;
        }
        if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
            out = n.Scalar() == "true";
            return true;
        }
        fail(n, path, fmt::format("expected true or false, got {}", describe(n)));
        return false;
    }

    // YAML aliases let a small file name the same subtree many times ("billion laughs"); we walk
    // every use, so the walk is bounded. Real configs have a few thousand nodes; 200k allows
    // ~20k routes while keeping a hostile file to ~100 MB and well under a second.
    static constexpr std::size_t max_nodes = 200'000;
    bool tick(const YAML::Node& n) {
        if (++nodes_ <= max_nodes) {
            return true;
        }
        if (nodes_ == max_nodes + 1) {
            fail(n, "",
                 fmt::format("document has more than {} nodes (counting each use of an "
                             "alias); refusing to load it",
                             max_nodes));
        }
        return false;
    }

    diagnostics& d_;
    source_map& sm_;
    std::size_t nodes_ = 0;
};

}  // namespace sluice::cp::model::detail
