// Character classes for the HTTP/1.1 parsers: one 256-entry table, one load per byte.
// Internal to dataplane/proxy/http (detail). Pure constants, any thread.
#pragma once

#include <array>
#include <cstdint>
#ifdef __SSE4_2__
#include <nmmintrin.h>
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
