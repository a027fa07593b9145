// Parsing of the dataplane's own options and config file. Main lcore, start-up only.
#include "config.hh"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <set>

#include "../apps/tcp_apps.hh"

namespace sluice::dp::core {

namespace {

template <typename T>
result<T> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max,
                     std::string_view what) {
    std::uint64_t v = 0;
    const auto* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || p != end || v < min || v > max) {
        return error{std::string(what) + ": '" + std::string(text) + "' is not a number in " +
                     std::to_string(min) + ".." + std::to_string(max)};
    }
    return static_cast<T>(v);
}

// "1-3", "1:3:5" or "1-2:5".
result<std::vector<unsigned>> parse_lcore_list(std::string_view text, std::string_view what) {
    std::vector<unsigned> out;
    std::set<unsigned> seen;
    while (!text.empty()) {
        const auto colon = text.find(':');
        std::string_view item = text.substr(0, colon);
        text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
        const auto dash = item.find('-');
        auto lo = parse_uint<unsigned>(item.substr(0, dash), 0, 1023, what);
        if (!lo) {
            return error{lo.message()};
        }
        unsigned hi = *lo;
        if (dash != std::string_view::npos) {
            auto h = parse_uint<unsigned>(item.substr(dash + 1), *lo, 1023, what);
            if (!h) {
                return error{h.message()};
            }
            hi = *h;
        }
        for (unsigned l = *lo; l <= hi; ++l) {
            if (!seen.insert(l).second) {
                return error{std::string(what) + ": lcore " + std::to_string(l) + " listed twice"};
            }
            out.push_back(l);
        }
    }
    if (out.empty()) {
        return error{std::string(what) + ": empty lcore list"};
    }
    return out;
}

// "80:443:53/udp": ports, TCP unless "/udp" follows.
result<std::vector<service_port>> parse_services(std::string_view text) {
    std::vector<service_port> out;
    if (text.empty()) {
        return error{"services: empty list (expected PORT[/tcp|/udp][:PORT...])"};
    }
    while (!text.empty()) {
        const auto colon = text.find(':');
        std::string_view item = text.substr(0, colon);
        text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
        service_port sp;
        if (const auto slash = item.find('/'); slash != std::string_view::npos) {
            const std::string_view proto = item.substr(slash + 1);
            if (proto == "udp") {
                sp.proto = 17;
            } else if (proto != "tcp") {
                return error{"services: '" + std::string(item) + "': protocol must be tcp or udp"};
            }
            item = item.substr(0, slash);
        }
        auto p = parse_uint<std::uint16_t>(item, 1, 65535, "services: port");
        if (!p) {
            return error{p.message()};
        }
        sp.port = *p;
        for (const auto& o : out) {
            if (o.port == sp.port && o.proto == sp.proto) {
                return error{"services: port " + std::string(item) + " listed twice"};
            }
        }
        out.push_back(sp);
    }
    return out;
}

// TCP test applications (issue 3): kept apart from the port options on purpose.
void add_app_option(CLI::App& app, dp_config& cfg) {
    app.add_option("--app", cfg.apps,
                   "TCP test application on every worker: tcp-echo:PORT, "
                   "tcp-source:PORT:BYTES or tcp-sink:PORT. Repeatable.");
    app.add_option("--app-backlog", cfg.app_backlog,
                   "SYN-RECEIVED backlog of each --app listener (SYN cookies beyond it)")
        ->check(CLI::Range(1U, 1U << 20));
    app.add_option("--tcp-max-connections", cfg.tcp_max_connections,
                   "TCP connections (TCBs) per worker lcore")
        ->check(CLI::Range(16U, 1U << 22));
}

status check_apps(const dp_config& cfg) {
    for (const auto& a : cfg.apps) {
        if (auto r = apps::parse_tcp_app(a); !r) {
            return error{r.message()};
        }
    }
    return ok_status();
}

}  // namespace

result<rte_be32_t> parse_ipv4(std::string_view text) {
    in_addr a{};
    const std::string s(text);
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        return error{"'" + s + "' is not an IPv4 address (expected A.B.C.D)"};
    }
    return static_cast<rte_be32_t>(a.s_addr);
}

