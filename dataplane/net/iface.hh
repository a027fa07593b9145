// An IPv4 interface on one DPDK port: addresses and what the port offloads. Built at start by
// the port layer, then read-only and shared by every worker lcore that serves the port.
//
// Addresses are kept in network byte order, exactly as they appear on the wire, so the per-packet
// path compares them without swapping. IPv6 will add a second address family beside these fields;
// nothing below the stack's public API assumes IPv4-only addresses (docs/architecture.md).
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>

#include <cstdint>

namespace sluice::dp::net {

// RFC 1700 / Linux default initial TTL.
inline constexpr std::uint8_t default_ttl = 64;

struct iface {
    std::uint16_t port_id = 0;
    rte_ether_addr mac{};
    rte_be32_t addr = 0;     // our address
    rte_be32_t netmask = 0;  // on-link prefix
    rte_be32_t gateway = 0;  // 0: no default route
    std::uint16_t mtu = 1500;
    std::uint8_t ttl = default_ttl;
    bool tx_ipv4_cksum = false;  // the NIC fills IPv4 header checksums
    bool rx_ipv4_cksum = false;  // the NIC reports IPv4 header checksum status

    [[nodiscard]] bool on_link(rte_be32_t ip) const noexcept {
        return ((ip ^ addr) & netmask) == 0;
    }
    // The directed broadcast address of our subnet.
    [[nodiscard]] rte_be32_t subnet_broadcast() const noexcept { return addr | ~netmask; }
};

}  // namespace sluice::dp::net
