// YAML ↔ JSON conversion, object edits and diffs (daemon thread).
#include "ctrlplane/daemon/config_doc.hh"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <set>

namespace sluice::cp::daemon {
namespace {

using json = nlohmann::ordered_json;

json scalar_to_json(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") {  // quoted in the source: a string whatever it looks like
        return s;
    }
    if (s == "true") {
        return true;
    }
    if (s == "false") {
        return false;
    }
    if (s == "null" || s == "~") {
        return nullptr;
    }
    if (!s.empty()) {
        char* end = nullptr;
        errno = 0;
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (errno == 0 && end == s.c_str() + s.size()) {
            return i;
        }
        errno = 0;
        double d = std::strtod(s.c_str(), &end);
        if (errno == 0 && end == s.c_str() + s.size() &&
            s.find_first_not_of("0123456789.eE+-") == std::string::npos) {
            return d;
        }
    }
    return s;
}

json node_to_json(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Scalar:
            return scalar_to_json(n);
        case YAML::NodeType::Sequence: {
            json a = json::array();
            for (const auto& e : n) {
                a.push_back(node_to_json(e));
            }
            return a;
        }
        case YAML::NodeType::Map: {
            json o = json::object();
            for (const auto& kvp : n) {
                o[kvp.first.as<std::string>()] = node_to_json(kvp.second);
            }
            return o;
        }
        default:
            return nullptr;
    }
}

void emit(YAML::Emitter& out, const json& j) {
    switch (j.type()) {
        case json::value_t::object:
            out << YAML::BeginMap;
            for (const auto& [k, v] : j.items()) {
                out << YAML::Key << k << YAML::Value;
                emit(out, v);
            }
            out << YAML::EndMap;
            break;
        case json::value_t::array:
            out << YAML::BeginSeq;
            for (const auto& v : j) {
                emit(out, v);
            }
            out << YAML::EndSeq;
            break;
        case json::value_t::string: {
            const auto& s = j.get_ref<const std::string&>();
            // Keep strings strings: quote anything a YAML reader would take as another type.
            json back = scalar_to_json(YAML::Node(s));
            if (!back.is_string() || s.empty()) {
                out << YAML::DoubleQuoted << s;
            } else {
                out << s;
            }
            break;
        }
        case json::value_t::boolean:
            out << (j.get<bool>() ? "true" : "false");
            break;
        case json::value_t::null:
            out << YAML::Null;
            break;
        default:
            out << j.dump();  // numbers
            break;
    }
}

std::string object_name(const std::string& section, const json& o) {
    if (!o.is_object()) {
        return {};
    }
    if (section == "endpoints") {
        if (!o.contains("address") || !o.contains("port")) {
            return {};
        }
        return fmt::format("{}:{}", o["address"].is_string() ? o["address"].get<std::string>()
                                                             : o["address"].dump(),
                           o["port"].dump());
    }
    return o.contains("name") && o["name"].is_string() ? o["name"].get<std::string>() : "";
}

long find_named(const json& seq, const std::string& section, const std::string& name) {
    if (!seq.is_array()) {
        return -1;
    }
    for (std::size_t i = 0; i < seq.size(); ++i) {
        if (object_name(section, seq[i]) == name) {
            return static_cast<long>(i);
        }
    }
    return -1;
}

