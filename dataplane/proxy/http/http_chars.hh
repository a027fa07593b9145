// Character classes for the HTTP/1.1 parsers: one 256-entry table, one load per byte.
// Internal to dataplane/proxy/http (detail). Pure constants, any thread.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif

namespace sluice::dp::proxy::http::detail {

enum : std::uint8_t {
    c_tchar = 1,   // RFC 9110 §5.6.2 tchar
    c_vchar = 2,   // field-vchar: VCHAR / obs-text (RFC 9110 §5.5)
    c_ws = 4,      // SP / HTAB
    c_path = 8,    // RFC 3986 pchar without '%' (handled apart), plus '/'
    c_query = 16,  // path chars plus '?'
    c_auth = 32,   // authority: unreserved / sub-delims / ':' / '[' / ']' (RFC 3986 §3.2)
    c_digit = 64,
    c_hex = 128,
};

constexpr std::array<std::uint8_t, 256> make_char_table() {
    std::array<std::uint8_t, 256> t{};
    auto add = [&](const char* s, std::uint8_t f) {
        for (; *s != 0; ++s) {
            t[static_cast<unsigned char>(*s)] |= f;
        }
    };
    for (int c = 0; c < 256; ++c) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        if (alpha || digit) {
            t[c] |= c_tchar | c_path | c_query | c_auth;
        }
        if (digit) {
            t[c] |= c_digit | c_hex;
        }
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            t[c] |= c_hex;
        }
        if ((c > 0x20 && c < 0x7f) || c >= 0x80) {
            t[c] |= c_vchar;
        }
    }
    add("!#$%&'*+-.^_`|~", c_tchar);
    add(" \t", c_ws);
    const char* unreserved = "-._~";
    const char* sub_delims = "!$&'()*+,;=";
    add(unreserved, c_path | c_query | c_auth);
    add(sub_delims, c_path | c_query | c_auth);
    add(":@/", c_path | c_query);
    add("?", c_query);
    add(":[]", c_auth);
    return t;
}

inline constexpr std::array<std::uint8_t, 256> char_table = make_char_table();

inline bool is(char c, std::uint8_t f) noexcept {
    return (char_table[static_cast<unsigned char>(c)] & f) != 0;
}
inline char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// A class of bytes that lies within 0x20-0x7f, as two 16-entry nibble tables for `pshufb`
// (the classification of Langdale and Lemire, "Parsing gigabytes of JSON per second", §3.1):
// byte 0xHL is in the class iff lo[L] & hi[H] != 0, where hi[H] = 1 << (H - 2) for H in 2..7
// and 0 otherwise (controls and obs-text are in no such class; nibble_class_exact checks it).
struct nibble_class {
    alignas(16) std::array<std::uint8_t, 16> lo{};
    alignas(16) std::array<std::uint8_t, 16> hi{};
};

constexpr nibble_class make_nibble_class(std::uint8_t f) {
    nibble_class k{};
    for (int h = 2; h <= 7; ++h) {
        k.hi[h] = static_cast<std::uint8_t>(1U << (h - 2));
    }
    for (int c = 0x20; c < 0x80; ++c) {
        if ((char_table[c] & f) != 0) {
            k.lo[c & 15] = static_cast<std::uint8_t>(k.lo[c & 15] | k.hi[c >> 4]);
        }
    }
    return k;
}

// True iff the nibble tables give exactly char_table's class `f` for all 256 bytes.
constexpr bool nibble_class_exact(const nibble_class& k, std::uint8_t f) {
    for (int c = 0; c < 256; ++c) {
        if (((k.lo[c & 15] & k.hi[c >> 4]) != 0) != ((char_table[c] & f) != 0)) {
            return false;
        }
    }
    return true;
}

inline constexpr nibble_class tchar_class = make_nibble_class(c_tchar);
inline constexpr nibble_class path_class = make_nibble_class(c_path);
inline constexpr nibble_class query_class = make_nibble_class(c_query);
static_assert(nibble_class_exact(tchar_class, c_tchar));
static_assert(nibble_class_exact(path_class, c_path));
static_assert(nibble_class_exact(query_class, c_query));

// Index of the first byte in [i, n) outside class `f` (whose nibble tables are `k`), or n.
// With SSSE3 (the corei7 baseline has it) 16 bytes take about ten instructions; the last
// n - i < 16 bytes, and builds without SSSE3, go through the table.
inline std::uint32_t scan_class(const char* p, std::uint32_t i, std::uint32_t n,
                                const nibble_class& k, std::uint8_t f) noexcept {
#ifdef __SSSE3__
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(k.lo.data()));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(k.hi.data()));
    const __m128i nib = _mm_set1_epi8(0x0f);
    while (i + 16 <= n) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(b, nib));
        const __m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(b, 4), nib));
        const __m128i out = _mm_cmpeq_epi8(_mm_and_si128(l, h), _mm_setzero_si128());
        if (const int m = _mm_movemask_epi8(out); m != 0) {
            return i + static_cast<std::uint32_t>(__builtin_ctz(static_cast<unsigned>(m)));
        }
        i += 16;
    }
#endif
    while (i < n && is(p[i], f)) {
        ++i;
    }
    return i;
}

// Little-endian word of the first N bytes of `s`, for comparing fixed tokens with one load.
static_assert(std::endian::native == std::endian::little, "le_word/load_word compare in LE order");
template <typename W, std::size_t N>
constexpr W le_word(const char (&s)[N]) {
    static_assert(N - 1 == sizeof(W));
    W w = 0;
    for (std::size_t b = 0; b < sizeof(W); ++b) {
        w |= static_cast<W>(static_cast<unsigned char>(s[b])) << (8 * b);
    }
    return w;
}
template <typename W>
inline W load_word(const char* p) noexcept {
    W w;
    std::memcpy(&w, p, sizeof(W));
    return w;
}

// Index of the first byte in [i, n) that is not field-value content (VCHAR / obs-text / SP /
// HTAB, RFC 9110 §5.5), or n. SSE4.2 checks 16 bytes per instruction (the build targets corei7,
// see the top-level meson.build); the tail goes through the table.
inline std::uint32_t scan_value(const char* p, std::uint32_t i, std::uint32_t n) noexcept {
#ifdef __SSE4_2__
    // The bytes that end a run: 0x00-0x08, 0x0a-0x1f (CR, LF, controls), 0x7f (DEL).
    alignas(16) static constexpr char stop_ranges[16] = {0x00, 0x08, 0x0a, 0x1f, 0x7f, 0x7f};
    const __m128i ranges = _mm_load_si128(reinterpret_cast<const __m128i*>(stop_ranges));
    while (i + 16 <= n) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const int r = _mm_cmpestri(ranges, 6, b, 16,
                                   _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_LEAST_SIGNIFICANT);
        if (r != 16) {
            return i + static_cast<std::uint32_t>(r);
        }
        i += 16;
    }
#endif
    while (i < n && is(p[i], c_vchar | c_ws)) {
        ++i;
    }
    return i;
}

}  // namespace sluice::dp::proxy::http::detail
