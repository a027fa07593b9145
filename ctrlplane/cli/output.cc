// Table and diff rendering for sluicectl (CLI process).
#include "ctrlplane/cli/output.hh"

#include <fmt/format.h>

#include <algorithm>

namespace sluice::cp::cli {

using json = nlohmann::ordered_json;

std::string scalar_text(const json& v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_null()) {
        return "-";
    }
    return v.dump();
}

void print_table(const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        w[i] = headers[i].size();
        for (const auto& r : rows) {
            w[i] = std::max(w[i], i < r.size() ? r[i].size() : 0);
        }
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (std::size_t i = 0; i < headers.size(); ++i) {
            const std::string c = i < cells.size() ? cells[i] : "";
            s += i + 1 == headers.size() ? c : fmt::format("{:<{}}  ", c, w[i]);
        }
        fmt::print("{}\n", s);
    };
    line(headers);
    for (const auto& r : rows) {
        line(r);
    }
}

namespace {

std::string route_match_text(const json& r) {
    const json m = r.value("match", json::object());
    std::vector<std::string> parts;
    if (m.contains("host")) {
        parts.push_back("host=" + scalar_text(m["host"]));
    }
    if (m.contains("path") && m["path"].is_object()) {
        for (const auto& [k, v] : m["path"].items()) {
            parts.push_back(fmt::format("path.{}={}", k, scalar_text(v)));
        }
    }
    if (m.contains("method")) {
        parts.push_back("method=" + scalar_text(m["method"]));
    }
    if (m.contains("headers")) {
        parts.push_back(fmt::format("headers={}", m["headers"].size()));
    }
    return parts.empty() ? "*" : fmt::format("{}", fmt::join(parts, " "));
}

std::string route_target_text(const json& r) {
    const json a = r.value("action", json::object());
    if (a.contains("cluster")) {
        return scalar_text(a["cluster"]);
    }
    std::vector<std::string> parts;
    for (const auto& w : a.value("weighted_clusters", json::array())) {
        parts.push_back(fmt::format("{}={}", scalar_text(w.value("cluster", json())),
                                    scalar_text(w.value("weight", json(1)))));
    }
    return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace

void print_objects_table(const std::string& section, const json& objs) {
    std::vector<std::vector<std::string>> rows;
    if (section == "routes") {
        for (const auto& r : objs) {
            rows.push_back({scalar_text(r.value("name", json())), route_match_text(r),
                            route_target_text(r)});
        }
        print_table({"NAME", "MATCH", "CLUSTER"}, rows);
    } else if (section == "clusters") {
        for (const auto& c : objs) {
            rows.push_back({scalar_text(c.value("name", json())),
                            scalar_text(c.value("lb_policy", json("round_robin"))),
                            std::to_string(c.value("endpoints", json::array()).size())});
        }
        print_table({"NAME", "LB_POLICY", "ENDPOINTS"}, rows);
    } else if (section == "listeners") {
        for (const auto& l : objs) {
            rows.push_back({scalar_text(l.value("name", json())),
                            scalar_text(l.value("address", json())),
                            scalar_text(l.value("port", json())),
                            scalar_text(l.value("protocol", json("http")))});
        }
        print_table({"NAME", "ADDRESS", "PORT", "PROTOCOL"}, rows);
    } else if (section == "rate_limits") {
        for (const auto& l : objs) {
            rows.push_back({scalar_text(l.value("name", json())), scalar_text(l.value("rate", json())),
                            scalar_text(l.value("burst", json("default"))),
                            scalar_text(l.value("key", json("client_ip"))),
                            scalar_text(l.value("mode", json("enforce")))});
        }
        print_table({"NAME", "RATE", "BURST", "KEY", "MODE"}, rows);
    } else if (section == "endpoints") {
        for (const auto& e : objs) {
            rows.push_back({scalar_text(e.value("address", json())),
                            scalar_text(e.value("port", json())),
                            scalar_text(e.value("weight", json(1)))});
        }
        print_table({"ADDRESS", "PORT", "WEIGHT"}, rows);
    } else if (section == "breakers") {
        for (const auto& b : objs) {
            rows.push_back({scalar_text(b["cluster"]), scalar_text(b["max_connections"]),
                            scalar_text(b["max_pending_requests"]),
                            scalar_text(b["max_requests"]), scalar_text(b["max_retries"])});
        }
        print_table({"CLUSTER", "MAX_CONNECTIONS", "MAX_PENDING", "MAX_REQUESTS", "MAX_RETRIES"},
                    rows);
    }
}

void print_diff(const json& d) {
    bool any = false;
    for (const auto& [section, ch] : d.items()) {
        for (const auto& [key, sign] : {std::pair{"added", '+'}, std::pair{"removed", '-'},
                                        std::pair{"changed", '~'}}) {
            for (const auto& n : ch.value(key, json::array())) {
                fmt::print("{} {}/{}\n", sign, section, scalar_text(n));
                any = true;
            }
        }
    }
    if (!any) {
        fmt::print("no changes\n");
    }
}

void print_status(const json& s) {
    const json d = s.value("daemon", json::object());
    const json dp = s.value("dataplane", json::object());
    fmt::print("daemon:     pid {} instance {} up {} s, metrics on port {}\n",
               scalar_text(d.value("pid", json())), scalar_text(d.value("instance", json())),
               scalar_text(d.value("uptime_s", json())), scalar_text(d.value("metrics_port", json())));
    fmt::print("generation: {}\n", scalar_text(s.value("generation", json())));
    fmt::print("dataplane:  {} ({} lcores alive, {} on the current generation)\n",
               dp.value("alive", false) ? "alive" : "not running",
               scalar_text(dp.value("lcores_alive", json(0))),
               scalar_text(dp.value("lcores_current", json(0))));
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : s.value("lcores", json::array())) {
        rows.push_back({scalar_text(l["lcore"]), scalar_text(l["pid"]),
                        l.value("alive", false) ? "yes" : "no",
                        scalar_text(l["applied_generation"]),
                        scalar_text(l["heartbeat_age_ms"])});
    }
    if (!rows.empty()) {
        print_table({"LCORE", "PID", "ALIVE", "APPLIED_GEN", "HEARTBEAT_AGE_MS"}, rows);
    }
}

void print_stats(const json& s) {
    std::vector<std::vector<std::string>> rows;
    const auto it = s.find("counters");
    if (it != s.end() && it->is_object()) {
        for (auto c = it->begin(); c != it->end(); ++c) {
            rows.push_back({c.key(), scalar_text(c.value())});
        }
    }
    print_table({"COUNTER", "TOTAL"}, rows);
    fmt::print("requests/s {:.1f} (10 s), {:.1f} (60 s); drops/s {:.1f} (10 s), {:.1f} (60 s); "
               "lcores alive {}\n",
               s.value("requests_per_second", 0.0), s.value("requests_per_second_60s", 0.0),
               s.value("drops_per_second", 0.0), s.value("drops_per_second_60s", 0.0),
               scalar_text(s.value("lcores_alive", json(0))));
}

void print_health(const json& h) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : h.value("endpoints", json::array())) {
        const json left = e.value("ejection_remaining_s", json());
        rows.push_back({scalar_text(e.value("cluster", json())),
                        scalar_text(e.value("endpoint", json())),
                        scalar_text(e.value("state", json())),
                        scalar_text(e.value("times_ejected", json())),
                        scalar_text(e.value("consecutive_failures", json())),
                        left.is_number() ? fmt::format("{:.1f}s", left.get<double>()) : "-"});
    }
    print_table({"CLUSTER", "ENDPOINT", "STATE", "EJECTIONS", "FAILURES", "EJECTION_LEFT"}, rows);
    const json dp = h.value("dataplane", json::object());
    fmt::print("dataplane pid {}, config generation {}, published {} ms ago{}\n",
               scalar_text(dp.value("pid", json())),
               scalar_text(dp.value("config_generation", json())),
               scalar_text(dp.value("updated_ms_ago", json())),
               h.value("stale", false) ? " (STALE: the dataplane stopped publishing)" : "");
    if (h.value("dropped", 0) > 0) {
        fmt::print("{} endpoint(s) did not fit in the table and are not shown\n",
                   scalar_text(h["dropped"]));
    }
}

}  // namespace sluice::cp::cli
