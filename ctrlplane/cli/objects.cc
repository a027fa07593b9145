// sluicectl's object commands: route, cluster, listener, limit (add/set/del/list/show),
// endpoint (add/del/list) and breaker (set/reset/show/list); cluster health reads the
// dataplane's per-endpoint breaker state. Each edit becomes one "edit"
// request; the daemon validates the whole resulting config (CLI process).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ctrlplane/cli/common.hh"
#include "ctrlplane/cli/output.hh"
#include "ctrlplane/daemon/config_doc.hh"

namespace sluice::cp::cli {
namespace {

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

void add_object_commands(CLI::App& app, ctx& c) {
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
        auto listener = std::make_shared<std::string>();
        auto command = std::make_shared<int>(-1);
        auto headers = std::make_shared<std::vector<std::string>>();
        auto clients = std::make_shared<std::vector<std::string>>();
        s->add_option("--cluster", *cl, "send matching requests to this cluster");
        s->add_option("--listener", *listener, "match only on this listener (by name)");
        s->add_option("--command", *command, "binary listeners: match this frame command")
            ->check(CLI::Range(0, 255));
        s->add_option("--header", *headers,
                      "match a request header: NAME (present) or NAME=VALUE (exact); "
                      "repeatable, all must match");
        s->add_option("--client", *clients,
                      "match clients in this CIDR; repeatable, one must contain the client");
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
            if (!listener->empty()) {
                m["listener"] = *listener;
            }
            if (*command >= 0) {
                m["command"] = *command;
            }
            if (!headers->empty()) {
                json list = json::array();
                for (const std::string& h : *headers) {
                    const auto eq = h.find('=');
                    const std::string hn = h.substr(0, eq);
                    if (hn.empty()) {
                        err = fmt::format("--header '{}': expected NAME or NAME=VALUE", h);
                        return false;
                    }
                    if (eq == std::string::npos) {
                        list.push_back({{"name", hn}, {"present", true}});
                    } else {
                        list.push_back({{"name", hn}, {"exact", h.substr(eq + 1)}});
                    }
                }
                m["headers"] = list;  // the flags replace any --yaml headers, as for the others
            }
            if (!clients->empty()) {
                m["client_cidrs"] = *clients;
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
    {
        auto cl = std::make_shared<std::string>();
        auto* health = cluster->add_subcommand(
            "health", "per-endpoint breaker state (closed/open/half_open) as the dataplane sees it");
        health->add_option("name", *cl, "only this cluster (default: every cluster)");
        health->callback([&c, cl] {
            c.action = [&c, cl] {
                json req = {{"op", "health"}};
                if (!cl->empty()) {
                    req["cluster"] = *cl;
                }
                reply r = call(c.g.socket_path(), req);
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << r.body.dump(2) << "\n";
                } else {
                    print_health(r.body);
                }
                return int{exit_ok};
            };
        });
    }
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
}

}  // namespace sluice::cp::cli
