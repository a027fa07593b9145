// sluice-xdp: manual control of the Sluice XDP program for operators and the integration
// test. Attach/detach/status act on an interface (optionally inside a named network
// namespace, entered with setns() so bpffs stays visible, unlike `ip netns exec`); the
// other commands act on the maps pinned under --pin-root. Single-threaded.
// Exit status: 0 done, 1 the operation failed (reason on stderr), 2 bad usage.
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "verdict_writer.hh"
#include "xdp_admin.hh"
#include "xdp_program.hh"

namespace {

using namespace sluice::ebpf;  // NOLINT: a main file

constexpr const char* usage_text =
    "usage: sluice-xdp [--pin-root DIR] [--netns NAME] COMMAND ...\n"
    "  attach IFACE [native|skb|auto] [--hold]   load and attach (replaces a stale Sluice program);\n"
    "                                  --hold stays until SIGINT/SIGTERM, then detaches\n"
    "  detach IFACE                    detach the Sluice program (refuses a foreign one)\n"
    "  status [IFACE]                  show what is attached (to IFACE, or to every\n"
    "                                  interface of the namespace) and the maps' contents\n"
    "  stats                           summed per-CPU counters\n"
    "  block CIDR | unblock CIDR | blocks\n"
    "  syn-limit RATE BURST            SYN/s per source to services; RATE 0 disables\n"
    "  service add|del ADDR PORT tcp|udp [ID]\n"
    "  gateway ADDR TTL_MS [rate-limited|blocked] | gateway del ADDR | gateway list\n"
    "  unpin                           remove the pinned maps\n"
    "defaults: --pin-root /sys/fs/bpf (what DPDK's af_xdp PMD uses)\n";

int usage(const std::string& why) {
    std::fprintf(stderr, "sluice-xdp: %s\n%s", why.c_str(), usage_text);
    return 2;
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "sluice-xdp: %s\n", msg.c_str());
    return 1;
}

int done(const status& st) { return st.ok() ? 0 : fail(st.message()); }

// parse_uint() for the command line: prints the precise message, returns false on error.
bool parse_num(const std::string& what, const std::string& text, std::uint64_t lo,
               std::uint64_t hi, std::uint64_t* out) {
    auto v = parse_uint(what, text, lo, hi);
    if (!v) {
        std::fprintf(stderr, "sluice-xdp: %s\n", v.message().c_str());
        return false;
    }
    *out = v.value();
    return true;
}

int ifindex_of(const std::string& name, std::string* err) {
    const unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0) {
        *err = errno_message("interface '" + name + "'", errno);
    }
    return static_cast<int>(idx);
}

int cmd_attach(const std::vector<std::string>& a, const std::string& pin_root) {
    attach_mode mode = attach_mode::native_then_skb;
    bool hold = false;
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "native") {
            mode = attach_mode::native;
        } else if (a[i] == "skb") {
            mode = attach_mode::skb;
        } else if (a[i] == "auto") {
            mode = attach_mode::native_then_skb;
        } else if (a[i] == "--hold") {
            hold = true;
        } else {
            return usage("attach: unknown argument '" + a[i] + "'");
        }
    }
    std::string err;
    const int ifindex = ifindex_of(a[0], &err);
    if (ifindex == 0) {
        return fail(err);
    }
    // Block the signals before attaching so a SIGTERM right after "attached" is not lost.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);

    auto prog = xdp_program::load(load_options{pin_root});
    if (!prog) {
        return fail(prog.message());
    }
    auto rep = prog.value()->attach(ifindex, mode);
    if (!rep) {
        return fail(rep.message());
    }
    auto now = xdp_program::query(ifindex);
    const std::uint32_t id = now.ok() && now.value() ? now.value()->id : 0u;
    std::printf("attached %s prog_id=%u mode=%s replaced=%u: %s\n", a[0].c_str(), id,
                rep->native ? "native" : "skb", rep->replaced_prog_id, rep->note.c_str());
    std::fflush(stdout);
    if (!hold) {
        prog.value()->leave_attached();
        return 0;
    }
    int sig = 0;
    sigwait(&set, &sig);
    return done(prog.value()->detach());
}

