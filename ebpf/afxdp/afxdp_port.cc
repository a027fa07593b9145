// Host-side set-up and tear-down of an af_xdp port; see afxdp_port.hh. Main lcore only.
#include "afxdp_port.hh"

#include <linux/if_xdp.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "xdp_program.hh"

namespace sluice::ebpf::afxdp {

namespace fs = std::filesystem;

status ensure_bpffs(std::string& note) {
    struct statfs st {};
    if (statfs(pmd_pin_root, &st) == 0 && st.f_type == BPF_FS_MAGIC) {
        note = std::string("bpffs is mounted at ") + pmd_pin_root + "; map pins are shared";
        return {};
    }
    std::error_code ec;
    fs::create_directories(pmd_pin_root, ec);  // exists on any sysfs; harmless otherwise
    if (mount("bpf", pmd_pin_root, "bpf", 0, "mode=0700") != 0) {
        return error{errno_message(std::string("mount bpffs at ") + pmd_pin_root +
                                       " (needed: DPDK's af_xdp PMD pins the program's maps "
                                       "there)",
                                   errno)};
    }
    note = std::string("mounted a new bpffs at ") + pmd_pin_root +
           " (none was visible, e.g. under `ip netns exec`); its pins are private to this mount "
           "namespace: reach them with `nsenter -t <pid> -m -n sluice-xdp ...`";
    return {};
}

status clear_stale_program(const std::string& iface, std::string& note) {
    const int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex == 0) {
        return error{errno_message("interface " + iface, errno)};
    }
    auto q = xdp_program::query(ifindex);
    if (!q) {
        return error{q.message()};
    }
    if (!q.value().has_value()) {
        note = iface + ": no XDP program attached";
        return {};
    }
    const installed_program& p = *q.value();
    if (!p.is_sluice()) {
        return error{iface + ": a foreign XDP program is attached (id " + std::to_string(p.id) +
                     ", name '" + p.name + "', " + (p.native ? "native" : "skb") +
                     " mode); refusing to replace it. Remove it yourself (ip link set dev " +
                     iface + " xdp off) if it is not needed"};
    }
    if (auto s = xdp_program::detach_sluice(ifindex); !s) {
        return s;
    }
    note = iface + ": removed a stale sluice_xdp program (id " + std::to_string(p.id) + ", " +
           (p.native ? "native" : "skb") + " mode) left by an earlier dataplane";
    return {};
}

result<std::vector<service>> install_services(
    std::uint32_t addr_be, const std::vector<std::pair<std::uint16_t, l4_proto>>& ports,
    std::uint32_t service_id) {
    auto m = xdp_maps::open_pinned(pmd_pin_root);
    if (!m) {
        return error{m.message()};
    }
    std::vector<service> added;
    std::array<std::uint8_t, 4> v4{};
    std::memcpy(v4.data(), &addr_be, 4);  // already network order
    const ip_addr a = ip_addr::from_v4(v4);
    for (const auto& [port, proto] : ports) {
        service s{a, port, proto};
        if (auto st = m.value().add_service(s, service_id); !st) {
            (void)remove_services(added);
            return error{st.message()};
        }
        added.push_back(s);
    }
    return added;
}

status remove_services(const std::vector<service>& added) {
    if (added.empty()) {
        return {};
    }
    auto m = xdp_maps::open_pinned(pmd_pin_root);
    if (!m) {
        return error{m.message()};
    }
    status first;
    for (const auto& s : added) {
        if (auto st = m.value().remove_service(s); !st && first.ok()) {
            first = st;
        }
    }
    return first;
}

status steer_return_ports(std::uint16_t min, std::uint16_t max) {
    auto m = xdp_maps::open_pinned(pmd_pin_root);
    if (!m) {
        return error{m.message()};
    }
    return m.value().set_return_ports(min, max);
}

std::vector<xsk_info> list_xsks(const std::set<int>& skip) {
    std::vector<xsk_info> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/self/fd", ec)) {
        char* end = nullptr;
        const long fd = std::strtol(e.path().filename().c_str(), &end, 10);
        if (*end != '\0' || skip.contains(static_cast<int>(fd))) {
            continue;
        }
        struct stat st {};
        if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) {
            continue;
        }
        // Only AF_XDP sockets answer SOL_XDP options (kernel 5.3+ for XDP_OPTIONS).
        xdp_options opts{};
        socklen_t len = sizeof(opts);
        if (getsockopt(static_cast<int>(fd), SOL_XDP, XDP_OPTIONS, &opts, &len) != 0) {
            continue;
        }
        out.push_back({static_cast<int>(fd), (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0});
    }
    return out;
}

std::string describe_mode(const std::string& iface, const std::vector<xsk_info>& xsks) {
    std::string mode = "unknown";
    bool native = false;
    const int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (auto q = xdp_program::query(ifindex); q && q.value().has_value()) {
        native = q.value()->native;
        mode = std::string(native ? "native" : "skb (generic)") + " XDP, program " +
               q.value()->name + " id " + std::to_string(q.value()->id);
    } else {
        mode = "no XDP program attached (unexpected)";
    }
    std::size_t zc = 0;
    for (const auto& x : xsks) {
        zc += x.zerocopy ? 1 : 0;
    }
    std::string sockets;
    if (xsks.empty()) {
        sockets = "no AF_XDP socket found in this process (cannot tell zero-copy from copy)";
    } else if (zc == xsks.size()) {
        sockets = std::to_string(xsks.size()) + " AF_XDP socket(s) in zero-copy mode";
    } else if (zc == 0) {
        sockets = std::to_string(xsks.size()) + " AF_XDP socket(s) in copy mode (" +
                  (native ? "the driver has no AF_XDP zero-copy support"
                          : "generic XDP cannot do zero-copy") +
                  "; the kernel falls back to copy when the PMD does not insist)";
    } else {
        sockets = std::to_string(zc) + " of " + std::to_string(xsks.size()) +
                  " AF_XDP sockets in zero-copy mode";
    }
    return iface + ": " + mode + "; " + sockets;
}

status verify_detached(const std::string& iface, std::string& note) {
    const int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex == 0) {
        note = iface + ": interface is gone";
        return {};
    }
    auto q = xdp_program::query(ifindex);
    if (!q) {
        return error{q.message()};
    }
    if (!q.value().has_value()) {
        note = iface + ": the af_xdp PMD detached the XDP program";
        return {};
    }
    if (!q.value()->is_sluice()) {
        note = iface + ": a foreign XDP program '" + q.value()->name + "' is attached; left alone";
        return {};
    }
    if (auto s = xdp_program::detach_sluice(ifindex); !s) {
        return s;
    }
    note = iface + ": sluice_xdp was still attached after the port closed; detached it";
    return {};
}

}  // namespace sluice::ebpf::afxdp
