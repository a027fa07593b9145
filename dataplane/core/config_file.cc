// The dataplane's YAML config file. Main lcore, start-up only. Strict: unknown keys and wrong
// types are errors naming file:line and the field path. Format in docs/operations.md.
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <limits>

#include "config.hh"

namespace sluice::dp::core {

namespace {

class reader {
public:
    explicit reader(std::string file) : file_(std::move(file)) {}

    [[nodiscard]] std::string at(const YAML::Node& n, const std::string& path) const {
        return file_ + ":" + std::to_string(n.Mark().line + 1) + ": " + path;
    }

    [[nodiscard]] status keys(const YAML::Node& n, const std::string& path,
                              std::initializer_list<const char*> allowed) const {
        if (!n.IsMap()) {
            return error{at(n, path) + ": expected a mapping"};
        }
        for (const auto& kv : n) {
            if (!kv.first.IsScalar()) {
                return error{at(kv.first, path) + ": keys must be plain names"};
            }
            const auto k = kv.first.Scalar();
            bool ok = false;
            std::string list;
            for (const char* a : allowed) {
                ok = ok || k == a;
                list += (list.empty() ? "" : ", ") + std::string(a);
            }
            if (!ok) {
                return error{at(kv.first, path.empty() ? k : path + "." + k) + ": unknown field (expected one of: " +
                             list + ")"};
            }
        }
        return ok_status();
    }

    template <typename T>
    [[nodiscard]] status uint(const YAML::Node& n, const std::string& path, T& out,
                              std::uint64_t min, std::uint64_t max) const {
        std::uint64_t v = 0;
        try {
            if (!n.IsScalar() || n.Scalar().starts_with('-')) {
                throw YAML::BadConversion(n.Mark());
            }
            v = n.as<std::uint64_t>();
        } catch (const YAML::Exception&) {
            return error{at(n, path) + ": expected an integer in " + std::to_string(min) + ".." +
                         std::to_string(max)};
        }
        if (v < min || v > max) {
            return error{at(n, path) + ": " + std::to_string(v) + " is outside " +
                         std::to_string(min) + ".." + std::to_string(max)};
        }
        out = static_cast<T>(v);
        return ok_status();
    }

    [[nodiscard]] status string(const YAML::Node& n, const std::string& path,
                                std::string& out) const {
        if (!n.IsScalar()) {
            return error{at(n, path) + ": expected a string"};
        }
        out = n.Scalar();
        return ok_status();
    }

private:
    std::string file_;
};

#define SLUICE_TRY(expr)              \
    do {                              \
        if (auto s_ = (expr); !s_) {  \
            return error{s_.message()}; \
        }                             \
    } while (0)

result<port_config> load_port(const reader& r, const YAML::Node& n, const std::string& path) {
    SLUICE_TRY(r.keys(n, path, {"dev", "address", "gateway", "mtu", "rx_descriptors",
                                "tx_descriptors", "lcores", "services"}));
    // Build the same spec text --port takes, so both paths share one validator.
    std::string spec;
    std::string v;
    if (!n["dev"]) {
        return error{r.at(n, path + ".dev") + ": required field is missing"};
    }
    SLUICE_TRY(r.string(n["dev"], path + ".dev", v));
    spec += "dev=" + v;
    if (!n["address"]) {
        return error{r.at(n, path + ".address") + ": required field is missing (A.B.C.D/LEN)"};
    }
    SLUICE_TRY(r.string(n["address"], path + ".address", v));
    spec += ",addr=" + v;
    if (n["gateway"]) {
        SLUICE_TRY(r.string(n["gateway"], path + ".gateway", v));
        spec += ",gw=" + v;
    }
    std::uint32_t num = 0;
    if (n["mtu"]) {
        SLUICE_TRY(r.uint(n["mtu"], path + ".mtu", num, 68, 9000));
        spec += ",mtu=" + std::to_string(num);
    }
    if (n["rx_descriptors"]) {
        SLUICE_TRY(r.uint(n["rx_descriptors"], path + ".rx_descriptors", num, 64, 16384));
        spec += ",rxd=" + std::to_string(num);
    }
    if (n["tx_descriptors"]) {
        SLUICE_TRY(r.uint(n["tx_descriptors"], path + ".tx_descriptors", num, 64, 16384));
        spec += ",txd=" + std::to_string(num);
    }
    if (const auto l = n["lcores"]) {
        if (!l.IsSequence() || l.size() == 0) {
            return error{r.at(l, path + ".lcores") + ": expected a non-empty list of lcore ids"};
        }
        std::string list;
        for (std::size_t i = 0; i < l.size(); ++i) {
            SLUICE_TRY(r.uint(l[i], path + ".lcores[" + std::to_string(i) + "]", num, 0, 1023));
            list += (list.empty() ? "" : ":") + std::to_string(num);
        }
        spec += ",lcores=" + list;
    }
    if (const auto sv = n["services"]) {
        // A list of ports (80) or strings ("53/udp"), joined as services= takes them.
        if (!sv.IsSequence() || sv.size() == 0) {
            return error{r.at(sv, path + ".services") + ": expected a non-empty list of ports"};
        }
        std::string list;
        for (std::size_t i = 0; i < sv.size(); ++i) {
            SLUICE_TRY(r.string(sv[i], path + ".services[" + std::to_string(i) + "]", v));
            list += (list.empty() ? "" : ":") + v;
        }
        spec += ",services=" + list;
    }
    return parse_port_spec(spec, r.at(n, path));
}

}  // namespace

namespace {
result<dp_config> load_parsed(const std::string& path, const YAML::Node& root, dp_config base);
}  // namespace

result<dp_config> load_config_file(const std::string& path, dp_config base) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        return error{path + ": cannot read the file"};
    } catch (const YAML::Exception& e) {
        return error{path + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg};
    }
    // yaml-cpp throws on shapes our checks did not foresee (odd keys, aliases, ...): a clear
    // error, never an escaping exception.
    try {
        return load_parsed(path, root, std::move(base));
    } catch (const YAML::Exception& e) {
        return error{path + ":" + std::to_string(e.mark.line + 1) + ": unexpected YAML: " + e.msg};
    }
}

