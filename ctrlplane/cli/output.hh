// sluicectl's human-readable output (-o table): tables for lists, YAML for single objects,
// +/-/~ lines for diffs. -o json prints the JSON documented in docs/cli.md instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sluice::cp::cli {

void print_table(const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows);
// One row per object of `section` ("routes", "clusters", ...) of a config in JSON form.
void print_objects_table(const std::string& section, const nlohmann::ordered_json& objects);
// "+ routes/x", "- clusters/y", "~ listeners/z"; "no changes" when empty.
void print_diff(const nlohmann::ordered_json& diff);
void print_status(const nlohmann::ordered_json& status);
void print_stats(const nlohmann::ordered_json& stats);
// The "health" reply: one row per endpoint, then staleness and overflow notes.
void print_health(const nlohmann::ordered_json& health);
[[nodiscard]] std::string scalar_text(const nlohmann::ordered_json& v);

}  // namespace sluice::cp::cli
