// sluicectl helpers shared by the command files (CLI process).
#include "ctrlplane/cli/common.hh"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ctrlplane/cli/output.hh"
#include "ctrlplane/daemon/config_doc.hh"

namespace sluice::cp::cli {

std::string globals::socket_path() const {
    return socket.empty() ? fmt::format("/run/sluice/{}.sock", instance) : socket;
}

// Prints a refusal: the daemon's message on stderr; in -o json also the reply on stdout.
int report_error(const globals& g, const reply& r) {
    std::cerr << "sluicectl: error: " << r.body.value("error", std::string("unknown error"))
              << "\n";
    if (r.code == exit_busy) {
        std::cerr << "sluicectl: the daemon is busy or could not write; nothing changed, retry\n";
    }
    if (g.json_out()) {
        std::cout << r.body.dump(2) << "\n";
    }
    return r.code;
}

int refuse_locally(const globals& g, const std::string& msg, int code) {
    return report_error(g, reply{code, {{"ok", false}, {"error", msg}, {"kind", "invalid"}}});
}

// Parses --yaml '{...}' (YAML or JSON flow syntax) into an object; empty → {}.
bool object_from_yaml(const std::string& text, json& out, std::string& err) {
    if (text.empty()) {
        out = json::object();
        return true;
    }
    auto j = sluice::cp::daemon::yaml_to_json(text);
    if (!j || !j->is_object()) {
        err = j ? "--yaml: expected a mapping, e.g. '{name: x, ...}'" : "--yaml: " + j.message();
        return false;
    }
    out = j.value();
    return true;
}

json number_or_string(const std::string& s) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    return !s.empty() && *end == '\0' ? json(v) : json(s);
}

// ADDR:PORT or [ADDR6]:PORT → {"address": ..., "port": ...}
bool parse_endpoint(const std::string& s, json& out, std::string& err) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
        err = fmt::format("'{}': expected ADDRESS:PORT (IPv6: [2001:db8::1]:80)", s);
        return false;
    }
    std::string addr = s.substr(0, colon);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') {
        addr = addr.substr(1, addr.size() - 2);
    }
    out = {{"address", addr}, {"port", number_or_string(s.substr(colon + 1))}};
    return true;
}

std::string read_file(const std::string& path, bool& ok) {
    std::ifstream in(path, std::ios::binary);
    ok = static_cast<bool>(in);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}


// Fetches the config in force as JSON (for list/show).
bool fetch_config(const globals& g, json& cfg, int& code) {
    reply r = call(g.socket_path(), {{"op", "get"}});
    if (r.code != exit_ok) {
        code = report_error(g, r);
        return false;
    }
    cfg = r.body.value("config", json::object());
    if (!cfg.is_object()) {
        cfg = json::object();
    }
    return true;
}

int send_edit(const globals& g, json req) {
    req["op"] = "edit";
    reply r = call(g.socket_path(), req);
    if (r.code != exit_ok) {
        return report_error(g, r);
    }
    if (g.json_out()) {
        std::cout << r.body.dump(2) << "\n";
    } else {
        print_diff(r.body.value("diff", json::object()));
        fmt::print("generation {}\n", scalar_text(r.body.value("generation", json())));
    }
    return exit_ok;
}

const json* find_named(const json& seq, const std::string& name) {
    for (const auto& o : seq) {
        if (o.is_object() && o.value("name", std::string()) == name) {
            return &o;
        }
    }
    return nullptr;
}

}  // namespace sluice::cp::cli