namespace {
result<dp_config> load_parsed(const std::string& path, const YAML::Node& root, dp_config base) {
    const reader r(path);
    if (!root.IsMap()) {
        return error{path + ": expected a mapping at the top level"};
    }
    SLUICE_TRY(r.keys(root, "", {"ports", "mbufs", "arp", "ttl", "stats", "xdp_prog"}));
    if (const auto ports = root["ports"]) {
        if (!ports.IsSequence()) {
            return error{r.at(ports, "ports") + ": expected a list of ports"};
        }
        for (std::size_t i = 0; i < ports.size(); ++i) {
            auto p = load_port(r, ports[i], "ports[" + std::to_string(i) + "]");
            if (!p) {
                return error{p.message()};
            }
            base.ports.push_back(std::move(p).value());
        }
    }
    if (root["mbufs"]) {
        SLUICE_TRY(r.uint(root["mbufs"], "mbufs", base.mbufs, 0,
                          std::numeric_limits<std::uint32_t>::max()));
    }
    if (root["xdp_prog"]) {
        SLUICE_TRY(r.string(root["xdp_prog"], "xdp_prog", base.xdp_prog));
    }
    if (root["ttl"]) {
        SLUICE_TRY(r.uint(root["ttl"], "ttl", base.ttl, 1, 255));
    }
    if (const auto a = root["arp"]) {
        SLUICE_TRY(r.keys(a, "arp", {"timeout", "entries", "pending", "retry_ms", "retries"}));
        if (a["timeout"]) SLUICE_TRY(r.uint(a["timeout"], "arp.timeout", base.arp_timeout_s, 1, 86400));
        if (a["entries"]) SLUICE_TRY(r.uint(a["entries"], "arp.entries", base.arp_entries, 8, 1U << 20));
        if (a["pending"]) SLUICE_TRY(r.uint(a["pending"], "arp.pending", base.arp_pending, 1, 8));
        if (a["retry_ms"]) SLUICE_TRY(r.uint(a["retry_ms"], "arp.retry_ms", base.arp_retry_ms, 10, 60000));
        if (a["retries"]) SLUICE_TRY(r.uint(a["retries"], "arp.retries", base.arp_retries, 1, 20));
    }
    if (const auto s = root["stats"]) {
        SLUICE_TRY(r.keys(s, "stats", {"file", "interval"}));
        if (s["file"]) SLUICE_TRY(r.string(s["file"], "stats.file", base.stats_file));
        if (s["interval"]) SLUICE_TRY(r.uint(s["interval"], "stats.interval", base.stats_interval_s, 0, 86400));
    }
    return base;
}

}  // namespace

}  // namespace sluice::dp::core
