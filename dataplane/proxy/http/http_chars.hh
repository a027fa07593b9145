// Character classes for the HTTP/1.1 parsers: one 256-entry table, one load per byte.
// Internal to dataplane/proxy/http (detail). Pure constants, any thread.
#pragma once

#include <array>
#include <cstdint>

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

}  // namespace sluice::dp::proxy::http::detail
