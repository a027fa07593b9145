// The port layer: turns a port_config into a started rte_ethdev port with one RX/TX queue pair
// per serving worker, RSS where the PMD has it, checksum offloads where the port offers them,
// and the configured MTU. Works with any PMD: PCI NICs on vfio-pci, virtio/virtio_user,
// net_af_xdp, net_af_packet, net_tap, net_ring, net_null, net_memif. Main lcore, start-up and
// shutdown only.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "../net/iface.hh"
#include "xdp_maps.hh"
#include "config.hh"
#include "result.hh"

namespace sluice::dp::core {

struct port_info {
    std::uint16_t port_id = 0;
    std::string name;    // DPDK device name
    std::string driver;  // PMD name
    std::uint16_t queues = 0;
    bool rss = false;
    int socket_id = 0;
};

// Finds the port a config names (device name or numeric id). Does not touch the device.
[[nodiscard]] result<std::uint16_t> port_lookup(const std::string& dev);

// The PMD's name ("net_af_xdp", "net_ice", ...), or "" for a bad port id.
[[nodiscard]] std::string port_driver(std::uint16_t port_id);

// Configures and starts the port with one queue pair per entry of `rx_pools`, queue q's RX ring
// filling from rx_pools[q]. Fills `ifc` (MAC, addresses, offloads) for the stack. On failure the
// port is closed again.
[[nodiscard]] result<port_info> port_open(const port_config& cfg, std::uint16_t port_id,
                                          const std::vector<rte_mempool*>& rx_pools,
                                          std::uint8_t ttl, net::iface& ifc);

// Stops and closes the port, returning its RX/TX ring mbufs to their pool.
void port_close(std::uint16_t port_id);

// A device the dataplane created itself for dev=afxdp:IFACE or dev=auto:IFACE.
struct created_device {
    std::string name;   // DPDK device name: net_af_xdp_IFACE, net_af_packet_IFACE or a PCI address
    std::string iface;  // kernel interface ("" for a PCI PMD)
    bool xdp = false;   // net_af_xdp running ebpf/xdp's program: services go into its map
    std::vector<ebpf::service> services;  // entries we added to the map (removed at close)
};

// The BPF object afxdp ports load when --xdp-prog is not given: the build tree's when this
// binary runs from the build tree, else the installed one.
[[nodiscard]] std::string default_xdp_prog();

// After EAL init, before port_lookup: for a port of kind afxdp/auto, decides the backend
// (auto), readies the interface (bpffs, stale sluice_xdp removed, foreign program refused) and
// creates the device with `queues` queue pairs (rte_vdev_init / rte_dev_probe). Sets cfg.dev
// to the new device's name. Main lcore only.
[[nodiscard]] result<created_device> port_create_device(port_config& cfg, std::uint16_t queues,
                                                        const std::string& xdp_prog);

// After port_open of a created af_xdp device: fills the XDP service map (ARP and the
// configured service ports for cfg.addr) and logs native/skb and zero-copy/copy. `known_xsks`
// holds the AF_XDP socket fds of ports opened before, and receives this port's.
[[nodiscard]] status port_device_started(const port_config& cfg, created_device& dev,
                                         std::set<int>& known_xsks);

// Around port_close of a created device: before_close removes our map entries; after_close
// checks that the PMD detached the program (and detaches a leftover sluice_xdp).
void port_device_before_close(created_device& dev);
void port_device_after_close(const created_device& dev);

}  // namespace sluice::dp::core
