// See health.hh (daemon thread).
#include "ctrlplane/daemon/health.hh"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <set>
#include <vector>

namespace sluice::cp::daemon {
namespace {

using json = nlohmann::ordered_json;

std::string address_text(const shm::endpoint_row& r) {
    char buf[INET6_ADDRSTRLEN] = {};
    const int af = r.family == 6 ? AF_INET6 : AF_INET;
    if (::inet_ntop(af, r.address.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

bool names_cluster(const shm::endpoint_row& r, const std::string& cluster) {
    return r.cluster_truncated ? cluster.starts_with(r.cluster) : r.cluster == cluster;
}

}  // namespace

result<json> endpoint_health_json(const shm::stats_reader& st, const std::string& instance,
                                  const std::string& cluster, std::uint64_t now_ns,
                                  const shm::liveness_policy& p) {
    std::vector<shm::endpoint_row> rows;
    shm::endpoint_table_info info;
    if (!st.endpoint_table().read(rows, info)) {
        return error{"the dataplane kept rewriting the endpoint-health table (or died while "
                     "writing it); retry",
                     error_kind::busy};
    }
    if (!info.written) {
        return error{fmt::format("no dataplane has published endpoint health for instance '{}': "
                                 "none is attached, or it runs without the gateway",
                                 instance)};
    }
    if (p.check_pid && !shm::pid_alive(info.writer_pid)) {
        return error{fmt::format("no dataplane attached to instance '{}': the last one (pid {}) "
                                 "has exited; its endpoint health is not shown",
                                 instance, info.writer_pid)};
    }
    json eps = json::array();
    std::set<std::string> names;
    for (const auto& r : rows) {
        names.insert(r.cluster);
        if (!cluster.empty() && !names_cluster(r, cluster)) {
            continue;
        }
        const std::string addr = address_text(r);
        json e = {{"cluster", r.cluster},
                  {"address", addr},
                  {"port", r.port},
                  {"endpoint", r.family == 6 ? fmt::format("[{}]:{}", addr, r.port)
                                             : fmt::format("{}:{}", addr, r.port)},
                  {"state", std::string(shm::to_string(r.outlier))},
                  {"times_ejected", r.times_ejected},
                  {"consecutive_failures", r.consecutive_failures},
                  {"ejection_remaining_s", nullptr},
                  {"active_health", std::string(shm::to_string(r.active))}};
        if (r.outlier == shm::endpoint_outlier::open) {
            const std::uint64_t left =
                r.ejected_until_ns > now_ns ? r.ejected_until_ns - now_ns : 0;
            e["ejection_remaining_s"] = static_cast<double>(left / 1'000'000) / 1000.0;
        }
        if (r.cluster_truncated) {
            e["cluster_truncated"] = true;
        }
        eps.push_back(std::move(e));
    }
    if (!cluster.empty() && eps.empty()) {
        return error{fmt::format("no endpoints of cluster '{}' in the dataplane's endpoint-health "
                                 "table (clusters there: {})",
                                 cluster, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")))};
    }
    const std::uint64_t age = now_ns > info.updated_ns ? now_ns - info.updated_ns : 0;
    return json{{"ok", true},
                {"dataplane", {{"pid", info.writer_pid},
                               {"config_generation", info.config_generation},
                               {"updated_ms_ago", age / 1'000'000}}},
                {"stale", age > health_stale_ns},
                {"dropped", info.dropped},
                {"endpoints", std::move(eps)}};
}

}  // namespace sluice::cp::daemon
