// The control-socket request handlers: ping, get, apply (with dry runs and diffs), edit,
// status and stats (daemon thread; called from the poll loop, one request at a time).
#include <fmt/format.h>
#include <unistd.h>

#include "ctrlplane/daemon/config_doc.hh"
#include "ctrlplane/daemon/daemon.hh"
#include "ctrlplane/daemon/health.hh"
#include "ctrlplane/daemon/log.hh"

namespace sluice::cp::daemon {
namespace {

using json = nlohmann::ordered_json;

std::string_view kind_name(error_kind k) {
    switch (k) {
        case error_kind::invalid:
            return "invalid";
        case error_kind::busy:
            return "busy";
        case error_kind::io:
            return "io";
        case error_kind::abi:
            return "abi";
    }
    return "invalid";
}

}  // namespace

namespace detail {
json fail_reply(const error& e) {
    return {{"ok", false}, {"error", e.message}, {"kind", kind_name(e.kind)}};
}
}  // namespace detail

using detail::fail_reply;

json ctrl_daemon::do_apply(const std::string& yaml, const std::string& file, bool dry_run) {
    auto checked = store::config_store::check(yaml, file);
    if (!checked.ok()) {
        return fail_reply(error{fmt::format("config rejected with {} error{}; generation {} stays in "
                                      "force\n{}",
                                      checked.errors.size(), checked.errors.size() == 1 ? "" : "s",
                                      store_->generation(), model::format_all(checked.errors))});
    }
    auto before = yaml_to_json(store_->current_yaml());
    auto after = yaml_to_json(yaml);
    json d = before && after ? diff(before.value(), after.value()) : json::object();
    if (dry_run) {
        return {{"ok", true}, {"dry_run", true}, {"diff", d}, {"generation", store_->generation()}};
    }
    auto g = store_->apply(yaml, file, mono_ns());
    if (!g) {
        return fail_reply(g.err());
    }
    log(log_level::info, "config applied", {{"source", file}, {"generation", g.value()}});
    return {{"ok", true}, {"dry_run", false}, {"diff", d}, {"generation", g.value()}};
}

json ctrl_daemon::status_json() {
    const std::uint64_t now = mono_ns();
    const auto& w = store_->writer();
    json l = metrics_.lcores_json(w.stats(), now, w.policy());
    std::uint32_t alive = 0;
    std::uint32_t current = 0;
    for (const auto& e : l) {
        alive += e["alive"].get<bool>() ? 1 : 0;
        current += e["alive"].get<bool>() &&
                           e["applied_generation"].get<std::uint64_t>() == w.generation()
                       ? 1
                       : 0;
    }
    return {{"ok", true},
            {"daemon", {{"pid", ::getpid()},
                        {"instance", opts_.instance},
                        {"uptime_s", (now - started_ns_) / 1'000'000'000u},
                        {"metrics", fmt::format("{}", opts_.metrics)},
                        {"metrics_port", metrics_port_},
                        {"persisted", opts_.store.persist_path}}},
            {"generation", w.generation()},
            {"dataplane", {{"alive", alive > 0},
                           {"lcores_alive", alive},
                           {"lcores_current", current}}},
            {"lcores", l}};
}

json ctrl_daemon::handle(const json& req) {
    const std::string op = req.value("op", "");
    if (op == "ping") {
        return {{"ok", true}, {"pid", ::getpid()}, {"instance", opts_.instance}};
    }
    if (op == "get") {
        auto j = yaml_to_json(store_->current_yaml());
        return {{"ok", true},
                {"generation", store_->generation()},
                {"yaml", store_->current_yaml()},
                {"config", j ? j.value() : json::object()}};
    }
    if (op == "apply") {
        if (!req.contains("yaml") || !req["yaml"].is_string()) {
            return fail_reply(error{"apply needs \"yaml\": the whole document as a string"});
        }
        return do_apply(req["yaml"].get<std::string>(), req.value("file", "<request>"),
                        req.value("dry_run", false));
    }
    if (op == "edit") {
        auto cur = yaml_to_json(store_->current_yaml());
        if (!cur) {
            return fail_reply(cur.err());
        }
        auto next = apply_edit(cur.value(), req);
        if (!next) {
            return fail_reply(error{fmt::format("{}; generation {} stays in force", next.message(),
                                          store_->generation())});
        }
        const std::string src = fmt::format("<{} {} {}>", req.value("section", ""),
                                            req.value("verb", ""), req.value("name", ""));
        return do_apply(json_to_yaml(next.value()), src, req.value("dry_run", false));
    }
    if (op == "status") {
        return status_json();
    }
    if (op == "stats") {
        const auto& w = store_->writer();
        json j = metrics_.stats_json(w.stats(), mono_ns(), w.policy());
        j["ok"] = true;
        j["generation"] = w.generation();
        return j;
    }
    if (op == "health") {
        const auto& w = store_->writer();
        auto j = endpoint_health_json(w.stats(), opts_.instance, req.value("cluster", ""),
                                      mono_ns(), w.policy());
        return j ? j.value() : fail_reply(j.err());
    }
    return fail_reply(error{fmt::format("unknown op '{}' (expected ping, get, apply, edit, status, "
                                  "stats or health)",
                                  op)});
}


}  // namespace sluice::cp::daemon
