// IP address and CIDR parsing for config validation and snapshot encoding (control plane).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::cp::model {

struct ip_address {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes, network order
    bool v6 = false;
};

struct cidr {
    ip_address base;
    std::uint8_t prefix_len = 0;
};

[[nodiscard]] std::optional<ip_address> parse_ip(std::string_view s);
[[nodiscard]] std::optional<cidr> parse_cidr(std::string_view s);

}  // namespace sluice::cp::model
