// Loading a config from YAML: strict parsing (unknown fields rejected, types checked) followed by
// complete semantic validation. Nothing is returned unless every check passed, so a caller can
// never apply a half-valid config. Control plane only; throws nothing (yaml-cpp exceptions are
// turned into diagnostics).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/model/diagnostic.hh"

namespace sluice::cp::model {

struct load_result {
    std::optional<config> cfg;       // set only when errors is empty
    std::vector<diagnostic> errors;  // every problem found, in file order per phase
    [[nodiscard]] bool ok() const noexcept { return cfg.has_value(); }
};

// file_name is used in messages only.
[[nodiscard]] load_result load_config(std::string_view yaml_text, std::string_view file_name);
[[nodiscard]] load_result load_config_file(const std::string& path);

// Semantic checks on a parsed (or code-built) config: names, references, ranges, addresses,
// regexes, filters. marks may be null; then diagnostics carry paths but no lines.
[[nodiscard]] std::vector<diagnostic> validate(const config& c, std::string_view file_name,
                                               const source_map* marks);

}  // namespace sluice::cp::model
