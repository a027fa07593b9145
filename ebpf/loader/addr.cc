// Address and prefix parsing for the XDP loader; see addr.hh. Any thread.
#include "addr.hh"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sluice::ebpf {

std::string errno_message(const std::string& what, int err) {
    if (err < 0) {
        err = -err;
    }
    return what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
}

ip_addr ip_addr::from_v4(std::array<std::uint8_t, 4> v4) {
    ip_addr a;
    a.is_v4 = true;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], v4.data(), 4);
    return a;
}

std::array<std::uint8_t, 4> ip_addr::v4() const noexcept {
    return {bytes[12], bytes[13], bytes[14], bytes[15]};
}

result<ip_addr> ip_addr::parse(std::string_view text) {
    const std::string s(text);
    std::array<std::uint8_t, 4> v4{};
    if (inet_pton(AF_INET, s.c_str(), v4.data()) == 1) {
        return from_v4(v4);
    }
    ip_addr a;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        return a;
    }
    return error{"'" + s + "' is neither an IPv4 nor an IPv6 address"};
}

std::string ip_addr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4) {
        const auto b = v4();
        inet_ntop(AF_INET, b.data(), buf, sizeof(buf));
    } else {
        inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
    }
    return buf;
}

result<cidr> cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto a = ip_addr::parse(text.substr(0, slash));
    if (!a) {
        return error{"CIDR '" + std::string(text) + "': " + a.message()};
    }
    const unsigned max_len = a->is_v4 ? 32 : 128;
    unsigned len = max_len;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
            len > max_len) {
            return error{"CIDR '" + std::string(text) + "': prefix length must be 0.." +
                         std::to_string(max_len)};
        }
    }
    cidr c;
    c.addr = a.value();
    c.len = static_cast<std::uint8_t>(len);
    // Clear host bits so that equal prefixes compare (and list) equal.
    const unsigned first = c.addr.is_v4 ? 96 : 0;
    for (unsigned bit = first + len; bit < 128; ++bit) {
        c.addr.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return c;
}

std::string cidr::to_string() const {
    return addr.to_string() + "/" + std::to_string(len);
}

}  // namespace sluice::ebpf
