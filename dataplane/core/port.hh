// The port layer: turns a port_config into a started rte_ethdev port with one RX/TX queue pair
// per serving worker, RSS where the PMD has it, checksum offloads where the port offers them,
// and the configured MTU. Works with any PMD: PCI NICs on vfio-pci, virtio/virtio_user,
// net_af_xdp, net_af_packet, net_tap, net_ring, net_null, net_memif. Main lcore, start-up and
// shutdown only.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../net/iface.hh"
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

}  // namespace sluice::dp::core
