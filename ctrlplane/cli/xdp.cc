// sluicectl xdp: the operator verbs of the Sluice XDP program (issue 5): status, block
// add/del/list, limit set/show, stats, verdict list/add/del. Unlike every other sluicectl
// verb these do not talk to the daemon: they open the program's maps pinned under bpffs
// (--pin-root, /sys/fs/bpf by default) on this host, so they need root (or CAP_BPF) and work
// whether or not sluice-ctrlplane runs. The map logic is ebpf/loader's (xdp_maps, xdp_admin),
// the same code `sluice-xdp` runs. CLI process, one thread.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "ctrlplane/cli/common.hh"
#include "ctrlplane/cli/output.hh"
#include "verdict_writer.hh"
#include "xdp_admin.hh"

namespace sluice::cp::cli {
namespace {

namespace bpf = sluice::ebpf;

struct xdp_opts {
    std::string pin_root = "/sys/fs/bpf";
    std::string netns;
};

// A refusal with the exit code and JSON "kind" of docs/cli.md.
int refuse(const globals& g, const std::string& msg, int code, const char* kind) {
    return report_error(g, reply{code, {{"ok", false}, {"error", msg}, {"kind", kind}}});
}

// Opens the pinned maps, or reports why not: nothing loaded / no permission → exit 3
// ("unreachable", like a daemon that is not running), pins of another ABI → exit 5 ("abi").
std::optional<bpf::xdp_maps> open_maps(const globals& g, const xdp_opts& o, int& code) {
    if (!o.netns.empty()) {
        if (auto st = bpf::enter_netns(o.netns); !st) {
            code = refuse(g, st.message(), exit_usage, "invalid");
            return std::nullopt;
        }
    }
    auto m = bpf::open_admin_maps(o.pin_root);
    if (m.maps) {
        return std::move(m.maps);
    }
    switch (m.failure) {
        case bpf::open_failure::not_loaded:
        case bpf::open_failure::no_access:
            code = refuse(g, m.message, exit_unreachable, "unreachable");
            break;
        default:
            code = refuse(g, m.message, exit_protocol, "abi");
            break;
    }
    return std::nullopt;
}

// A failed map edit or read: exit 1, nothing (else) changed.
int refused(const globals& g, const std::string& msg) {
    return refuse(g, msg, exit_refused, "invalid");
}

int print_ok(const globals& g, const json& body, const std::string& text) {
    if (g.json_out()) {
        json out = {{"ok", true}};
        out.update(body);
        std::cout << out.dump(2) << "\n";
    } else {
        fmt::print("{}\n", text);
    }
    return exit_ok;
}

std::string family(const bpf::ip_addr& a) { return a.is_v4 ? "ipv4" : "ipv6"; }

json status_json(const bpf::xdp_overview& ov, const std::string& pin_root) {
    json attached = json::array();
    for (const auto& p : ov.attached) {
        attached.push_back({{"interface", p.ifname},
                            {"ifindex", p.ifindex},
                            {"prog_id", p.prog_id},
                            {"mode", p.native ? "native" : "skb"},
                            {"uses_pinned_maps", p.uses_these_maps}});
    }
    json services = json::array();
    for (const auto& e : ov.services) {
        services.push_back({{"address", e.svc.addr.to_string()},
                            {"port", e.svc.port},
                            {"proto", e.svc.proto == bpf::l4_proto::tcp ? "tcp" : "udp"},
                            {"id", e.service_id}});
    }
    std::size_t v4 = 0;
    for (const auto& b : ov.blocks) {
        v4 += b.addr.is_v4 ? 1 : 0;
    }
    return {{"pin_root", pin_root},
            {"attached", attached},
            {"abi_version", ov.config.abi_version},
            {"syn_limit", {{"rate", ov.config.syn_rate}, {"burst", ov.config.syn_burst}}},
            {"return_ports",
             {{"min", ov.config.return_port_min}, {"max", ov.config.return_port_max}}},
            {"services", services},
            {"block_list", {{"ipv4", v4}, {"ipv6", ov.blocks.size() - v4}}},
            {"gateway_verdicts", ov.gateway_verdicts_live}};
}

void print_status_table(const json& s) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : s["attached"]) {
        rows.push_back({p["interface"].get<std::string>(), scalar_text(p["prog_id"]),
                        p["mode"].get<std::string>(),
                        p["uses_pinned_maps"].get<bool>() ? "yes" : "no (other pin root)"});
    }
    if (rows.empty()) {
        fmt::print("attached: none in this network namespace (--netns NAME to look in another)\n");
    } else {
        print_table({"INTERFACE", "PROG_ID", "MODE", "USES " + scalar_text(s["pin_root"])},
                    rows);
    }
    const json& lim = s["syn_limit"];
    fmt::print("\nSYN limit: {}\n",
               lim["rate"].get<unsigned>() == 0
                   ? std::string("off")
                   : fmt::format("{}/s per source, burst {}", scalar_text(lim["rate"]),
                                 scalar_text(lim["burst"])));
    const json& rp = s["return_ports"];
    fmt::print("return traffic: {}\n",
               rp["min"].get<unsigned>() == 0
                   ? std::string("off")
                   : fmt::format("TCP to service addresses, ports {}-{}", scalar_text(rp["min"]),
                                 scalar_text(rp["max"])));
    fmt::print("block list: {} IPv4, {} IPv6 prefixes; gateway verdicts: {} live\n\n",
               scalar_text(s["block_list"]["ipv4"]), scalar_text(s["block_list"]["ipv6"]),
               scalar_text(s["gateway_verdicts"]));
    rows.clear();
    for (const auto& e : s["services"]) {
        rows.push_back({scalar_text(e["address"]), scalar_text(e["port"]), scalar_text(e["proto"]),
                        scalar_text(e["id"])});
    }
    if (rows.empty()) {
        fmt::print("services: none (nothing is steered to the dataplane, not even ARP)\n");
    } else {
        print_table({"SERVICE ADDRESS", "PORT", "PROTO", "ID"}, rows);
    }
}