// Key order is not a change: compare as unordered JSON.
nlohmann::json unordered(const json& j) {
    return nlohmann::json::parse(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

error invalid(std::string msg) { return error{std::move(msg), error_kind::invalid}; }

std::string singular(const std::string& section) {
    if (section == "rate_limits") {
        return "rate limit";
    }
    return section.substr(0, section.size() - 1);
}

}  // namespace

result<json> yaml_to_json(std::string_view yaml) {
    try {
        YAML::Node n = YAML::Load(std::string(yaml));
        json j = node_to_json(n);
        if (j.is_null()) {
            j = json::object();
        }
        return j;
    } catch (const YAML::Exception& e) {
        return invalid(fmt::format("not YAML: {}", e.what()));
    }
}

std::string json_to_yaml(const json& j) {
    YAML::Emitter out;
    out.SetIndent(2);
    emit(out, j);
    std::string s = out.c_str();
    if (!s.empty() && s.back() != '\n') {
        s += '\n';
    }
    return s;
}

result<json> apply_edit(const json& config, const json& req) {
    const std::string section = req.value("section", "");
    const std::string verb = req.value("verb", "");
    const std::string name = req.value("name", "");
    json cfg = config.is_object() ? config : json::object();
    static const std::set<std::string> top = {"listeners", "routes", "clusters", "rate_limits"};

    if (top.count(section) != 0) {
        json& seq = cfg[section];
        if (!seq.is_array()) {
            seq = json::array();
        }
        const long at = find_named(seq, section, name);
        if (verb == "add") {
            const json& obj = req.contains("object") ? req["object"] : json();
            if (!obj.is_object()) {
                return invalid("add needs an object");
            }
            const std::string n = object_name(section, obj);
            if (find_named(seq, section, n) >= 0) {
                return invalid(fmt::format("{} '{}' already exists (use 'set' to replace it, or "
                                           "'del' first)",
                                           singular(section), n));
            }
            const std::string before = req.value("before", "");
            if (!before.empty()) {
                long b = find_named(seq, section, before);
                if (b < 0) {
                    return invalid(fmt::format("--before: no {} named '{}'", singular(section),
                                               before));
                }
                seq.insert(seq.begin() + b, obj);
            } else {
                seq.push_back(obj);
            }
        } else if (verb == "del" || verb == "set") {
            if (at < 0) {
                return invalid(fmt::format("no {} named '{}'", singular(section), name));
            }
            if (verb == "del") {
                seq.erase(seq.begin() + at);
            } else {
                if (!req.contains("object") || !req["object"].is_object()) {
                    return invalid("set needs an object");
                }
                seq[static_cast<std::size_t>(at)] = req["object"];
            }
        } else {
            return invalid(fmt::format("unknown verb '{}' (expected add, del or set)", verb));
        }
        return cfg;
    }

    if (section == "endpoints" || section == "breakers") {
        const std::string cl = section == "breakers" ? name : req.value("cluster", "");
        long c = find_named(cfg.value("clusters", json::array()), "clusters", cl);
        if (c < 0) {
            return invalid(fmt::format("no cluster named '{}'", cl));
        }
        json& cluster = cfg["clusters"][static_cast<std::size_t>(c)];
        if (section == "breakers") {
            if (verb == "set") {
                json& b = cluster["circuit_breakers"];
                if (!b.is_object()) {
                    b = json::object();
                }
                const json obj = req.value("object", json::object());
                for (const auto& [k, v] : obj.items()) {
                    b[k] = v;
                }
            } else if (verb == "del") {
                cluster.erase("circuit_breakers");  // back to the defaults
            } else {
                return invalid(fmt::format("unknown verb '{}' (expected set or del)", verb));
            }
            return cfg;
        }
        json& eps = cluster["endpoints"];
        if (!eps.is_array()) {
            eps = json::array();
        }
        if (verb == "add") {
            const json obj = req.value("object", json());
            const std::string n = object_name("endpoints", obj);
            if (n.empty()) {
                return invalid("an endpoint needs address and port");
            }
            if (find_named(eps, "endpoints", n) >= 0) {
                return invalid(fmt::format("cluster '{}' already has endpoint {}", cl, n));
            }
            eps.push_back(obj);
        } else if (verb == "del") {
            long e = find_named(eps, "endpoints", req.value("endpoint", ""));
            if (e < 0) {
                return invalid(fmt::format("cluster '{}' has no endpoint {}", cl,
                                           req.value("endpoint", "")));
            }
            eps.erase(eps.begin() + e);
        } else {
            return invalid(fmt::format("unknown verb '{}' (expected add or del)", verb));
        }
        return cfg;
    }
    return invalid(fmt::format("unknown section '{}' (expected listeners, routes, clusters, "
                               "rate_limits, endpoints or breakers)",
                               section));
}

json diff(const json& before, const json& after) {
    json out = json::object();
    for (const char* section : {"listeners", "clusters", "rate_limits", "routes"}) {
        const json a = before.is_object() ? before.value(section, json::array()) : json::array();
        const json b = after.is_object() ? after.value(section, json::array()) : json::array();
        json added = json::array();
        json removed = json::array();
        json changed = json::array();
        for (const auto& o : b) {
            const std::string n = object_name(section, o);
            long i = find_named(a, section, n);
            if (i < 0) {
                added.push_back(n);
            } else if (unordered(a[static_cast<std::size_t>(i)]) != unordered(o)) {
                changed.push_back(n);
            }
        }
        for (const auto& o : a) {
            const std::string n = object_name(section, o);
            if (find_named(b, section, n) < 0) {
                removed.push_back(n);
            }
        }
        if (!added.empty() || !removed.empty() || !changed.empty()) {
            out[section] = {{"added", added}, {"removed", removed}, {"changed", changed}};
        }
    }
    return out;
}

}  // namespace sluice::cp::daemon