int cmd_status(const std::string& iface) {
    std::string err;
    const int ifindex = ifindex_of(iface, &err);
    if (ifindex == 0) {
        return fail(err);
    }
    auto q = xdp_program::query(ifindex);
    if (!q) {
        return fail(q.message());
    }
    if (!q.value()) {
        std::printf("%s: no XDP program\n", iface.c_str());
    } else {
        const auto& p = *q.value();
        std::printf("%s: prog_id=%u name=%s mode=%s sluice=%s\n", iface.c_str(), p.id,
                    p.name.c_str(), p.native ? "native" : "skb", p.is_sluice() ? "yes" : "no");
    }
    return 0;
}

// `status` without an interface: every Sluice program in the namespace, and what the maps
// under pin_root hold (the same overview as `sluicectl xdp status`).
int cmd_overview(const std::string& pin_root) {
    auto m = open_admin_maps(pin_root);
    if (!m.maps) {
        return fail(m.message);
    }
    auto o = read_overview(*m.maps);
    if (!o) {
        return fail(o.message());
    }
    for (const auto& p : o->attached) {
        std::printf("attached %s prog_id=%u mode=%s maps=%s\n", p.ifname.c_str(), p.prog_id,
                    p.native ? "native" : "skb", p.uses_these_maps ? "these" : "other");
    }
    if (o->attached.empty()) {
        std::printf("attached none (in this network namespace)\n");
    }
    std::printf("syn_limit rate=%u burst=%u\n", o->config.syn_rate, o->config.syn_burst);
    std::printf("return_ports min=%u max=%u\n", o->config.return_port_min,
                o->config.return_port_max);
    for (const auto& e : o->services) {
        std::printf("service %s id=%u\n", e.svc.to_string().c_str(), e.service_id);
    }
    std::printf("blocks %zu\ngateway_verdicts %zu\n", o->blocks.size(),
                o->gateway_verdicts_live);
    return 0;
}

