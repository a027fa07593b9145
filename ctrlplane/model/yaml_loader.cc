// Strict YAML → config parsing with yaml-cpp (control plane). Type and shape errors are reported
// here with the node's line; semantic checks run afterwards in validate.cc. Every error is
// collected; none stops the walk except a document that is not YAML at all.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "ctrlplane/model/loader.hh"
#include "ctrlplane/model/yaml_reader.hh"

namespace sluice::cp::model {
namespace {

using detail::choices;

class parser : private detail::yaml_reader {
public:
    parser(diagnostics& d, source_map& sm) : yaml_reader(d, sm) {}

    config document(const YAML::Node& root);

private:
    listener parse_listener(const YAML::Node& n, const std::string& p);
    route parse_route(const YAML::Node& n, const std::string& p);
    void parse_match(const YAML::Node& n, const std::string& p, route_match& m);
    void parse_action(const YAML::Node& n, const std::string& p, route_action& a);
    void parse_filters(const YAML::Node& n, const std::string& p, std::vector<filter>& out);
    void parse_limits(const YAML::Node& n, const std::string& p, listener& l);
    cluster parse_cluster(const YAML::Node& n, const std::string& p);
    rate_limit parse_rate_limit(const YAML::Node& n, const std::string& p);
};

config parser::document(const YAML::Node& root) {
    config c;
    if (!root || root.IsNull()) {
        d_.add_at({1, 1}, "",
                  "empty document: expected a mapping with listeners, routes, "
                  "clusters and rate_limits");
        return c;
    }
    if (!fields(root, "", {"listeners", "routes", "clusters", "rate_limits"})) {
        return c;
    }
    list(root["listeners"], "listeners", [&](const YAML::Node& n, const std::string& p) {
        c.listeners.push_back(parse_listener(n, p));
    });
    list(root["clusters"], "clusters", [&](const YAML::Node& n, const std::string& p) {
        c.clusters.push_back(parse_cluster(n, p));
    });
    list(root["rate_limits"], "rate_limits", [&](const YAML::Node& n, const std::string& p) {
        c.rate_limits.push_back(parse_rate_limit(n, p));
    });
    list(root["routes"], "routes",
         [&](const YAML::Node& n, const std::string& p) { c.routes.push_back(parse_route(n, p)); });
    return c;
}

listener parser::parse_listener(const YAML::Node& n, const std::string& p) {
    listener l;
    if (!fields(n, p, {"name", "address", "port", "protocol", "limits", "filters"})) {
        return l;
    }
    for (auto k : {"name", "address", "port"}) {
        require(n, p, k);
    }
    str(n["name"], p + ".name", l.name);
    str(n["address"], p + ".address", l.address);
    integer(n["port"], p + ".port", 1, 65535, l.port);
    choice<protocol>(
        n["protocol"], p + ".protocol",
        {{"http", protocol::http}, {"tcp", protocol::tcp}, {"binary", protocol::binary}}, l.proto);
    if (n["limits"]) {
        parse_limits(n["limits"], p + ".limits", l);
    }
    parse_filters(n["filters"], p + ".filters", l.filters);
    return l;
}

// Sizes in bytes. Lower bounds keep a limit from making the listener useless (a request line
// shorter than "GET / HTTP/1.1"), upper bounds are what the codecs can hold.
void parser::parse_limits(const YAML::Node& n, const std::string& p, listener& l) {
    if (!fields(n, p,
                {"max_request_line", "max_header_bytes", "max_headers", "max_frame_payload"})) {
        return;
    }
    auto only_for = [&](const char* key, protocol want, const char* want_name) {
        if (n[key] && l.proto != want) {
            fail(n[key], p + "." + key,
                 fmt::format("{} applies only to {} listeners (this one is {})", key, want_name,
                             to_string(l.proto)));
            return false;
        }
        return true;
    };
    if (only_for("max_request_line", protocol::http, "http")) {
        integer(n["max_request_line"], p + ".max_request_line", 64, 1 << 20,
                l.limits.max_request_line);
    }
    if (only_for("max_header_bytes", protocol::http, "http")) {
        integer(n["max_header_bytes"], p + ".max_header_bytes", 1024, 16 << 20,
                l.limits.max_header_bytes);
    }
    if (only_for("max_headers", protocol::http, "http")) {
        integer(n["max_headers"], p + ".max_headers", 1, 128, l.limits.max_headers);
    }
    if (only_for("max_frame_payload", protocol::binary, "binary")) {
        integer(n["max_frame_payload"], p + ".max_frame_payload", 1, 64 << 20,
                l.limits.max_frame_payload);
    }
}

route parser::parse_route(const YAML::Node& n, const std::string& p) {
    route r;
    if (!fields(n, p, {"name", "match", "action"})) {
        return r;
    }
    require(n, p, "name");
    str(n["name"], p + ".name", r.name);
    if (n["match"]) {
        parse_match(n["match"], p + ".match", r.match);
    }
    if (require(n, p, "action")) {
        parse_action(n["action"], p + ".action", r.action);
    }
    return r;
}

void parser::parse_match(const YAML::Node& n, const std::string& p, route_match& m) {
    if (!fields(n, p,
                {"host", "path", "method", "headers", "client_cidrs", "listener", "command"})) {
        return;
    }
    str(n["listener"], p + ".listener", m.listener);
    integer(n["command"], p + ".command", 0, 255, m.command);
    std::string host;
    if (str(n["host"], p + ".host", host)) {
        // Host names are case-insensitive (RFC 9110 §4.2.3): store lower case so the dataplane
        // compares bytes.
        for (auto& ch : host) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        if (host.starts_with("*.")) {
            m.host_kind = host_match::suffix;
            m.host = host.substr(1);
        } else {
            m.host_kind = host_match::exact;
            m.host = host;
        }
    }
    if (const auto& path = n["path"]; path) {
        std::string pp = p + ".path";
        if (fields(path, pp, {"exact", "prefix", "regex"})) {
            if (path.size() != 1) {
                fail(path, pp, "expected exactly one of exact, prefix or regex");
            }
            if (str(path["exact"], pp + ".exact", m.path)) {
                m.path_kind = path_match::exact;
            } else if (str(path["prefix"], pp + ".prefix", m.path)) {
                m.path_kind = path_match::prefix;
            } else if (str(path["regex"], pp + ".regex", m.path)) {
                m.path_kind = path_match::regex;
            }
        }
    }
    str(n["method"], p + ".method", m.method);
    list(n["headers"], p + ".headers", [&](const YAML::Node& h, const std::string& hp) {
        header_matcher hm;
        if (!fields(h, hp, {"name", "exact", "prefix", "regex", "present"})) {
            return;
        }
        require(h, hp, "name");
        str(h["name"], hp + ".name", hm.name);
        for (auto& ch : hm.name) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        int ops = 0;
        if (str(h["exact"], hp + ".exact", hm.value)) {
            hm.op = header_op::exact;
            ++ops;
        }
        if (str(h["prefix"], hp + ".prefix", hm.value)) {
            hm.op = header_op::prefix;
            ++ops;
        }
        if (str(h["regex"], hp + ".regex", hm.value)) {
            hm.op = header_op::regex;
            ++ops;
        }
        bool present = false;
        if (boolean(h["present"], hp + ".present", present)) {
            if (!present) {
                fail(h["present"], hp + ".present", "expected true (omit the matcher instead)");
            }
            ++ops;
        }
        if (ops != 1) {
            fail(h, hp, "expected exactly one of exact, prefix, regex or present");
        }
        m.headers.push_back(std::move(hm));
    });
    list(n["client_cidrs"], p + ".client_cidrs", [&](const YAML::Node& c, const std::string& cp) {
        std::string s;
        if (str(c, cp, s)) {
            m.client_cidrs.push_back(s);
        }
    });
}

void parser::parse_action(const YAML::Node& n, const std::string& p, route_action& a) {
    if (!fields(
            n, p,
            {"cluster", "weighted_clusters", "prefix_rewrite", "timeout", "stream_idle", "retry",
             "filters"})) {
        return;
    }
    if (static_cast<bool>(n["cluster"]) == static_cast<bool>(n["weighted_clusters"])) {
        fail(n, p, "expected exactly one of cluster or weighted_clusters");
    }
    std::string cl;
    if (str(n["cluster"], p + ".cluster", cl)) {
        a.clusters.push_back({cl, 1});
    }
    a.weighted = static_cast<bool>(n["weighted_clusters"]);
    list(n["weighted_clusters"], p + ".weighted_clusters",
         [&](const YAML::Node& w, const std::string& wp) {
             weighted_cluster wc;
             if (!fields(w, wp, {"cluster", "weight"})) {
                 return;
             }
             require(w, wp, "cluster");
             require(w, wp, "weight");
             str(w["cluster"], wp + ".cluster", wc.cluster);
             integer(w["weight"], wp + ".weight", 0, 1'000'000, wc.weight);
             a.clusters.push_back(std::move(wc));
         });
    str(n["prefix_rewrite"], p + ".prefix_rewrite", a.prefix_rewrite);
    duration(n["timeout"], p + ".timeout", a.timeout_ms);
    duration(n["stream_idle"], p + ".stream_idle", a.stream_idle_ms);
    if (const auto& r = n["retry"]; r) {
        std::string rp = p + ".retry";
        if (fields(r, rp, {"attempts", "on", "per_try_timeout"})) {
            integer(r["attempts"], rp + ".attempts", 0, 10, a.retry.attempts);
            duration(r["per_try_timeout"], rp + ".per_try_timeout", a.retry.per_try_timeout_ms);
            if (r["on"]) {
                a.retry.on = 0;
            }
            list(r["on"], rp + ".on", [&](const YAML::Node& o, const std::string& op) {
                retry_on bit = retry_5xx;
                if (choice<retry_on>(o, op,
                                     {{"5xx", retry_5xx},
                                      {"gateway_error", retry_gateway_error},
                                      {"connect_failure", retry_connect_failure},
                                      {"reset", retry_reset}},
                                     bit)) {
                    a.retry.on |= bit;
                }
            });
        }
    }
    parse_filters(n["filters"], p + ".filters", a.filters);
}

void parser::parse_filters(const YAML::Node& n, const std::string& p, std::vector<filter>& out) {
    list(n, p, [&](const YAML::Node& f, const std::string& fp) {
        filter fl;
        if (!fields(f, fp, {"name", "settings"})) {
            return;
        }
        require(f, fp, "name");
        str(f["name"], fp + ".name", fl.name);
        if (const auto& s = f["settings"]; s) {
            std::string sp = fp + ".settings";
            sm_.note(sp, mark(s));
            if (!s.IsMap()) {
                fail(s, sp,
                     fmt::format("expected a mapping of setting: value, got {}", describe(s)));
            } else {
                for (const auto& kv : s) {
                    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
                    std::string kp = fmt::format("{}.{}", sp, key);
                    sm_.note(kp, mark(kv.first));
                    std::string val;
                    if (str(kv.second, kp, val)) {
                        fl.settings.emplace_back(key, val);
                    }
                }
            }
        }
        out.push_back(std::move(fl));
    });
}

cluster parser::parse_cluster(const YAML::Node& n, const std::string& p) {
    cluster c;
    if (!fields(n, p,
                {"name", "lb_policy", "hash_key", "endpoints", "pool", "timeouts", "health_check",
                 "circuit_breakers", "outlier_detection"})) {
        return c;
    }
    require(n, p, "name");
    require(n, p, "endpoints");
    str(n["name"], p + ".name", c.name);
    choice<lb_policy>(n["lb_policy"], p + ".lb_policy",
                      {{"round_robin", lb_policy::round_robin},
                       {"least_request", lb_policy::least_request},
                       {"maglev", lb_policy::maglev}},
                      c.lb);
    std::string hk;
    if (str(n["hash_key"], p + ".hash_key", hk)) {
        if (hk == "client_ip") {
            c.key = hash_key::client_ip;
        } else if (hk.starts_with("header:") && hk.size() > 7) {
            c.key = hash_key::header;
            c.hash_header = hk.substr(7);
        } else {
            fail(n["hash_key"], p + ".hash_key",
                 fmt::format("expected client_ip or header:<name>, got '{}'", hk));
        }
    }
    list(n["endpoints"], p + ".endpoints", [&](const YAML::Node& e, const std::string& ep) {
        endpoint en;
        if (!fields(e, ep, {"address", "port", "weight"})) {
            return;
        }
        require(e, ep, "address");
        require(e, ep, "port");
        str(e["address"], ep + ".address", en.address);
        integer(e["port"], ep + ".port", 1, 65535, en.port);
        integer(e["weight"], ep + ".weight", 0, 1'000'000, en.weight);
        c.endpoints.push_back(std::move(en));
    });
    if (const auto& x = n["pool"];
        x && fields(x, p + ".pool", {"max_connections_per_endpoint", "max_idle_per_endpoint"})) {
        integer(x["max_connections_per_endpoint"], p + ".pool.max_connections_per_endpoint", 1,
                1'000'000, c.pool.max_connections_per_endpoint);
        integer(x["max_idle_per_endpoint"], p + ".pool.max_idle_per_endpoint", 0, 1'000'000,
                c.pool.max_idle_per_endpoint);
    }
    if (const auto& x = n["timeouts"];
        x && fields(x, p + ".timeouts", {"connect", "idle", "request", "stream_idle"})) {
        duration(x["connect"], p + ".timeouts.connect", c.connect_timeout_ms);
        duration(x["idle"], p + ".timeouts.idle", c.idle_timeout_ms);
        duration(x["request"], p + ".timeouts.request", c.request_timeout_ms);
        duration(x["stream_idle"], p + ".timeouts.stream_idle", c.stream_idle_ms);
    }
    if (const auto& x = n["health_check"];
        x && fields(x, p + ".health_check",
                    {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"})) {
        std::string hp = p + ".health_check";
        c.health.enabled = true;
        str(x["path"], hp + ".path", c.health.path);
        duration(x["interval"], hp + ".interval", c.health.interval_ms);
        duration(x["timeout"], hp + ".timeout", c.health.timeout_ms);
        integer(x["healthy_threshold"], hp + ".healthy_threshold", 1, 100,
                c.health.healthy_threshold);
        integer(x["unhealthy_threshold"], hp + ".unhealthy_threshold", 1, 100,
                c.health.unhealthy_threshold);
    }
    if (const auto& x = n["circuit_breakers"];
        x && fields(x, p + ".circuit_breakers",
                    {"max_connections", "max_pending_requests", "max_requests", "max_retries"})) {
        std::string bp = p + ".circuit_breakers";
        integer(x["max_connections"], bp + ".max_connections", 1, 10'000'000,
                c.breakers.max_connections);
        integer(x["max_pending_requests"], bp + ".max_pending_requests", 1, 10'000'000,
                c.breakers.max_pending_requests);
        integer(x["max_requests"], bp + ".max_requests", 1, 10'000'000, c.breakers.max_requests);
        integer(x["max_retries"], bp + ".max_retries", 0, 10'000'000, c.breakers.max_retries);
    }
    if (const auto& x = n["outlier_detection"];
        x && fields(x, p + ".outlier_detection",
                    {"consecutive_failures", "base_ejection_time", "max_ejection_time",
                     "successes_to_close", "max_ejection_percent"})) {
        std::string op = p + ".outlier_detection";
        integer(x["consecutive_failures"], op + ".consecutive_failures", 1, 1000,
                c.outlier.consecutive_failures);
        duration(x["base_ejection_time"], op + ".base_ejection_time", c.outlier.base_ejection_ms);
        duration(x["max_ejection_time"], op + ".max_ejection_time", c.outlier.max_ejection_ms);
        integer(x["successes_to_close"], op + ".successes_to_close", 1, 1000,
                c.outlier.successes_to_close);
        integer(x["max_ejection_percent"], op + ".max_ejection_percent", 0, 100,
                c.outlier.max_ejection_percent);
    }
    return c;
}

rate_limit parser::parse_rate_limit(const YAML::Node& n, const std::string& p) {
    rate_limit l;
    if (!fields(n, p, {"name", "rate", "burst", "key", "mode"})) {
        return l;
    }
    require(n, p, "name");
    require(n, p, "rate");
    str(n["name"], p + ".name", l.name);
    number(n["rate"], p + ".rate", l.rate);
    if (!integer(n["burst"], p + ".burst", 0, 1'000'000'000, l.burst)) {
        l.burst = l.rate >= 1 ? static_cast<std::uint64_t>(std::ceil(std::min(l.rate, 1e9))) : 1;
    }
    std::string key;
    if (str(n["key"], p + ".key", key)) {
        if (key == "route") {
            l.key = limit_key::route;
        } else if (key == "client_ip") {
            l.key = limit_key::client_ip;
        } else if (key.starts_with("header:") && key.size() > 7) {
            l.key = limit_key::header;
            l.key_header = key.substr(7);
        } else {
            fail(n["key"], p + ".key",
                 fmt::format("expected route, client_ip or header:<name>, got '{}'", key));
        }
    }
    choice<limit_mode>(n["mode"], p + ".mode",
                       {{"enforce", limit_mode::enforce}, {"shadow", limit_mode::shadow}}, l.mode);
    return l;
}

}  // namespace

load_result load_config(std::string_view yaml_text, std::string_view file_name) {
    load_result out;
    source_map sm;
    diagnostics d{std::string(file_name), &sm};
    config c;
    try {
        YAML::Node root = YAML::Load(std::string(yaml_text));
        parser ps(d, sm);
        c = ps.document(root);
    } catch (const YAML::Exception& e) {
        d.add_at({e.mark.line + 1, e.mark.column + 1}, "",
                 fmt::format("YAML syntax error: {}", e.msg));
    }
    out.errors = d.take();
    // Semantic checks run even after shape errors so one pass reports everything, but a field
    // that already failed to parse (or lies under one that did) is not reported twice.
    auto under = [](const std::string& p, const std::string& parent) {
        return p == parent || (p.size() > parent.size() && p.starts_with(parent) &&
                               (p[parent.size()] == '.' || p[parent.size()] == '['));
    };
    bool syntax_failed = !out.errors.empty() && out.errors.front().path.empty();
    if (!syntax_failed) {
        std::size_t parse_errors = out.errors.size();
        for (auto& sem : validate(c, file_name, &sm)) {
            bool shadowed = false;
            for (std::size_t i = 0; i < parse_errors && !shadowed; ++i) {
                shadowed = under(sem.path, out.errors[i].path);
            }
            if (!shadowed) {
                out.errors.push_back(std::move(sem));
            }
        }
    }
    if (out.errors.size() > diagnostics::max_errors) {
        out.errors.resize(diagnostics::max_errors);
        out.errors.push_back(diagnostic{
            std::string(file_name),
            {},
            "",
            fmt::format("more than {} errors; stopped reporting", diagnostics::max_errors)});
    }
    if (out.errors.empty()) {
        out.cfg = std::move(c);
    }
    return out;
}

load_result load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        load_result r;
        r.errors.push_back(diagnostic{path, {}, "", "cannot read the file"});
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return load_config(ss.str(), path);
}

}  // namespace sluice::cp::model
