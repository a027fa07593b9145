// The auto: port decision and the host probes behind it; see port_mode.hh. Setup path only.
#include "port_mode.hh"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <regex>

#include "unique_fd.hh"

#ifndef AF_XDP
#define AF_XDP 44  // linux/socket.h; older libc headers lack it
#endif

namespace sluice::ebpf::afxdp {

namespace fs = std::filesystem;

const char* backend_name(backend b) {
    switch (b) {
        case backend::pci_pmd:
            return "pci";
        case backend::af_xdp:
            return "af_xdp";
        case backend::af_packet:
            return "af_packet";
    }
    return "?";
}

bool looks_like_pci(const std::string& name) {
    static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$)");
    return std::regex_match(name, pci);
}

namespace {

// DPDK's user-space I/O drivers: after binding to one the device is no longer a netdev.
bool is_dpdk_driver(const std::string& d) {
    return d == "vfio-pci" || d == "uio_pci_generic" || d == "igb_uio";
}

choice netdev_choice(const std::string& iface, const probes& p, const std::string& why) {
    choice c;
    c.device = iface;
    if (!p.af_xdp_sockets()) {
        c.how = backend::af_packet;
        c.reason = why + "; the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS), so af_packet";
        return c;
    }
    c.native = p.xdp_native(iface);
    if (c.native == -2) {
        c.how = backend::af_packet;
        c.reason = why + "; its driver has native XDP but refused to attach a program (libbpf "
                         "logs the kernel's reason; typically an MTU above one page, or on "
                         "virtio-net too few queues for XDP TX or LRO on), "
                         "and DPDK 22.11's af_xdp PMD cannot ask for skb mode instead, so "
                         "af_packet";
        return c;
    }
    c.how = backend::af_xdp;
    c.reason = why + "; the kernel has AF_XDP sockets and " +
               (c.native == 1   ? std::string("the driver runs XDP natively (native mode)")
                : c.native == 0 ? std::string("the driver has no native XDP (generic/skb mode, "
                                              "copy only)")
                                : std::string("native XDP support is unknown (the kernel picks "
                                              "native if it can)"));
    return c;
}

}  // namespace

result<choice> choose(const std::string& name, const probes& p) {
    if (looks_like_pci(name)) {
        const std::string pci = name.size() == 7 ? "0000:" + name : name;
        const std::string drv = p.pci_driver(pci);
        if (drv.empty()) {
            return error{"auto:" + name + ": no PCI device " + pci + " (ls /sys/bus/pci/devices)"};
        }
        if (is_dpdk_driver(drv)) {
            choice c;
            c.how = backend::pci_pmd;
            c.device = pci;
            c.reason = pci + " is bound to " + drv + ", so its DPDK PMD drives it";
            return c;
        }
        const std::string nd = p.pci_netdev(pci);
        if (nd.empty()) {
            return error{"auto:" + name + ": PCI device " + pci + " is bound to " + drv +
                         ", which is neither a DPDK driver (vfio-pci, uio_pci_generic, igb_uio) "
                         "nor one that gives it a netdev"};
        }
        return netdev_choice(nd, p, pci + " is a kernel netdev (" + nd + ", driver " + drv + ")");
    }
    if (!p.netdev_exists(name)) {
        return error{"auto:" + name + ": no network interface '" + name +
                     "' in this network namespace; a NIC bound to vfio-pci has no interface "
                     "name any more: name it by PCI address (auto:0000:00:04.0)"};
    }
    return netdev_choice(name, p,
                         name + " is a kernel netdev, so not bound to a DPDK driver");
}

probes system_probes() {
    probes p;
    p.pci_driver = [](const std::string& pci) -> std::string {
        const fs::path dev = fs::path("/sys/bus/pci/devices") / pci;
        std::error_code ec;
        if (!fs::exists(dev, ec)) {
            return "";
        }
        const auto drv = fs::read_symlink(dev / "driver", ec);
        return ec ? std::string("(none)") : drv.filename().string();
    };
    p.pci_netdev = [](const std::string& pci) -> std::string {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(fs::path("/sys/bus/pci/devices") / pci / "net",
                                                    ec)) {
            return e.path().filename().string();
        }
        return "";
    };
    p.netdev_exists = [](const std::string& iface) { return if_nametoindex(iface.c_str()) != 0; };
    p.af_xdp_sockets = [] {
        const unique_fd fd(socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
        return fd.valid();
    };
    p.xdp_native = [](const std::string& iface) {
        const int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
        if (ifindex == 0) {
            return -1;
        }
        // r0 = XDP_PASS; exit. Attached natively only if nothing is attached.
        const bpf_insn insns[] = {
            {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
            {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
        };
        const unique_fd prog(bpf_prog_load(BPF_PROG_TYPE_XDP, "sl_probe", "GPL", insns, 2,
                                           nullptr));
        if (!prog.valid()) {
            return -1;
        }
        if (bpf_xdp_attach(ifindex, prog.get(), XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
                           nullptr) != 0) {
            // EOPNOTSUPP: no ndo_bpf, the kernel will use generic XDP. EBUSY/EEXIST: something
            // is attached. Anything else: the driver has native XDP and said no.
            if (errno == EOPNOTSUPP) {
                return 0;
            }
            return errno == EBUSY || errno == EEXIST ? -1 : -2;
        }
        bpf_xdp_attach_opts o{};
        o.sz = sizeof(o);
        o.old_prog_fd = prog.get();
        (void)bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &o);
        return 1;
    };
    return p;
}

}  // namespace sluice::ebpf::afxdp
