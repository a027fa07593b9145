// Stats rendering for the dataplane (main lcore): per port and per queue counters, drops by
// reason, ethdev counters, per-lcore busy/idle cycles (like `vppctl show runtime`) and mempools.
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "check.hh"
#include "dataplane.hh"
#include "log.hh"

namespace sluice::dp::core {

namespace {

nlohmann::json queue_json(const net::queue_stats& s) {
    nlohmann::json q;
    q["rx_packets"] = s.rx_packets.read();
    q["rx_bytes"] = s.rx_bytes.read();
    q["tx_packets"] = s.tx_packets.read();
    q["tx_bytes"] = s.tx_bytes.read();
    q["alloc_failures"] = s.alloc_failures.read();
    nlohmann::json drops = nlohmann::json::object();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < net::drop_reason_count; ++i) {
        const auto r = static_cast<net::drop_reason>(i);
        drops[std::string(net::to_string(r))] = s.dropped(r);
        total += s.dropped(r);
    }
    q["drops"] = drops;
    q["dropped"] = total;
    nlohmann::json events = nlohmann::json::object();
    for (std::size_t i = 0; i < net::event_count; ++i) {
        const auto e = static_cast<net::event>(i);
        events[std::string(net::to_string(e))] = s.counted(e);
    }
    q["events"] = events;
    return q;
}

void add_into(nlohmann::json& total, const nlohmann::json& q) {
    if (!total.is_object()) {
        total = nlohmann::json::object();
    }
    for (const auto& [k, v] : q.items()) {
        if (v.is_object()) {
            add_into(total[k], v);
        } else if (v.is_number_unsigned()) {
            total[k] = total.value(k, std::uint64_t{0}) + v.get<std::uint64_t>();
        }
    }
}

}  // namespace

std::string dataplane::stats_json() const {
    nlohmann::json root;
    const std::uint64_t hz = rte_get_tsc_hz();
    root["tsc_hz"] = hz;
    root["uptime_s"] = started_tsc_ == 0 ? 0.0 : double(rte_rdtsc() - started_tsc_) / double(hz);
    root["bugs"] = sluice::detail::bug_count.load();
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : ports_) {
        nlohmann::json pj;
        pj["port"] = p.port_id;
        pj["name"] = p.name;
        pj["driver"] = p.driver;
        pj["rss"] = p.rss;
        nlohmann::json queues = nlohmann::json::array();
        nlohmann::json totals = nlohmann::json::object();
        for (const auto& w : workers_) {
            if (!w->stack().serves(p.port_id)) {
                continue;
            }
            nlohmann::json q = queue_json(w->stack().stats(p.port_id));
            add_into(totals, q);
            q["queue"] = w->stack().queue_of(p.port_id);
            q["lcore"] = w->lcore();
            queues.push_back(std::move(q));
        }
        pj["queues"] = std::move(queues);
        pj["totals"] = std::move(totals);
        rte_eth_stats es{};
        if (rte_eth_stats_get(p.port_id, &es) == 0) {
            pj["ethdev"] = {{"ipackets", es.ipackets}, {"opackets", es.opackets},
                            {"ibytes", es.ibytes},     {"obytes", es.obytes},
                            {"imissed", es.imissed},   {"ierrors", es.ierrors},
                            {"oerrors", es.oerrors},   {"rx_nombuf", es.rx_nombuf}};
        }
        ports.push_back(std::move(pj));
    }
    root["ports"] = std::move(ports);
    nlohmann::json lcores = nlohmann::json::array();
    for (const auto& w : workers_) {
        const auto& s = w->stats();
        const std::uint64_t busy = s.busy_cycles.read();
        const std::uint64_t idle = s.idle_cycles.read();
        std::uint64_t rx = 0;
        for (const auto& b : w->bindings()) {
            rx += w->stack().stats(b.port).rx_packets.read();
        }
        lcores.push_back({{"lcore", w->lcore()},
                          {"busy_cycles", busy},
                          {"idle_cycles", idle},
                          {"busy_pct", busy + idle == 0 ? 0.0 : 100.0 * double(busy) / double(busy + idle)},
                          {"iterations", s.iterations.read()},
                          {"busy_iterations", s.busy_iterations.read()},
                          {"rx_packets", rx},
                          {"busy_cycles_per_packet", rx == 0 ? 0.0 : double(busy) / double(rx)},
                          {"ring_drops", s.ring_drops.read()}});
    }
    root["lcores"] = std::move(lcores);
    nlohmann::json pools = nlohmann::json::array();
    std::vector<const rte_mempool*> all(pools_.begin(), pools_.end());
    all.insert(all.end(), umem_pools_.begin(), umem_pools_.end());
    for (const auto* mp : all) {
        if (mp != nullptr) {
            pools.push_back({{"name", mp->name},
                             {"size", mp->size},
                             {"available", rte_mempool_avail_count(mp)}});
        }
    }
    root["mempools"] = std::move(pools);
    return root.dump(2);
}