std::string format_ipv4(rte_be32_t addr) {
    char buf[INET_ADDRSTRLEN] = {};
    in_addr a{};
    a.s_addr = addr;
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

result<std::pair<rte_be32_t, rte_be32_t>> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return error{"'" + std::string(text) + "' needs a prefix length (expected A.B.C.D/LEN)"};
    }
    auto ip = parse_ipv4(text.substr(0, slash));
    if (!ip) {
        return error{ip.message()};
    }
    auto len = parse_uint<unsigned>(text.substr(slash + 1), 1, 32, "prefix length");
    if (!len) {
        return error{len.message()};
    }
    const std::uint32_t mask = *len == 32 ? 0xffffffffU : ~(0xffffffffU >> *len);
    return std::pair{*ip, rte_cpu_to_be_32(mask)};
}

result<port_config> parse_port_spec(std::string_view spec, std::string_view where) {
    port_config pc;
    pc.where = std::string(where);
    bool have_addr = false;
    auto fail = [&](const std::string& m) { return error{std::string(where) + ": " + m}; };
    while (!spec.empty()) {
        const auto comma = spec.find(',');
        std::string_view kv = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        const auto eq = kv.find('=');
        if (eq == std::string_view::npos) {
            return fail("'" + std::string(kv) + "' is not key=value");
        }
        const std::string_view key = kv.substr(0, eq);
        const std::string_view val = kv.substr(eq + 1);
        const std::string k(key);
        if (key == "dev") {
            if (val.empty()) {
                return fail("dev= is empty");
            }
            pc.dev = std::string(val);
            for (auto [prefix, kind] : {std::pair{std::string_view{"afxdp:"}, port_kind::afxdp},
                                        std::pair{std::string_view{"auto:"}, port_kind::automatic}}) {
                if (val.starts_with(prefix)) {
                    pc.kind = kind;
                    pc.iface = std::string(val.substr(prefix.size()));
                    // IFNAMSIZ is 16 with the NUL; a PCI address (auto:) is 12 characters.
                    if (pc.iface.empty() || pc.iface.size() > 15 ||
                        pc.iface.find_first_of("/ \t,=") != std::string::npos) {
                        return fail("dev=" + std::string(val) + ": '" + pc.iface +
                                    "' is not an interface name (1 to 15 characters, no '/', "
                                    "space, ',' or '=')");
                    }
                }
            }
        } else if (key == "services") {
            auto s = parse_services(val);
            if (!s) {
                return fail(s.message());
            }
            pc.services = std::move(s).value();
        } else if (key == "addr") {
            auto c = parse_cidr(val);
            if (!c) {
                return fail("addr=" + std::string(val) + ": " + c.message());
            }
            pc.addr = c->first;
            pc.netmask = c->second;
            have_addr = true;
        } else if (key == "gw") {
            auto g = parse_ipv4(val);
            if (!g) {
                return fail("gw=" + std::string(val) + ": " + g.message());
            }
            pc.gateway = *g;
        } else if (key == "mtu") {
            // RFC 791: 68 is the minimum IPv4 MTU; 9000 covers jumbo frames.
            auto v = parse_uint<std::uint16_t>(val, 68, 9000, "mtu");
            if (!v) {
                return fail(v.message());
            }
            pc.mtu = *v;
        } else if (key == "rxd" || key == "txd") {
            auto v = parse_uint<std::uint16_t>(val, 64, 16384, k);
            if (!v) {
                return fail(v.message());
            }
            (key == "rxd" ? pc.rxd : pc.txd) = *v;
        } else if (key == "lcores") {
            auto l = parse_lcore_list(val, "lcores");
            if (!l) {
                return fail(l.message());
            }
            pc.lcores = std::move(l).value();
        } else {
            return fail("unknown key '" + k +
                        "' (expected dev, addr, gw, mtu, rxd, txd, lcores, services)");
        }
    }
    if (pc.dev.empty()) {
        return fail("dev= is required (a DPDK device name such as net_af_packet0, or a port id)");
    }
    if (!have_addr) {
        return fail("addr= is required (A.B.C.D/LEN)");
    }
    if (!pc.services.empty() && pc.kind == port_kind::dpdk) {
        return fail("services= applies only to dev=afxdp:IFACE or dev=auto:IFACE (it fills the "
                    "XDP program's service map)");
    }
    if (pc.gateway != 0 && ((pc.gateway ^ pc.addr) & pc.netmask) != 0) {
        return fail("gw=" + format_ipv4(pc.gateway) + " is not inside " + format_ipv4(pc.addr) +
                    "'s subnet");
    }
    return pc;
}

