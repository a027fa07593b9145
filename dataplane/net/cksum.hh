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

// RFC 9293 §3.1 / RFC 768: the folded (not complemented) sum of the IPv4 pseudo-header and the
// whole L4 segment in `m` (data offset at the L4 header). A valid segment sums to 0xffff; the
// checksum field to send is its complement, computed with the field zeroed.
inline std::uint16_t l4_sum_ipv4(const rte_mbuf* m, rte_be32_t src, rte_be32_t dst,
                                 std::uint8_t proto) noexcept {
    rte_ipv4_hdr ih{};
    ih.version_ihl = RTE_IPV4_VHL_DEF;
    ih.total_length = rte_cpu_to_be_16(static_cast<std::uint16_t>(20 + m->pkt_len));
    ih.next_proto_id = proto;
    ih.src_addr = src;
    ih.dst_addr = dst;
    std::uint32_t sum = rte_ipv4_phdr_cksum(&ih, 0);
    sum += raw_cksum_chain(m, m->pkt_len);
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

}  // namespace sluice::dp::net