// Adds `name` with a callback that opens the maps and runs fn(maps) → exit code.
template <typename F>
CLI::App* verb(CLI::App* parent, ctx& c, const std::shared_ptr<xdp_opts>& o, const char* name,
               const char* help, F fn) {
    auto* sub = parent->add_subcommand(name, help);
    sub->callback([&c, o, fn] {
        c.action = [&c, o, fn] {
            int code = exit_ok;
            auto maps = open_maps(c.g, *o, code);
            return maps ? fn(*maps) : code;
        };
    });
    return sub;
}

void add_block_commands(CLI::App* xdp, ctx& c, const std::shared_ptr<xdp_opts>& o) {
    auto* block = xdp->add_subcommand("block", "the operator's block list (LPM, every packet)");
    block->require_subcommand(1);
    for (const bool add : {true, false}) {
        auto text = std::make_shared<std::string>();
        auto* sub = block->add_subcommand(
            add ? "add" : "del",
            add ? "drop every packet from CIDR in XDP (a bare address is a /32 or /128)"
                : "remove CIDR (the exact prefix that was added)");
        sub->add_option("cidr", *text, "e.g. 192.0.2.0/24, 2001:db8::/32, 198.51.100.7")
            ->required();
        sub->callback([&c, o, text, add] {
            c.action = [&c, o, text, add] {
                // Parsed before the maps are opened: a typo is a usage error (exit 2) even
                // on a host without the program.
                auto cidr = bpf::cidr::parse(*text);
                if (!cidr) {
                    return refuse_locally(c.g, cidr.message(), exit_usage);
                }
                int code = exit_ok;
                auto maps = open_maps(c.g, *o, code);
                if (!maps) {
                    return code;
                }
                auto st = add ? maps->block(cidr.value()) : maps->unblock(cidr.value());
                if (!st) {
                    return refused(c.g, st.message());
                }
                const std::string s = cidr->to_string();
                return print_ok(c.g, {{"cidr", s}, {"blocked", add}},
                                fmt::format("{} {}", add ? "blocked" : "unblocked", s));
            };
        });
    }
    verb(block, c, o, "list", "the block list", [&c](bpf::xdp_maps& m) {
        auto l = m.blocked();
        if (!l) {
            return refused(c.g, l.message());
        }
        json arr = json::array();
        std::vector<std::vector<std::string>> rows;
        for (const auto& b : l.value()) {
            arr.push_back({{"cidr", b.to_string()}, {"family", family(b.addr)}});
            rows.push_back({b.to_string(), family(b.addr)});
        }
        if (c.g.json_out()) {
            std::cout << arr.dump(2) << "\n";
        } else {
            print_table({"CIDR", "FAMILY"}, rows);
        }
        return int{exit_ok};
    });
}

