// sluicectl: the operator CLI of sluice-ctrlplane, object-verb grammar like `ip` and `kubectl`:
//   sluicectl [-i INSTANCE] [--socket PATH] [-o table|json] OBJECT VERB [ARGS]
// Every edit is sent to the daemon, which validates the whole resulting config, publishes and
// persists it, or refuses and changes nothing. Exit codes: see client.hh and docs/cli.md.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "ctrlplane/cli/client.hh"
#include "ctrlplane/cli/output.hh"
#include "ctrlplane/daemon/config_doc.hh"

namespace {

using json = nlohmann::ordered_json;
using namespace sluice::cp::cli;  // NOLINT(google-build-using-namespace): main only

struct globals {
    std::string instance = "default";
    std::string socket;
    std::string output = "table";
    [[nodiscard]] std::string socket_path() const {
        return socket.empty() ? fmt::format("/run/sluice/{}.sock", instance) : socket;
    }
    [[nodiscard]] bool json_out() const { return output == "json"; }
};

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

int refuse_locally(const globals& g, const std::string& msg, int code = exit_refused) {
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

struct ctx {
    globals g;
    std::function<int()> action;
};

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

// list and show for a top-level section.
void add_list_show(CLI::App* obj, ctx& c, const std::string& section, const std::string& what) {
    auto* list = obj->add_subcommand("list", fmt::format("list {}s", what));
    list->callback([&c, section] {
        c.action = [&c, section] {
            json cfg;
            int code = 0;
            if (!fetch_config(c.g, cfg, code)) {
                return code;
            }
            const json objs = cfg.value(section, json::array());
            if (c.g.json_out()) {
                std::cout << objs.dump(2) << "\n";
            } else {
                print_objects_table(section, objs);
            }
            return int{exit_ok};
        };
    });
    auto* show = obj->add_subcommand("show", fmt::format("show one {} in full", what));
    auto name = std::make_shared<std::string>();
    show->add_option("name", *name, fmt::format("{} name", what))->required();
    show->callback([&c, section, name, what] {
        c.action = [&c, section, name, what] {
            json cfg;
            int code = 0;
            if (!fetch_config(c.g, cfg, code)) {
                return code;
            }
            const json objs = cfg.value(section, json::array());
            const json* o = find_named(objs, *name);
            if (o == nullptr) {
                return refuse_locally(c.g, fmt::format("no {} named '{}' (see 'sluicectl {} "
                                                       "list')",
                                                       what, *name, what));
            }
            std::cout << (c.g.json_out() ? o->dump(2) + "\n"
                                         : sluice::cp::daemon::json_to_yaml(*o));
            return int{exit_ok};
        };
    });
}

void add_del(CLI::App* obj, ctx& c, const std::string& section, const std::string& what) {
    auto* del = obj->add_subcommand("del", fmt::format("delete a {}", what));
    auto name = std::make_shared<std::string>();
    del->add_option("name", *name, fmt::format("{} name", what))->required();
    del->callback([&c, section, name] {
        c.action = [&c, section, name] {
            return send_edit(c.g, {{"section", section}, {"verb", "del"}, {"name", *name}});
        };
    });
}

// add and set (replace) with object-building flags; build(name, base) fills in the flags.
using builder = std::function<bool(json& obj, std::string& err)>;
void add_add_set(CLI::App* obj, ctx& c, const std::string& section, const std::string& what,
                 const std::function<builder(CLI::App*)>& flags, bool with_before = false) {
    for (const std::string verb : {"add", "set"}) {
        auto* sub = obj->add_subcommand(
            verb, verb == "add" ? fmt::format("add a {}", what)
                                : fmt::format("replace a {} with the one described", what));
        auto name = std::make_shared<std::string>();
        auto yaml = std::make_shared<std::string>();
        auto before = std::make_shared<std::string>();
        sub->add_option("name", *name, fmt::format("{} name", what))->required();
        sub->add_option("--yaml", *yaml,
                        "the whole object in YAML/JSON flow syntax; flags override its fields");
        if (with_before && verb == "add") {
            sub->add_option("--before", *before,
                            "insert before this route (the first matching route wins)");
        }
        builder b = flags(sub);
        sub->callback([&c, section, verb, name, yaml, before, b] {
            c.action = [&c, section, verb, name, yaml, before, b] {
                json given;
                std::string err;
                if (!object_from_yaml(*yaml, given, err)) {
                    return refuse_locally(c.g, err, exit_usage);
                }
                json o = {{"name", *name}};  // name first, as operators write it
                for (auto it = given.begin(); it != given.end(); ++it) {
                    if (it.key() != "name") {
                        o[it.key()] = it.value();
                    }
                }
                if (!b(o, err)) {
                    return refuse_locally(c.g, err, exit_usage);
                }
                json req = {{"section", section}, {"verb", verb}, {"name", *name}, {"object", o}};
                if (!before->empty()) {
                    req["before"] = *before;
                }
                return send_edit(c.g, req);
            };
        });
    }
}

}  // namespace

int main(int argc, char** argv) {
    ctx c;
    if (const char* inst = std::getenv("SLUICE_INSTANCE"); inst != nullptr && *inst != '\0') {
        c.g.instance = inst;
    }
    CLI::App app{"sluicectl: control a running sluice-ctrlplane (routes, clusters, endpoints, "
                 "limits, breakers, listeners, config, status, stats). Examples: docs/cli.md."};
    app.fallthrough();
    app.require_subcommand(1);
    app.add_option("-i,--instance", c.g.instance, "instance name (env SLUICE_INSTANCE)")
        ->capture_default_str();
    app.add_option("--socket", c.g.socket, "control socket (default /run/sluice/INSTANCE.sock)");
    app.add_option("-o,--output", c.g.output, "output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();

    // ---- route
    auto* route = app.add_subcommand("route", "routes (ordered: the first match wins)");
    route->require_subcommand(1);
    add_list_show(route, c, "routes", "route");
    add_del(route, c, "routes", "route");
    add_add_set(route, c, "routes", "route", [](CLI::App* s) -> builder {
        auto cl = std::make_shared<std::string>();
        auto host = std::make_shared<std::string>();
        auto prefix = std::make_shared<std::string>();
        auto exact = std::make_shared<std::string>();
        auto method = std::make_shared<std::string>();
        auto timeout = std::make_shared<std::string>();
        s->add_option("--cluster", *cl, "send matching requests to this cluster");
        s->add_option("--host", *host, "match this host (or *.suffix)");
        s->add_option("--path-prefix", *prefix, "match paths starting with this");
        s->add_option("--path-exact", *exact, "match exactly this path");
        s->add_option("--method", *method, "match this HTTP method");
        s->add_option("--timeout", *timeout, "whole-request timeout, e.g. 5s");
        return [=](json& o, std::string& err) {
            json& m = o["match"];
            if (!m.is_object()) {
                m = json::object();
            }
            if (!host->empty()) {
                m["host"] = *host;
            }
            if (!prefix->empty() && !exact->empty()) {
                err = "--path-prefix and --path-exact exclude each other";
                return false;
            }
            if (!prefix->empty()) {
                m["path"] = {{"prefix", *prefix}};
            }
            if (!exact->empty()) {
                m["path"] = {{"exact", *exact}};
            }
            if (!method->empty()) {
                m["method"] = *method;
            }
            if (m.empty()) {
                o.erase("match");
            }
            json& a = o["action"];
            if (!a.is_object()) {
                a = json::object();
            }
            if (!cl->empty()) {
                a["cluster"] = *cl;
            }
            if (!timeout->empty()) {
                a["timeout"] = *timeout;
            }
            return true;
        };
    }, true);

    // ---- cluster
    auto* cluster = app.add_subcommand("cluster", "upstream clusters");
    cluster->require_subcommand(1);
    add_list_show(cluster, c, "clusters", "cluster");
    add_del(cluster, c, "clusters", "cluster");
    add_add_set(cluster, c, "clusters", "cluster", [](CLI::App* s) -> builder {
        auto eps = std::make_shared<std::vector<std::string>>();
        auto lb = std::make_shared<std::string>();
        auto hk = std::make_shared<std::string>();
        s->add_option("--endpoint", *eps, "ADDRESS:PORT (repeatable)");
        s->add_option("--lb", *lb, "round_robin | least_request | maglev");
        s->add_option("--hash-key", *hk, "client_ip | header:NAME (maglev)");
        return [=](json& o, std::string& err) {
            if (!eps->empty()) {
                json a = json::array();
                for (const auto& e : *eps) {
                    json ep;
                    if (!parse_endpoint(e, ep, err)) {
                        return false;
                    }
                    a.push_back(ep);
                }
                o["endpoints"] = a;
            }
            if (!lb->empty()) {
                o["lb_policy"] = *lb;
            }
            if (!hk->empty()) {
                o["hash_key"] = *hk;
            }
            return true;
        };
    });

    // ---- listener
    auto* listener = app.add_subcommand("listener", "listening addresses");
    listener->require_subcommand(1);
    add_list_show(listener, c, "listeners", "listener");
    add_del(listener, c, "listeners", "listener");
    add_add_set(listener, c, "listeners", "listener", [](CLI::App* s) -> builder {
        auto addr = std::make_shared<std::string>();
        auto port = std::make_shared<std::string>();
        auto proto = std::make_shared<std::string>();
        s->add_option("--address", *addr, "IP address to listen on");
        s->add_option("--port", *port, "port 1..65535");
        s->add_option("--protocol", *proto, "http | tcp | binary");
        return [=](json& o, std::string&) {
            if (!addr->empty()) {
                o["address"] = *addr;
            }
            if (!port->empty()) {
                o["port"] = number_or_string(*port);
            }
            if (!proto->empty()) {
                o["protocol"] = *proto;
            }
            return true;
        };
    });

    // ---- limit
    auto* limit = app.add_subcommand("limit", "rate limits (token buckets)");
    limit->require_subcommand(1);
    add_list_show(limit, c, "rate_limits", "limit");
    add_del(limit, c, "rate_limits", "limit");
    add_add_set(limit, c, "rate_limits", "limit", [](CLI::App* s) -> builder {
        auto rate = std::make_shared<std::string>();
        auto burst = std::make_shared<std::string>();
        auto key = std::make_shared<std::string>();
        auto mode = std::make_shared<std::string>();
        s->add_option("--rate", *rate, "tokens per second (0.001..1e9)");
        s->add_option("--burst", *burst, "bucket size");
        s->add_option("--key", *key, "route | client_ip | header:NAME");
        s->add_option("--mode", *mode, "enforce | shadow");
        return [=](json& o, std::string&) {
            if (!rate->empty()) {
                char* end = nullptr;
                const double r = std::strtod(rate->c_str(), &end);
                o["rate"] = *end == '\0' ? json(r) : json(*rate);
            }
            if (!burst->empty()) {
                o["burst"] = number_or_string(*burst);
            }
            if (!key->empty()) {
                o["key"] = *key;
            }
            if (!mode->empty()) {
                o["mode"] = *mode;
            }
            return true;
        };
    });

    // ---- endpoint
    auto* endpoint = app.add_subcommand("endpoint", "endpoints of a cluster");
    endpoint->require_subcommand(1);
    {
        auto cl = std::make_shared<std::string>();
        auto ep = std::make_shared<std::string>();
        auto weight = std::make_shared<std::string>();
        auto* add = endpoint->add_subcommand("add", "add an endpoint to a cluster");
        add->add_option("cluster", *cl, "cluster name")->required();
        add->add_option("endpoint", *ep, "ADDRESS:PORT")->required();
        add->add_option("--weight", *weight, "weight 1..1000000");
        add->callback([&c, cl, ep, weight] {
            c.action = [&c, cl, ep, weight] {
                json o;
                std::string err;
                if (!parse_endpoint(*ep, o, err)) {
                    return refuse_locally(c.g, err, exit_usage);
                }
                if (!weight->empty()) {
                    o["weight"] = number_or_string(*weight);
                }
                return send_edit(c.g, {{"section", "endpoints"}, {"verb", "add"},
                                       {"cluster", *cl}, {"name", *ep}, {"object", o}});
            };
        });
        auto* del = endpoint->add_subcommand("del", "remove an endpoint from a cluster");
        del->add_option("cluster", *cl, "cluster name")->required();
        del->add_option("endpoint", *ep, "ADDRESS:PORT")->required();
        del->callback([&c, cl, ep] {
            c.action = [&c, cl, ep] {
                json o;
                std::string err;
                if (!parse_endpoint(*ep, o, err)) {
                    return refuse_locally(c.g, err, exit_usage);
                }
                const std::string key =
                    fmt::format("{}:{}", o["address"].get<std::string>(), o["port"].dump());
                return send_edit(c.g, {{"section", "endpoints"}, {"verb", "del"},
                                       {"cluster", *cl}, {"name", *ep}, {"endpoint", key}});
            };
        });
        auto* list = endpoint->add_subcommand("list", "list a cluster's endpoints");
        list->add_option("cluster", *cl, "cluster name")->required();
        list->callback([&c, cl] {
            c.action = [&c, cl] {
                json cfg;
                int code = 0;
                if (!fetch_config(c.g, cfg, code)) {
                    return code;
                }
                const json clusters = cfg.value("clusters", json::array());
                const json* o = find_named(clusters, *cl);
                if (o == nullptr) {
                    return refuse_locally(c.g, fmt::format("no cluster named '{}'", *cl));
                }
                const json eps = o->value("endpoints", json::array());
                if (c.g.json_out()) {
                    std::cout << eps.dump(2) << "\n";
                } else {
                    print_objects_table("endpoints", eps);
                }
                return int{exit_ok};
            };
        });
    }

    // ---- breaker (a cluster's circuit_breakers)
    auto* breaker = app.add_subcommand("breaker", "circuit breakers of clusters");
    breaker->require_subcommand(1);
    {
        static const char* fields[] = {"max_connections", "max_pending_requests", "max_requests",
                                       "max_retries"};
        auto cl = std::make_shared<std::string>();
        auto vals = std::make_shared<std::array<std::string, 4>>();
        auto* set = breaker->add_subcommand("set", "set circuit-breaker thresholds of a cluster");
        set->add_option("cluster", *cl, "cluster name")->required();
        for (std::size_t i = 0; i < 4; ++i) {
            std::string flag = std::string("--") + fields[i];
            std::replace(flag.begin(), flag.end(), '_', '-');
            set->add_option(flag, (*vals)[i], fmt::format("{} (Envoy default 1024; retries 3)",
                                                          fields[i]));
        }
        set->callback([&c, cl, vals] {
            c.action = [&c, cl, vals] {
                json o = json::object();
                for (std::size_t i = 0; i < 4; ++i) {
                    if (!(*vals)[i].empty()) {
                        o[fields[i]] = number_or_string((*vals)[i]);
                    }
                }
                if (o.empty()) {
                    return refuse_locally(c.g, "breaker set: give at least one of "
                                               "--max-connections, --max-pending-requests, "
                                               "--max-requests, --max-retries",
                                          exit_usage);
                }
                return send_edit(c.g, {{"section", "breakers"}, {"verb", "set"}, {"name", *cl},
                                       {"object", o}});
            };
        });
        auto* reset = breaker->add_subcommand("reset", "back to the default thresholds");
        reset->add_option("cluster", *cl, "cluster name")->required();
        reset->callback([&c, cl] {
            c.action = [&c, cl] {
                return send_edit(c.g, {{"section", "breakers"}, {"verb", "del"}, {"name", *cl}});
            };
        });
        auto show_or_list = [&c](const std::string& only) {
            json cfg;
            int code = 0;
            if (!fetch_config(c.g, cfg, code)) {
                return code;
            }
            json rows = json::array();
            for (const auto& cluster_obj : cfg.value("clusters", json::array())) {
                const std::string n = cluster_obj.value("name", std::string());
                if (!only.empty() && n != only) {
                    continue;
                }
                const json b = cluster_obj.value("circuit_breakers", json::object());
                rows.push_back({{"cluster", n},
                                {"max_connections", b.value("max_connections", json(1024))},
                                {"max_pending_requests", b.value("max_pending_requests", json(1024))},
                                {"max_requests", b.value("max_requests", json(1024))},
                                {"max_retries", b.value("max_retries", json(3))}});
            }
            if (!only.empty() && rows.empty()) {
                return refuse_locally(c.g, fmt::format("no cluster named '{}'", only));
            }
            if (c.g.json_out()) {
                std::cout << (only.empty() ? rows.dump(2) : rows[0].dump(2)) << "\n";
            } else {
                print_objects_table("breakers", rows);
            }
            return int{exit_ok};
        };
        auto* show = breaker->add_subcommand("show", "thresholds of one cluster (defaults filled in)");
        show->add_option("cluster", *cl, "cluster name")->required();
        show->callback([&c, cl, show_or_list] { c.action = [cl, show_or_list] { return show_or_list(*cl); }; });
        auto* list = breaker->add_subcommand("list", "thresholds of every cluster");
        list->callback([&c, show_or_list] { c.action = [show_or_list] { return show_or_list(""); }; });
    }

    // ---- config
    auto* config = app.add_subcommand("config", "the whole config document");
    config->require_subcommand(1);
    config->add_subcommand("get", "print the config in force (YAML; -o json for JSON)")
        ->callback([&c] {
            c.action = [&c] {
                reply r = call(c.g.socket_path(), {{"op", "get"}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << json{{"generation", r.body["generation"]},
                                      {"config", r.body["config"]}}.dump(2)
                              << "\n";
                } else {
                    std::cout << r.body.value("yaml", std::string());
                }
                return int{exit_ok};
            };
        });
    {
        auto file = std::make_shared<std::string>();
        auto dry = std::make_shared<bool>(false);
        auto* apply = config->add_subcommand(
            "apply", "validate and apply a whole YAML file; prints what changes");
        apply->add_option("-f,--file", *file, "YAML config file")->required();
        apply->add_flag("--dry-run", *dry, "validate and show the diff, change nothing");
        apply->callback([&c, file, dry] {
            c.action = [&c, file, dry] {
                bool ok = false;
                const std::string text = read_file(*file, ok);
                if (!ok) {
                    return refuse_locally(c.g, fmt::format("cannot read {}", *file), exit_usage);
                }
                reply r = call(c.g.socket_path(),
                               {{"op", "apply"}, {"yaml", text}, {"file", *file},
                                {"dry_run", *dry}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << r.body.dump(2) << "\n";
                } else {
                    print_diff(r.body.value("diff", json::object()));
                    if (*dry) {
                        fmt::print("dry run: nothing applied (generation {} stays)\n",
                                   scalar_text(r.body["generation"]));
                    } else {
                        fmt::print("applied: generation {}\n", scalar_text(r.body["generation"]));
                    }
                }
                return int{exit_ok};
            };
        });
    }

    // ---- status, stats
    app.add_subcommand("status", "daemon, dataplane liveness, applied generation per lcore")
        ->callback([&c] {
            c.action = [&c] {
                reply r = call(c.g.socket_path(), {{"op", "status"}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << r.body.dump(2) << "\n";
                } else {
                    print_status(r.body);
                }
                return int{exit_ok};
            };
        });
    {
        auto watch = std::make_shared<bool>(false);
        auto count = std::make_shared<unsigned>(0);
        auto interval = std::make_shared<double>(1.0);
        auto* stats = app.add_subcommand("stats", "counters summed over lcores, and rates");
        stats->add_flag("-w,--watch", *watch, "print again every --interval seconds");
        stats->add_option("--interval", *interval, "seconds between --watch prints")
            ->check(CLI::Range(0.1, 3600.0))
            ->capture_default_str();
        stats->add_option("--count", *count, "with --watch: stop after this many prints");
        stats->callback([&c, watch, count, interval] {
            c.action = [&c, watch, count, interval] {
                for (unsigned i = 0;; ++i) {
                    reply r = call(c.g.socket_path(), {{"op", "stats"}});
                    if (r.code != exit_ok) {
                        return report_error(c.g, r);
                    }
                    if (c.g.json_out()) {
                        std::cout << r.body.dump(*watch ? -1 : 2) << std::endl;
                    } else {
                        print_stats(r.body);
                        std::cout << std::flush;
                    }
                    if (!*watch || (*count != 0 && i + 1 >= *count)) {
                        return int{exit_ok};
                    }
                    ::usleep(static_cast<useconds_t>(*interval * 1e6));  // pacing, not sync
                }
            };
        });
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int r = app.exit(e);
        return r == 0 ? exit_ok : exit_usage;
    }
    try {
        return c.action ? c.action() : exit_usage;
    } catch (const json::exception& e) {  // e.g. an argument that is not UTF-8
        std::cerr << "sluicectl: error: cannot encode the request: " << e.what() << "\n";
        return exit_usage;
    }
}
