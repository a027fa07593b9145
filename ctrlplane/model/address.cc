// IP/CIDR parsing via inet_pton (control plane).
#include "ctrlplane/model/address.hh"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace sluice::cp::model {

std::optional<ip_address> parse_ip(std::string_view s) {
    if (s.empty() || s.size() > 64) {
        return std::nullopt;
    }
    std::string z(s);
    ip_address a;
    if (::inet_pton(AF_INET, z.c_str(), a.bytes.data()) == 1) {
        return a;
    }
    if (::inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) {
        a.v6 = true;
        return a;
    }
    return std::nullopt;
}

std::optional<cidr> parse_cidr(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    auto ip = parse_ip(s.substr(0, slash));
    if (!ip) {
        return std::nullopt;
    }
    std::string_view len = s.substr(slash + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc() || p != len.data() + len.size() ||
        v > (ip->v6 ? 128u : 32u)) {
        return std::nullopt;
    }
    return cidr{*ip, static_cast<std::uint8_t>(v)};
}

}  // namespace sluice::cp::model
