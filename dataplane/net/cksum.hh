// Internet checksum helpers shared by the L3 and L4 code (RFC 1071). Any lcore; pure functions.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>

namespace sluice::dp::net {

// Ones'-complement sum (RFC 1071, not complemented) of the first `len` bytes of a chain.
// DPDK 22.11's rte_raw_cksum_mbuf truncates each segment's unreduced 32-bit sum to 16 bits
// before byte-swapping a segment that starts at an odd offset, so chains whose segment
// boundaries fall on odd offsets get wrong checksums (seen against Linux). This reduces first.
inline std::uint16_t raw_cksum_chain(const rte_mbuf* m, std::uint32_t len) noexcept {
    std::uint32_t sum = 0;
    std::uint32_t done = 0;
    for (const rte_mbuf* seg = m; seg != nullptr && done < len; seg = seg->next) {
        const std::uint32_t n = std::min<std::uint32_t>(seg->data_len, len - done);
        std::uint16_t part = rte_raw_cksum(rte_pktmbuf_mtod(seg, const void*), n);
        if ((done & 1U) != 0) {
            part = rte_bswap16(part);
        }
        sum += part;
        done += n;
    }
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

}  // namespace sluice::dp::net
