// Decides how the dataplane reaches a NIC named by `dev=auto:NAME` (docs/xdp.md, "Port
// modes"): the NIC's own DPDK PMD when it is bound to vfio-pci or a uio driver, else AF_XDP
// (native XDP when the driver has it, generic/skb otherwise), else af_packet. The decision is a
// pure function of probes, so tests inject them; system_probes() reads sysfs and the kernel.
//
// Threads: setup path only (main lcore before any device exists). Never on a worker lcore.
#pragma once

#include <functional>
#include <string>

#include "result.hh"

namespace sluice::ebpf::afxdp {

enum class backend { pci_pmd, af_xdp, af_packet };

[[nodiscard]] const char* backend_name(backend b);

// What the decision needs to know about the host. Every probe must be safe to call for any
// name (no such device answers "" / false).
struct probes {
    // Driver a PCI device (0000:00:04.0) is bound to ("vfio-pci", "virtio-pci", ...); "" when
    // the device does not exist, "(none)" when it has no driver.
    std::function<std::string(const std::string& pci_addr)> pci_driver;
    // The kernel netdev of a PCI device (its /sys/bus/pci/devices/ADDR/net/* entry), or "".
    std::function<std::string(const std::string& pci_addr)> pci_netdev;
    // Whether a kernel netdev of this name exists in our network namespace.
    std::function<bool(const std::string& iface)> netdev_exists;
    // Whether the kernel offers AF_XDP sockets (CONFIG_XDP_SOCKETS): socket(AF_XDP) works.
    std::function<bool()> af_xdp_sockets;
    // 1: the driver runs XDP natively; 0: the driver has no native XDP, so generic (skb);
    // -1: unknown (a program is attached already, or the probe could not run);
    // -2: the driver has native XDP but refused it here (virtio-net without spare TX queues,
    // an MTU above one page, LRO on). The af_xdp PMD of DPDK 22.11 attaches without a mode
    // flag, so the kernel picks native whenever the driver has it, and does not fall back to
    // skb when the driver refuses: -2 means AF_XDP would fail to start.
    std::function<int(const std::string& iface)> xdp_native;
};

struct choice {
    backend how = backend::af_packet;
    std::string device;  // PCI address for pci_pmd, kernel interface otherwise
    int native = -1;     // af_xdp: expected XDP mode, as probes::xdp_native says
    std::string reason;  // one sentence for the log
};

// True for a PCI address in the sysfs form DDDD:BB:DD.F (domain optional: BB:DD.F).
[[nodiscard]] bool looks_like_pci(const std::string& name);

// `name` is a kernel interface or a PCI address. Fails only when neither a bound PCI device
// nor a netdev of that name exists.
[[nodiscard]] result<choice> choose(const std::string& name, const probes& p);

// Probes over /sys/bus/pci, if_nametoindex(), socket(AF_XDP) and a trial native attach of
// a two-instruction XDP_PASS program (attached with XDP_FLAGS_UPDATE_IF_NOEXIST, so never over
// someone's program, and detached at once).
[[nodiscard]] probes system_probes();

}  // namespace sluice::ebpf::afxdp
