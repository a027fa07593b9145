// See crc32.hh. The combine arithmetic follows zlib 1.2.12's crc32.c (multmodp, x2nmodp):
// CRC-32 is linear over GF(2), so crc(A‖B) = crc(A)·x^(8·len(B)) mod P xor crc(B), where the
// multiplication is of reflected polynomials modulo P = 0xEDB88320.
#include "proxy/binary/crc32.hh"

#include <rte_cpuflags.h>
#include <rte_mbuf.h>
#include <rte_net_crc.h>
#include <rte_vect.h>
#include <wmmintrin.h>

#include <algorithm>
#include <array>

extern "C" std::uint16_t sluice_binary_max_simd_bitwidth(void);  // simd_width.c

namespace sluice::dp::proxy::binary {
namespace {

constexpr std::uint32_t poly = 0xEDB88320U;  // CRC-32/ISO-HDLC, reflected

// a·b mod P (reflected: bit 31 is x^0).
constexpr std::uint32_t multmodp(std::uint32_t a, std::uint32_t b) noexcept {
    std::uint32_t m = 1U << 31;
    std::uint32_t p = 0;
    for (;;) {
        if ((a & m) != 0) {
            p ^= b;
            if ((a & (m - 1)) == 0) {
                break;
            }
        }
        m >>= 1;
        b = (b & 1) != 0 ? (b >> 1) ^ poly : b >> 1;
    }
    return p;
}

// x2n[k] = x^(2^k) mod P.
constexpr std::array<std::uint32_t, 32> x2n = [] {
    std::array<std::uint32_t, 32> t{};
    std::uint32_t p = 1U << 30;  // x^1
    t[0] = p;
    for (std::size_t n = 1; n < t.size(); ++n) {
        p = multmodp(p, p);
        t[n] = p;
    }
    return t;
}();

// Reflected CRC-32 table: byte_table[n] = n·x^32 mod P (one byte of zeros through the register).
constexpr std::array<std::uint32_t, 256> byte_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        std::uint32_t c = n;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1;
        }
        t[n] = c;
    }
    return t;
}();

// a·b mod P with one carry-less multiply: the 63-bit product, shifted left by one, holds the
// terms x^0..x^31 in its high word (already in reflected 32-bit form) and x^32..x^63 in its low
// word as L·x^32, which four zero-byte steps through the CRC table reduce mod P. measured in
// bench/proxy/binary_bench.cc (bm_crc_concat): about 8x faster than the bit loop per call.
__attribute__((target("pclmul,sse2"))) std::uint32_t multmodp_clmul(std::uint32_t a,
                                                                    std::uint32_t b) noexcept {
    const __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)),
                                              _mm_cvtsi32_si128(static_cast<int>(b)), 0x00);
    const std::uint64_t p = static_cast<std::uint64_t>(_mm_cvtsi128_si64(prod)) << 1;
    auto lo = static_cast<std::uint32_t>(p);
    for (int k = 0; k < 4; ++k) {
        lo = (lo >> 8) ^ byte_table[lo & 0xFF];
    }
    return static_cast<std::uint32_t>(p >> 32) ^ lo;
}

const bool have_clmul = __builtin_cpu_supports("pclmul") != 0;

std::uint32_t multmodp_fast(std::uint32_t a, std::uint32_t b) noexcept {
    return have_clmul ? multmodp_clmul(a, b) : multmodp(a, b);
}

// x^(n·2^k) mod P.
std::uint32_t x2nmodp(std::uint64_t n, unsigned k) noexcept {
    std::uint32_t p = 1U << 31;  // x^0
    while (n != 0) {
        if ((n & 1) != 0) {
            p = multmodp_fast(x2n[k & 31], p);
        }
        n >>= 1;
        ++k;
    }
    return p;
}

}  // namespace

crc_impl crc_init() noexcept {
    // rte_net_crc_set_alg falls back by itself (AVX-512 → SSE4.2 → scalar); we ask it for the
    // best and then probe which one answered, since it does not say.
    rte_net_crc_set_alg(RTE_NET_CRC_AVX512);
    // Probing by behaviour is impossible (all give the same CRC), so ask the CPU the same
    // questions DPDK 22.11's handlers ask (lib/net/net_crc_avx512.c, net_crc_sse.c). The
    // AVX-512 answer assumes DPDK was built with its VPCLMULQDQ path (Debian's is).
    const auto has = [](rte_cpu_flag_t f) { return rte_cpu_get_flag_enabled(f) > 0; };
    if (sluice_binary_max_simd_bitwidth() >= RTE_VECT_SIMD_512 && has(RTE_CPUFLAG_AVX512F) &&
        has(RTE_CPUFLAG_AVX512BW) && has(RTE_CPUFLAG_AVX512DQ) && has(RTE_CPUFLAG_AVX512VL) &&
        has(RTE_CPUFLAG_PCLMULQDQ) && has(RTE_CPUFLAG_VPCLMULQDQ)) {
        return crc_impl::avx512;
    }
    if (sluice_binary_max_simd_bitwidth() >= RTE_VECT_SIMD_128 && has(RTE_CPUFLAG_PCLMULQDQ)) {
        return crc_impl::sse42;
    }
    return crc_impl::scalar;
}

std::uint32_t crc32(const void* data, std::size_t len) noexcept {
    if (len == 0) {
        return 0;
    }
    return rte_net_crc_calc(data, static_cast<std::uint32_t>(len), RTE_NET_CRC32_ETH);
}

std::uint32_t crc32_concat(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) noexcept {
    // len_b == 0 gives crc_a ^ crc_b like zlib (crc_b of nothing is 0, so crc_a).
    return multmodp_fast(x2nmodp(len_b, 3), crc_a) ^ crc_b;
}

std::uint32_t crc32_mbuf(const rte_mbuf* m, std::uint32_t off, std::uint32_t len) noexcept {
    while (m != nullptr && off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    std::uint32_t crc = 0;
    while (m != nullptr && len > 0) {
        const std::uint32_t n = std::min<std::uint32_t>(m->data_len - off, len);
        const auto* p = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, off);
        crc = crc32_concat(crc, crc32(p, n), n);
        len -= n;
        off = 0;
        m = m->next;
    }
    return crc;
}

}  // namespace sluice::dp::proxy::binary
