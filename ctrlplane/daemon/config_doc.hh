// The daemon's editable view of the config in force: the YAML document as a tree, converted to
// and from JSON for the CLI, object-level edits (add/del/set a route, cluster, endpoint, limit,
// breaker or listener) and the object diff shown by `config apply --dry-run`. Edits produce a
// whole new YAML document that then goes through config_store::apply like any file, so one
// validator decides everything. Daemon thread only; nothing throws out of these functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "ctrlplane/result.hh"

namespace sluice::cp::daemon {

// YAML text → JSON (plain scalars that read as integers, reals or booleans become numbers and
// booleans; quoted ones stay strings). Unparseable YAML is an error.
[[nodiscard]] result<nlohmann::ordered_json> yaml_to_json(std::string_view yaml);
// JSON → YAML text (block style), the form that is persisted after an edit.
[[nodiscard]] std::string json_to_yaml(const nlohmann::ordered_json& j);

// One edit request (see docs/cli.md, "Socket protocol"):
//   section: listeners | routes | clusters | rate_limits | endpoints | breakers
//   verb:    add | del | set (set replaces a named object, or merges breaker fields)
//   name:    object name (for endpoints: "address:port"; for breakers: the cluster)
//   cluster: the owning cluster (endpoints)
//   object:  the new object (add/set)
//   before:  routes only: insert before this route (order matters: first match wins)
// Returns the edited config as JSON; errors name what was missing (kind invalid).
[[nodiscard]] result<nlohmann::ordered_json> apply_edit(const nlohmann::ordered_json& config,
                                                const nlohmann::ordered_json& request);

// Objects added, removed and changed between two configs, per section, by name:
// {"listeners": {"added": [...], "removed": [...], "changed": [...]}, ...}; plus "order" when
// the route order differs. Empty sections are left out.
[[nodiscard]] nlohmann::ordered_json diff(const nlohmann::ordered_json& before, const nlohmann::ordered_json& after);

}  // namespace sluice::cp::daemon