void add_limit_commands(CLI::App* xdp, ctx& c, const std::shared_ptr<xdp_opts>& o) {
    auto* limit = xdp->add_subcommand("limit", "per-source SYN token bucket (new connections)");
    limit->require_subcommand(1);
    auto rate = std::make_shared<std::uint32_t>(0);
    auto burst = std::make_shared<std::uint32_t>(0);
    auto* set = verb(limit, c, o, "set",
                     "SYN (without ACK) per second per source address to services; "
                     "--rate 0 turns it off",
                     [&c, rate, burst](bpf::xdp_maps& m) {
                         // Default burst: one second's worth, within the ABI's cap.
                         const std::uint32_t b =
                             *burst != 0 ? *burst
                                         : std::min(*rate, std::uint32_t{SLUICE_XDP_SYN_BURST_MAX});
                         if (auto st = m.set_syn_limit(*rate, b); !st) {
                             return refused(c.g, st.message());
                         }
                         return print_ok(
                             c.g, {{"syn_limit", {{"rate", *rate}, {"burst", *rate ? b : 0}}}},
                             *rate == 0 ? std::string("SYN limit off")
                                        : fmt::format("SYN limit {}/s per source, burst {}",
                                                      *rate, b));
                     });
    set->add_option("--rate", *rate, "SYN/s per source; 0 = off")
        ->required()
        ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{SLUICE_XDP_SYN_RATE_MAX}));
    set->add_option("--burst", *burst, "bucket depth in SYNs (default: --rate, at most 10^6)")
        ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{SLUICE_XDP_SYN_BURST_MAX}));
    verb(limit, c, o, "show", "the SYN limit in force", [&c](bpf::xdp_maps& m) {
        auto cfg = m.read_config();
        if (!cfg) {
            return refused(c.g, cfg.message());
        }
        return print_ok(
            c.g, {{"syn_limit", {{"rate", cfg->syn_rate}, {"burst", cfg->syn_burst}}}},
            cfg->syn_rate == 0
                ? std::string("SYN limit off")
                : fmt::format("SYN limit {}/s per source, burst {}", cfg->syn_rate,
                              cfg->syn_burst));
    });
}

void add_verdict_commands(CLI::App* xdp, ctx& c, const std::shared_ptr<xdp_opts>& o) {
    auto* v = xdp->add_subcommand("verdict",
                                  "gateway verdicts: sources whose service traffic XDP drops "
                                  "until a deadline (written by the gateway)");
    v->require_subcommand(1);
    verb(v, c, o, "list", "live verdicts with their remaining time", [&c](bpf::xdp_maps& m) {
        auto l = bpf::live_gateway_verdicts(m);
        if (!l) {
            return refused(c.g, l.message());
        }
        json arr = json::array();
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : l.value()) {
            const std::string reason(bpf::reason_name(e.reason));
            arr.push_back({{"source", e.src.to_string()},
                           {"reason", reason},
                           {"remaining_ms", e.remaining_ms}});
            rows.push_back({e.src.to_string(), reason, fmt::format("{}", e.remaining_ms)});
        }
        if (c.g.json_out()) {
            std::cout << arr.dump(2) << "\n";
        } else {
            print_table({"SOURCE", "REASON", "REMAINING_MS"}, rows);
        }
        return int{exit_ok};
    });

    auto addr = std::make_shared<std::string>();
    auto ttl = std::make_shared<std::uint32_t>(0);
    auto reason = std::make_shared<std::string>("blocked");
    auto* add = v->add_subcommand("add", "drop ADDRESS's service traffic for --ttl ms "
                                         "(what the gateway does; for tests and incidents)");
    add->add_option("address", *addr, "source address")->required();
    add->add_option("--ttl", *ttl, "milliseconds")
        ->required()
        ->check(CLI::Range(std::uint32_t{1}, bpf::verdict_writer::max_ttl_ms));
    add->add_option("--reason", *reason, "blocked | rate_limited")
        ->check(CLI::IsMember({"blocked", "rate_limited", "rate-limited"}))
        ->capture_default_str();
    add->callback([&c, o, addr, ttl, reason] {
        c.action = [&c, o, addr, ttl, reason] {
            auto a = bpf::ip_addr::parse(*addr);
            if (!a) {
                return refuse_locally(c.g, a.message(), exit_usage);
            }
            int code = exit_ok;
            auto maps = open_maps(c.g, *o, code);
            if (!maps) {
                return code;
            }
            const auto r = bpf::parse_reason(*reason).value_or(bpf::gateway_reason::blocked);
            if (auto st = maps->add_gateway_verdict(a.value(), std::chrono::milliseconds(*ttl), r);
                !st) {
                return refused(c.g, st.message());
            }
            return print_ok(c.g,
                            {{"source", a->to_string()},
                             {"reason", std::string(bpf::reason_name(r))},
                             {"ttl_ms", *ttl}},
                            fmt::format("{} {} for {} ms", bpf::reason_name(r), a->to_string(),
                                        *ttl));
        };
    });

    auto del_addr = std::make_shared<std::string>();
    auto* del = v->add_subcommand("del", "lift the verdict on ADDRESS");
    del->add_option("address", *del_addr, "source address")->required();
    del->callback([&c, o, del_addr] {
        c.action = [&c, o, del_addr] {
            auto a = bpf::ip_addr::parse(*del_addr);
            if (!a) {
                return refuse_locally(c.g, a.message(), exit_usage);
            }
            int code = exit_ok;
            auto maps = open_maps(c.g, *o, code);
            if (!maps) {
                return code;
            }
            if (auto st = maps->remove_gateway_verdict(a.value()); !st) {
                return refused(c.g, st.message());
            }
            return print_ok(c.g, {{"source", a->to_string()}},
                            fmt::format("lifted the verdict on {}", a->to_string()));
        };
    });
}

}  // namespace

