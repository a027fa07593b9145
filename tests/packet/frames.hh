// Builders for crafted Ethernet frames, shared by the L2/L3 unit tests, the fuzz seed generator
// and the benchmarks. Plain byte vectors; checksums are filled in unless a case breaks them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::test {

using bytes = std::vector<std::uint8_t>;
using mac = std::array<std::uint8_t, 6>;

inline constexpr mac broadcast_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Host-order IPv4 address from dotted parts.
constexpr std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

inline void put16(bytes& b, std::size_t off, std::uint16_t v) {
    b[off] = static_cast<std::uint8_t>(v >> 8);
    b[off + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(bytes& b, std::size_t off, std::uint32_t v) {
    put16(b, off, static_cast<std::uint16_t>(v >> 16));
    put16(b, off + 2, static_cast<std::uint16_t>(v));
}
inline std::uint16_t get16(const bytes& b, std::size_t off) {
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}
inline std::uint32_t get32(const bytes& b, std::size_t off) {
    return (std::uint32_t{get16(b, off)} << 16) | get16(b, off + 2);
}

// RFC 1071 Internet checksum over b[off, off+len).
inline std::uint16_t inet_checksum(const bytes& b, std::size_t off, std::size_t len) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) {
        sum += get16(b, off + i);
    }
    if (len % 2 != 0) {
        sum += std::uint32_t{b[off + len - 1]} << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

inline bytes eth(const mac& dst, const mac& src, std::uint16_t type, const bytes& payload) {
    bytes b;
    b.reserve(14 + payload.size());
    b.insert(b.end(), dst.begin(), dst.end());
    b.insert(b.end(), src.begin(), src.end());
    b.push_back(static_cast<std::uint8_t>(type >> 8));
    b.push_back(static_cast<std::uint8_t>(type));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

inline bytes arp(std::uint16_t op, const mac& sha, std::uint32_t sip, const mac& tha,
                 std::uint32_t tip) {
    bytes b(28);
    put16(b, 0, 1);       // Ethernet
    put16(b, 2, 0x0800);  // IPv4
    b[4] = 6;
    b[5] = 4;
    put16(b, 6, op);
    std::copy(sha.begin(), sha.end(), b.begin() + 8);
    put32(b, 14, sip);
    std::copy(tha.begin(), tha.end(), b.begin() + 18);
    put32(b, 24, tip);
    return b;
}

struct ipv4_opts {
    std::uint8_t ttl = 64;
    std::uint16_t frag = 0x4000;  // DF
    bytes options;                // appended after the 20-byte header (multiple of 4)
};

inline bytes ipv4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, const bytes& payload,
                  const ipv4_opts& o = {}) {
    const std::size_t hl = 20 + o.options.size();
    bytes b(hl);
    b[0] = static_cast<std::uint8_t>(0x40 | (hl / 4));
    put16(b, 2, static_cast<std::uint16_t>(hl + payload.size()));
    put16(b, 4, 0x1234);
    put16(b, 6, o.frag);
    b[8] = o.ttl;
    b[9] = proto;
    put32(b, 12, src);
    put32(b, 16, dst);
    std::copy(o.options.begin(), o.options.end(), b.begin() + 20);
    put16(b, 10, inet_checksum(b, 0, hl));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

inline bytes icmp_echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq, std::size_t len) {
    bytes b(8 + len);
    b[0] = type;
    put16(b, 4, id);
    put16(b, 6, seq);
    for (std::size_t i = 0; i < len; ++i) {
        b[8 + i] = static_cast<std::uint8_t>(i * 7 + 3);
    }
    put16(b, 2, inet_checksum(b, 0, b.size()));
    return b;
}

}  // namespace sluice::test