result<parse_outcome> parse_options(int argc, char** argv) {
    parse_outcome out;
    // The file gives the base and options on the command line win, so load it before CLI11
    // parses: CLI11 assigns only the options that were given. Ports from both add up.
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        std::string path;
        if (a == "--config" && i + 1 < argc) {
            path = argv[i + 1];
        } else if (a.starts_with("--config=")) {
            path = std::string(a.substr(9));
        } else {
            continue;
        }
        auto f = load_config_file(path, out.config);
        if (!f) {
            return error{f.message()};
        }
        out.config = std::move(f).value();
        break;
    }
    CLI::App app{"sluice-dataplane: Sluice's DPDK dataplane. Usage: sluice-dataplane [EAL options] "
                 "-- [options]",
                 "sluice-dataplane"};
    std::vector<std::string> ports;
    std::string config_file;
    unsigned ttl = out.config.ttl;
    app.add_option("--port", ports,
                   "A port to serve: dev=NAME|ID|afxdp:IFACE|auto:IFACE,addr=A.B.C.D/LEN[,gw=IP]"
                   "[,mtu=N][,rxd=N][,txd=N][,lcores=1-3|1:3][,services=80:443:53/udp]. "
                   "Repeat for several ports.");
    app.add_option("--xdp-prog", out.config.xdp_prog,
                   "BPF object for afxdp:/auto: ports (default: sluice_xdp.bpf.o of the build "
                   "tree this binary runs from, else the installed one)");
    app.add_option("--config", config_file, "YAML config file (docs/operations.md)");
    app.add_option("--mbufs", out.config.mbufs, "mbufs per NUMA socket (0: computed)");
    app.add_option("--arp-timeout", out.config.arp_timeout_s, "seconds a neighbour entry lives")
        ->check(CLI::Range(1U, 86400U));
    app.add_option("--arp-entries", out.config.arp_entries, "neighbour entries per worker and port")
        ->check(CLI::Range(8U, 1U << 20));
    app.add_option("--arp-pending", out.config.arp_pending,
                   "packets held per unresolved next hop")
        ->check(CLI::Range(1U, 8U));
    app.add_option("--ttl", ttl, "TTL of packets we originate")->check(CLI::Range(1U, 255U));
    app.add_option("--stats-file", out.config.stats_file,
                   "write stats as JSON here on SIGUSR1 and at exit");
    app.add_option("--stats-interval", out.config.stats_interval_s,
                   "print stats every N seconds (0: only on SIGUSR1 and at exit)");
    app.add_option("--instance", out.config.instance,
                   "control-plane instance whose shared memory to attach (docs/shm.md); "
                   "none: run without a control plane")
        ->check([](const std::string& v) {
            const bool ok = !v.empty() && v.size() <= 64 &&
                            v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789_.-") == std::string::npos;
            return ok ? std::string() : "instance names are 1-64 of [A-Za-z0-9_.-]";
        });
    app.add_option("--shm-dir", out.config.shm_dir,
                   "directory of the shared-memory segments (default /dev/shm)");
    bool no_gateway = false;
    app.add_flag("--no-gateway", no_gateway,
                 "attach to the control plane for stats only; do not serve its listeners");
    app.add_option("--access-log", out.config.access_log,
                   "file the accesslog filter appends JSON lines to ('-': stdout; default: none, "
                   "records are counted as dropped)");
    add_app_option(app, out.config);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        out.help = true;
        out.help_text = app.help();
        return out;
    } catch (const CLI::ParseError& e) {
        return error{std::string(e.what()) + " (see --help)"};
    }
    out.config.ttl = static_cast<std::uint8_t>(ttl);
    out.config.gateway = !no_gateway;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        auto p = parse_port_spec(ports[i], "--port #" + std::to_string(i + 1));
        if (!p) {
            return error{p.message()};
        }
        out.config.ports.push_back(std::move(p).value());
    }
    if (auto a = check_apps(out.config); !a) {
        return error{a.message()};
    }
    if (out.config.ports.empty()) {
        return error{"no port to serve: give at least one --port dev=...,addr=... (see --help)"};
    }
    return out;
}

}  // namespace sluice::dp::core
