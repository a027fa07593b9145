// Shared by sluicectl's command files: global options, the per-invocation context, and the
// helpers that send a request and print the reply or a refusal (CLI process only).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "ctrlplane/cli/client.hh"

namespace sluice::cp::cli {

using json = nlohmann::ordered_json;

struct globals {
    std::string instance = "default";
    std::string socket;
    std::string output = "table";
    [[nodiscard]] std::string socket_path() const;
    [[nodiscard]] bool json_out() const { return output == "json"; }
};

// What the parsed command line asked for: a subcommand's callback stores its action here and
// main() runs it after parsing, so parse errors never half-run a command.
struct ctx {
    globals g;
    std::function<int()> action;
};

// Prints a refusal: the message on stderr; in -o json also the reply on stdout. Returns r.code.
int report_error(const globals& g, const reply& r);
int refuse_locally(const globals& g, const std::string& msg, int code = exit_refused);
// --yaml '{...}' (YAML or JSON flow syntax) → object; empty text → {}.
bool object_from_yaml(const std::string& text, json& out, std::string& err);
json number_or_string(const std::string& s);
// ADDR:PORT or [ADDR6]:PORT → {"address": ..., "port": ...}
bool parse_endpoint(const std::string& s, json& out, std::string& err);
std::string read_file(const std::string& path, bool& ok);
// The config in force as JSON (for list/show); on failure reports and sets code.
bool fetch_config(const globals& g, json& cfg, int& code);
// Sends an edit request and prints the diff and generation (or the JSON reply).
int send_edit(const globals& g, json req);
// The object named `name` in a sequence that outlives the returned pointer, or nullptr.
const json* find_named(const json& seq, const std::string& name);

// route, cluster, listener, limit, endpoint and breaker (objects.cc).
void add_object_commands(CLI::App& app, ctx& c);
// xdp status|block|limit|stats|verdict (xdp.cc): the pinned XDP maps, not the daemon.
void add_xdp_commands(CLI::App& app, ctx& c);

}  // namespace sluice::cp::cli
