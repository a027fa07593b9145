// Counter sums, rate history and Prometheus rendering (daemon thread).
#include "ctrlplane/daemon/metrics.hh"

#include <fmt/format.h>

namespace sluice::cp::daemon {
namespace {

constexpr std::string_view names[] = {
    "polls",         "rx_packets",    "tx_packets",    "rx_bytes",        "tx_bytes",
    "drops",         "requests",      "responses_2xx", "responses_4xx",   "responses_5xx",
    "rate_limited",  "breaker_open",  "config_switches", "snapshot_overruns",
    "stream_idle_timeouts"};
static_assert(std::size(names) == static_cast<std::size_t>(shm::counter::count_));

double age_s(std::uint64_t now_ns, std::uint64_t hb_ns) {
    return hb_ns == 0 || hb_ns > now_ns ? 0.0 : static_cast<double>(now_ns - hb_ns) / 1e9;
}

}  // namespace

std::string_view counter_name(std::uint32_t i) noexcept {
    return i < std::size(names) ? names[i] : std::string_view("reserved");
}

totals metrics::sum(const shm::stats_reader& r, std::uint64_t now_ns,
                    const shm::liveness_policy& p) {
    totals t;
    for (std::uint32_t i = 0; i < r.lcore_count(); ++i) {
        shm::lcore_status st = r.status(i, now_ns, p);
        if (!st.registered) {
            continue;
        }
        ++t.lcores_registered;
        t.lcores_alive += st.alive ? 1 : 0;
        shm::lcore_counters c;
        (void)r.read_counters(i, c);  // a mixed copy is still per-word valid: fine for sums
        for (std::uint32_t k = 0; k < shm::counter_count; ++k) {
            t.counters[k] += c.counters[k];
        }
    }
    return t;
}

void metrics::tick(const shm::stats_reader& r, std::uint64_t now_ns,
                   const shm::liveness_policy& p) {
    if (!hist_.empty() && now_ns - hist_.back().t_ns < 1'000'000'000u) {
        return;
    }
    hist_.push_back({now_ns, sum(r, now_ns, p)});
    while (hist_.size() > history_len) {
        hist_.pop_front();
    }
}

double metrics::rate(shm::counter c, std::uint64_t window_s) const {
    if (hist_.size() < 2) {
        return 0;
    }
    const auto k = static_cast<std::uint32_t>(c);
    const sample& last = hist_.back();
    std::size_t first = hist_.size() - 1;
    while (first > 0 && last.t_ns - hist_[first - 1].t_ns <= window_s * 1'000'000'000u) {
        --first;
    }
    if (first == hist_.size() - 1) {
        return 0;
    }
    // Sum positive steps, so a dataplane restart (counters back to 0) does not go negative.
    std::uint64_t delta = 0;
    for (std::size_t i = first + 1; i < hist_.size(); ++i) {
        const std::uint64_t a = hist_[i - 1].t.counters[k];
        const std::uint64_t b = hist_[i].t.counters[k];
        delta += b >= a ? b - a : b;
    }
    return static_cast<double>(delta) / (static_cast<double>(last.t_ns - hist_[first].t_ns) / 1e9);
}

std::string metrics::prometheus(const shm::stats_reader& r, std::uint64_t now_ns,
                                const shm::liveness_policy& p, std::uint64_t generation) const {
    const totals t = sum(r, now_ns, p);
    std::string out;
    for (std::uint32_t k = 0; k < static_cast<std::uint32_t>(shm::counter::count_); ++k) {
        const auto n = counter_name(k);
        out += fmt::format("# HELP sluice_{0}_total Sum over registered lcores of the {0} "
                           "counter.\n# TYPE sluice_{0}_total counter\nsluice_{0}_total {1}\n",
                           n, t.counters[k]);
    }
    out += fmt::format(
        "# HELP sluice_requests_per_second Requests per second over the last 10 s.\n"
        "# TYPE sluice_requests_per_second gauge\nsluice_requests_per_second {:.3f}\n"
        "# HELP sluice_drops_per_second Drops per second over the last 10 s.\n"
        "# TYPE sluice_drops_per_second gauge\nsluice_drops_per_second {:.3f}\n"
        "# HELP sluice_config_generation Generation of the published config snapshot.\n"
        "# TYPE sluice_config_generation gauge\nsluice_config_generation {}\n"
        "# HELP sluice_lcores_alive Registered lcores with a live process and fresh heartbeat.\n"
        "# TYPE sluice_lcores_alive gauge\nsluice_lcores_alive {}\n",
        rate(shm::counter::requests, 10), rate(shm::counter::drops, 10), generation,
        t.lcores_alive);
    std::string gen;
    std::string age;
    std::string alive;
    for (std::uint32_t i = 0; i < r.lcore_count(); ++i) {
        shm::lcore_status st = r.status(i, now_ns, p);
        if (!st.registered) {
            continue;
        }
        gen += fmt::format("sluice_lcore_applied_generation{{lcore=\"{}\"}} {}\n", i,
                           st.applied_generation);
        age += fmt::format("sluice_lcore_heartbeat_age_seconds{{lcore=\"{}\"}} {:.3f}\n", i,
                           age_s(now_ns, st.heartbeat_ns));
        alive += fmt::format("sluice_lcore_alive{{lcore=\"{}\"}} {}\n", i, st.alive ? 1 : 0);
    }
    out += "# HELP sluice_lcore_applied_generation Config generation each lcore reports applied.\n"
           "# TYPE sluice_lcore_applied_generation gauge\n" + gen;
    out += "# HELP sluice_lcore_heartbeat_age_seconds Time since each lcore's last heartbeat.\n"
           "# TYPE sluice_lcore_heartbeat_age_seconds gauge\n" + age;
    out += "# HELP sluice_lcore_alive 1 if the lcore is alive (process present, heartbeat "
           "fresh).\n# TYPE sluice_lcore_alive gauge\n" + alive;
    return out;
}

nlohmann::ordered_json metrics::lcores_json(const shm::stats_reader& r, std::uint64_t now_ns,
                                    const shm::liveness_policy& p) const {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (std::uint32_t i = 0; i < r.lcore_count(); ++i) {
        shm::lcore_status st = r.status(i, now_ns, p);
        if (!st.registered) {
            continue;
        }
        a.push_back({{"lcore", i},
                     {"pid", st.pid},
                     {"alive", st.alive},
                     {"incarnation", st.incarnation},
                     {"applied_generation", st.applied_generation},
                     {"heartbeat_age_ms", static_cast<std::uint64_t>(
                                              age_s(now_ns, st.heartbeat_ns) * 1000.0)}});
    }
    return a;
}

nlohmann::ordered_json metrics::stats_json(const shm::stats_reader& r, std::uint64_t now_ns,
                                   const shm::liveness_policy& p) const {
    const totals t = sum(r, now_ns, p);
    nlohmann::ordered_json c = nlohmann::ordered_json::object();
    for (std::uint32_t k = 0; k < static_cast<std::uint32_t>(shm::counter::count_); ++k) {
        c[std::string(counter_name(k))] = t.counters[k];
    }
    nlohmann::ordered_json hist = nlohmann::ordered_json::array();
    for (std::size_t i = 1; i < hist_.size(); ++i) {
        const auto rq = static_cast<std::uint32_t>(shm::counter::requests);
        const auto dr = static_cast<std::uint32_t>(shm::counter::drops);
        const double dt = static_cast<double>(hist_[i].t_ns - hist_[i - 1].t_ns) / 1e9;
        auto step = [&](std::uint32_t k) {
            const std::uint64_t a = hist_[i - 1].t.counters[k];
            const std::uint64_t b = hist_[i].t.counters[k];
            return static_cast<double>(b >= a ? b - a : b) / dt;
        };
        hist.push_back({{"requests_per_second", step(rq)}, {"drops_per_second", step(dr)}});
    }
    return {{"counters", c},
            {"lcores_registered", t.lcores_registered},
            {"lcores_alive", t.lcores_alive},
            {"requests_per_second", rate(shm::counter::requests, 10)},
            {"drops_per_second", rate(shm::counter::drops, 10)},
            {"requests_per_second_60s", rate(shm::counter::requests, 60)},
            {"drops_per_second_60s", rate(shm::counter::drops, 60)},
            {"history", hist}};
}

}  // namespace sluice::cp::daemon