void add_xdp_commands(CLI::App& app, ctx& c) {
    auto o = std::make_shared<xdp_opts>();
    auto* xdp = app.add_subcommand(
        "xdp", "the Sluice XDP program through its pinned maps (this host, root; no daemon)");
    xdp->require_subcommand(1);
    xdp->add_option("--pin-root", o->pin_root, "bpffs directory holding the program's maps")
        ->capture_default_str();
    xdp->add_option("--netns", o->netns,
                    "look for attached interfaces in network namespace NAME (/var/run/netns)");

    verb(xdp, c, o, "status",
         "attached interfaces (program id, native/skb), SYN limit, services, list sizes",
         [&c, o](bpf::xdp_maps& m) {
             auto ov = bpf::read_overview(m);
             if (!ov) {
                 return refused(c.g, ov.message());
             }
             json s = status_json(ov.value(), o->pin_root);
             if (c.g.json_out()) {
                 json out = {{"ok", true}};
                 out.update(s);
                 std::cout << out.dump(2) << "\n";
             } else {
                 print_status_table(s);
             }
             return int{exit_ok};
         });
    add_block_commands(xdp, c, o);
    add_limit_commands(xdp, c, o);
    verb(xdp, c, o, "stats", "verdict and reason counters, summed over CPUs",
         [&c, o](bpf::xdp_maps& m) {
             auto s = m.read_stats();
             if (!s) {
                 return refused(c.g, s.message());
             }
             json verdicts = json::object();
             json reasons = json::object();
             std::vector<std::vector<std::string>> rows;
             for (std::uint32_t i = 0; i < SLUICE_CNT_MAX; ++i) {
                 const auto k = static_cast<sluice_xdp_counter>(i);
                 const std::string name(bpf::xdp_stats::name(k));
                 const bool is_verdict = i < SLUICE_CNT_VERDICTS_END;
                 (is_verdict ? verdicts : reasons)[name] = s.value()[k];
                 rows.push_back({name, is_verdict ? "verdict" : "reason",
                                 fmt::format("{}", s.value()[k])});
             }
             if (c.g.json_out()) {
                 std::cout << json{{"ok", true},
                                   {"pin_root", o->pin_root},
                                   {"verdicts", verdicts},
                                   {"reasons", reasons}}
                                  .dump(2)
                           << "\n";
             } else {
                 print_table({"COUNTER", "KIND", "PACKETS"}, rows);
             }
             return int{exit_ok};
         });
    add_verdict_commands(xdp, c, o);
}

}  // namespace sluice::cp::cli
