// IP addresses and CIDR prefixes as the XDP maps store them (ebpf/abi/sluice_xdp_abi.h):
// network byte order, IPv4 kept IPv4-mapped. Parsing answers with a message naming the
// offending text. Plain value types: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.hh"

namespace sluice::ebpf {

struct ip_addr {
    // IPv4-mapped (RFC 4291 §2.5.5.2) when is_v4.
    std::array<std::uint8_t, 16> bytes{};
    bool is_v4 = false;

    static result<ip_addr> parse(std::string_view text);
    static ip_addr from_v4(std::array<std::uint8_t, 4> v4);
    // The four IPv4 bytes. Precondition: is_v4.
    [[nodiscard]] std::array<std::uint8_t, 4> v4() const noexcept;
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const ip_addr&, const ip_addr&) = default;
};

struct cidr {
    ip_addr addr;         // host bits are cleared by parse()
    std::uint8_t len = 0;  // 0..32 for IPv4, 0..128 for IPv6

    // "10.0.0.0/8", "2001:db8::/32"; a bare address means a host route (/32 or /128).
    static result<cidr> parse(std::string_view text);
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const cidr&, const cidr&) = default;
};

}  // namespace sluice::ebpf
