// CRC-32 for the binary framed protocol (sluice::dp::proxy::binary).
//
// The frame trailer is the standard CRC-32/ISO-HDLC (the one zlib's crc32() and Ethernet's FCS
// use: reflected polynomial 0xEDB88320, init 0xFFFFFFFF, final xor 0xFFFFFFFF; check value
// crc("123456789") = 0xCBF43926), so any client can compute it with its zlib. Contiguous bytes
// go through DPDK's rte_net_crc_calc(RTE_NET_CRC32_ETH), which has PCLMULQDQ and AVX-512 paths.
//
// rte_net_crc_calc cannot be chained: it takes no initial value and returns the final, xor'ed
// CRC. A payload that spans several mbuf segments (or arrives in several TCP segments) is
// therefore CRC'd piece by piece and the pieces combined with crc32_concat(), the GF(2)
// polynomial arithmetic of zlib's crc32_combine (x^(8·len2) mod P, by squaring), reimplemented
// here: O(log len2) 32-bit multiplications per piece, no table beyond 32 words, no copy. This
// is why the decoder never has to linearize a payload.
//
// Threading: crc_init() once at start, after rte_eal_init() and before the workers start (it
// selects DPDK's process-wide CRC handler). Everything else is pure and callable from any lcore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct rte_mbuf;

namespace sluice::dp::proxy::binary {

// Which implementation rte_net_crc ended up with (for the startup log line).
enum class crc_impl : std::uint8_t { scalar, sse42, avx512 };

// Selects the fastest CRC handler this CPU and EAL's --force-max-simd-bitwidth allow: AVX-512
// VPCLMULQDQ, else SSE4.2 PCLMULQDQ, else DPDK's table-driven scalar code. Call after EAL init:
// before it, EAL reports a SIMD width of 0 and DPDK keeps the scalar handler. Not thread-safe.
crc_impl crc_init() noexcept;

// CRC-32/ISO-HDLC of `len` contiguous bytes (0 for len 0, like zlib).
[[nodiscard]] std::uint32_t crc32(const void* data, std::size_t len) noexcept;
[[nodiscard]] inline std::uint32_t crc32(std::span<const std::uint8_t> b) noexcept {
    return crc32(b.data(), b.size());
}

// CRC of A‖B from crc(A), crc(B) and len(B) (zlib's crc32_combine).
[[nodiscard]] std::uint32_t crc32_concat(std::uint32_t crc_a, std::uint32_t crc_b,
                                         std::uint64_t len_b) noexcept;

// CRC of `len` bytes starting `off` bytes into the chain `m`, segment by segment (combined).
// Precondition: the chain holds at least off + len bytes. Does not touch the mbufs' refcounts.
[[nodiscard]] std::uint32_t crc32_mbuf(const rte_mbuf* m, std::uint32_t off,
                                       std::uint32_t len) noexcept;

}  // namespace sluice::dp::proxy::binary
