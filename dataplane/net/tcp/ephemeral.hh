// The source ports of the TCP stack's active opens (sluice::dp::net::tcp): connect() picks
// from [ephemeral_port_min, ephemeral_port_max]. One definition, because the XDP program of an
// afxdp: port must steer the answers to those ports back to the dataplane (dataplane/core
// port.cc copies the range into its sl_config; docs/xdp.md, "Return traffic of outgoing
// connections"). Constants only: any thread.
#pragma once

#include <cstdint>

namespace sluice::dp::net::tcp {

// RFC 6335 §6: the Dynamic and/or Private Ports, 49152-65535.
inline constexpr std::uint16_t ephemeral_port_min = 49152;
inline constexpr std::uint16_t ephemeral_port_max = 65535;
inline constexpr std::uint32_t ephemeral_port_count =
    std::uint32_t{ephemeral_port_max} - ephemeral_port_min + 1;

}  // namespace sluice::dp::net::tcp