std::string dataplane::stats_text() const {
    const auto j = nlohmann::json::parse(stats_json());
    std::string out;
    for (const auto& p : j["ports"]) {
        out += fmt::format("port {} ({}, driver {}{})\n", p["port"].get<int>(),
                           p["name"].get<std::string>(), p["driver"].get<std::string>(),
                           p["rss"].get<bool>() ? ", RSS" : "");
        auto line = [&](const std::string& label, const nlohmann::json& q) {
            out += fmt::format("  {:<18} rx {:>10} pkts {:>12} B   tx {:>10} pkts {:>12} B   "
                               "dropped {:>8}   alloc failures {}\n",
                               label, q["rx_packets"].get<std::uint64_t>(),
                               q["rx_bytes"].get<std::uint64_t>(),
                               q["tx_packets"].get<std::uint64_t>(),
                               q["tx_bytes"].get<std::uint64_t>(), q["dropped"].get<std::uint64_t>(),
                               q["alloc_failures"].get<std::uint64_t>());
        };
        for (const auto& q : p["queues"]) {
            line(fmt::format("queue {} (lcore {})", q["queue"].get<int>(), q["lcore"].get<int>()),
                 q);
        }
        const auto& t = p["totals"];
        if (t.contains("rx_packets")) {
            line("total", t);
            std::string drops;
            for (const auto& [k, v] : t["drops"].items()) {
                if (v.get<std::uint64_t>() != 0) {
                    drops += fmt::format(" {}={}", k, v.get<std::uint64_t>());
                }
            }
            std::string events;
            for (const auto& [k, v] : t["events"].items()) {
                if (v.get<std::uint64_t>() != 0) {
                    events += fmt::format(" {}={}", k, v.get<std::uint64_t>());
                }
            }
            out += fmt::format("  drops: {}\n  events: {}\n", drops.empty() ? " none" : drops,
                               events.empty() ? " none" : events);
        }
        if (p.contains("ethdev")) {
            const auto& e = p["ethdev"];
            out += fmt::format("  ethdev: ipackets {} opackets {} imissed {} ierrors {} oerrors {} "
                               "rx_nombuf {}\n",
                               e["ipackets"].get<std::uint64_t>(), e["opackets"].get<std::uint64_t>(),
                               e["imissed"].get<std::uint64_t>(), e["ierrors"].get<std::uint64_t>(),
                               e["oerrors"].get<std::uint64_t>(),
                               e["rx_nombuf"].get<std::uint64_t>());
        }
    }
    out += fmt::format("{:<8} {:>8} {:>16} {:>16} {:>14} {:>12} {:>14}\n", "lcore", "busy%",
                       "busy cycles", "idle cycles", "iterations", "rx packets", "cycles/packet");
    for (const auto& l : j["lcores"]) {
        out += fmt::format("{:<8} {:>7.2f}% {:>16} {:>16} {:>14} {:>12} {:>14.1f}\n",
                           l["lcore"].get<int>(), l["busy_pct"].get<double>(),
                           l["busy_cycles"].get<std::uint64_t>(),
                           l["idle_cycles"].get<std::uint64_t>(),
                           l["iterations"].get<std::uint64_t>(), l["rx_packets"].get<std::uint64_t>(),
                           l["busy_cycles_per_packet"].get<double>());
    }
    for (const auto& m : j["mempools"]) {
        out += fmt::format("mempool {}: {} of {} mbufs available\n", m["name"].get<std::string>(),
                           m["available"].get<unsigned>(), m["size"].get<unsigned>());
    }
    return out;
}

void dataplane::dump_stats() {
    ++dump_seq_;
    const std::string text = stats_text();
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!cfg_.stats_file.empty()) {
        const std::string tmp = cfg_.stats_file + ".tmp";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << stats_json() << "\n";
            if (!f) {
                log::warn("stats file {}: cannot write", tmp);
            }
        }
        std::error_code ec;
        std::filesystem::rename(tmp, cfg_.stats_file, ec);
        if (ec) {
            log::warn("stats file {}: {}", cfg_.stats_file, ec.message());
        }
    }
    std::printf("sluice-dataplane: stats seq=%llu\n", static_cast<unsigned long long>(dump_seq_));
    std::fflush(stdout);
}

}  // namespace sluice::dp::core