int cmd_maps(const std::vector<std::string>& a, const std::string& pin_root) {
    auto m = open_admin_maps(pin_root);
    if (!m.maps) {
        return fail(m.message);
    }
    xdp_maps& maps = *m.maps;
    const std::string& cmd = a[0];
    if (cmd == "stats") {
        auto s = maps.read_stats();
        if (!s) {
            return fail(s.message());
        }
        for (std::uint32_t i = 0; i < SLUICE_CNT_MAX; ++i) {
            const auto c = static_cast<sluice_xdp_counter>(i);
            std::printf("%s %llu\n", std::string(xdp_stats::name(c)).c_str(),
                        static_cast<unsigned long long>(s.value()[c]));
        }
        return 0;
    }
    if (cmd == "blocks") {
        auto l = maps.blocked();
        if (!l) {
            return fail(l.message());
        }
        for (const auto& c : l.value()) {
            std::printf("%s\n", c.to_string().c_str());
        }
        return 0;
    }
    if ((cmd == "block" || cmd == "unblock") && a.size() == 2) {
        auto c = cidr::parse(a[1]);
        if (!c) {
            return usage(c.message());
        }
        return done(cmd == "block" ? maps.block(c.value()) : maps.unblock(c.value()));
    }
    if (cmd == "syn-limit" && a.size() == 3) {
        std::uint64_t rate = 0;
        std::uint64_t burst = 0;
        if (!parse_num("RATE", a[1], 0, UINT32_MAX, &rate) ||
            !parse_num("BURST", a[2], 0, UINT32_MAX, &burst)) {
            return 2;
        }
        return done(maps.set_syn_limit(static_cast<std::uint32_t>(rate),
                                       static_cast<std::uint32_t>(burst)));
    }
    if (cmd == "service" && a.size() >= 5 && (a[1] == "add" || a[1] == "del")) {
        auto addr = ip_addr::parse(a[2]);
        if (!addr) {
            return usage(addr.message());
        }
        std::uint64_t port = 0;
        std::uint64_t id = 0;
        if (!parse_num("PORT", a[3], 1, 65535, &port) ||
            (a.size() > 5 && !parse_num("ID", a[5], 0, UINT32_MAX, &id))) {
            return 2;
        }
        if (a[4] != "tcp" && a[4] != "udp") {
            return usage("service: protocol '" + a[4] + "' must be tcp or udp");
        }
        const service s{addr.value(), static_cast<std::uint16_t>(port),
                        a[4] == "tcp" ? l4_proto::tcp : l4_proto::udp};
        return done(a[1] == "add" ? maps.add_service(s, static_cast<std::uint32_t>(id))
                                  : maps.remove_service(s));
    }
    if (cmd == "gateway" && a.size() == 2 && a[1] == "list") {
        auto l = live_gateway_verdicts(maps);
        if (!l) {
            return fail(l.message());
        }
        for (const auto& v : l.value()) {
            std::printf("%s %s %llu\n", v.src.to_string().c_str(),
                        std::string(reason_name(v.reason)).c_str(),
                        static_cast<unsigned long long>(v.remaining_ms));
        }
        return 0;
    }
    if (cmd == "gateway" && a.size() == 3 && a[1] == "del") {
        auto addr = ip_addr::parse(a[2]);
        if (!addr) {
            return usage(addr.message());
        }
        return done(maps.remove_gateway_verdict(addr.value()));
    }
    if (cmd == "gateway" && a.size() >= 3 && a.size() <= 4) {
        auto addr = ip_addr::parse(a[1]);
        if (!addr) {
            return usage(addr.message());
        }
        std::uint64_t ttl_ms = 0;
        if (!parse_num("TTL_MS", a[2], 1, verdict_writer::max_ttl_ms, &ttl_ms)) {
            return 2;
        }
        const auto reason = a.size() > 3 ? parse_reason(a[3]) : gateway_reason::rate_limited;
        if (!reason) {
            return usage("gateway: reason '" + a[3] + "' must be rate-limited or blocked");
        }
        return done(maps.add_gateway_verdict(addr.value(), std::chrono::milliseconds(ttl_ms),
                                             *reason));
    }
    return usage("bad arguments for '" + cmd + "'");
}

int cmd_unpin(const std::string& pin_root) {
    int rc = 0;
    for (const char* name : xdp_maps::map_names()) {
        const std::string path = pin_root + "/" + name;
        if (unlink(path.c_str()) != 0 && errno != ENOENT) {
            rc = fail(errno_message("unpin " + path, errno));
        }
    }
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::string pin_root = "/sys/fs/bpf";
    std::string netns;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--pin-root" || a == "--netns") && i + 1 < argc) {
            (a == "--pin-root" ? pin_root : netns) = argv[++i];
        } else if (a == "-h" || a == "--help") {
            std::fputs(usage_text, stdout);
            return 0;
        } else {
            args.emplace_back(a);
        }
    }
    if (args.empty()) {
        return usage("no command");
    }
    if (!netns.empty()) {
        if (auto st = enter_netns(netns); !st) {
            return fail(st.message());
        }
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "attach" && !args.empty()) {
        return cmd_attach(args, pin_root);
    }
    if (cmd == "detach" && args.size() == 1) {
        std::string err;
        const int ifindex = ifindex_of(args[0], &err);
        return ifindex == 0 ? fail(err) : done(xdp_program::detach_sluice(ifindex));
    }
    if (cmd == "status" && args.size() == 1) {
        return cmd_status(args[0]);
    }
    if (cmd == "status" && args.empty()) {
        return cmd_overview(pin_root);
    }
    if (cmd == "unpin") {
        return cmd_unpin(pin_root);
    }
    args.insert(args.begin(), cmd);
    return cmd_maps(args, pin_root);
}
