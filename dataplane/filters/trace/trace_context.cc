// See trace_context.hh.
#include "filters/trace/trace_context.hh"

#include <algorithm>
#include <cstring>

namespace sluice::dp::filters {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Lower-case hex digit value, or -1 (upper case is invalid in traceparent, §3.2.2.2).
constexpr int hex_lower(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// Decodes 2·n lower-case hex characters into n bytes; false on any other character.
bool unhex(const char* s, std::uint8_t* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const int hi = hex_lower(s[2 * i]);
        const int lo = hex_lower(s[2 * i + 1]);
        if ((hi | lo) < 0) {
            return false;
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

void hex(const std::uint8_t* in, std::size_t n, char* out) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0xF];
    }
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) noexcept {
    std::uint8_t acc = 0;
    for (auto b : a) {
        acc |= b;
    }
    return acc == 0;
}

template <std::size_t N>
void fill_random(fast_rng& rng, std::array<std::uint8_t, N>& out) noexcept {
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            const std::uint64_t r = rng.next();
            std::memcpy(out.data() + i, &r, std::min<std::size_t>(8, N - i));
        }
    } while (all_zero(out));
}

constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// §3.3.1.3.1 key: simple-key = lcalpha 0*255(lcalpha / DIGIT / "_" / "-"/ "*" / "/"),
// multi-tenant-key = tenant-id "@" system-id (tenant-id may start with a digit). Checked
// loosely: first character lcalpha or digit, the rest from that set plus one "@", ≤ 256.
bool key_ok(std::string_view k) noexcept {
    if (k.empty() || k.size() > 256) {
        return false;
    }
    const auto first = k[0];
    if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) {
        return false;
    }
    int at = 0;
    for (char c : k) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                        c == '*' || c == '/';
        if (c == '@') {
            ++at;
        } else if (!ok) {
            return false;
        }
    }
    return at <= 1 && k.back() != '@';
}

// §3.3.1.3.2 value: 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C /
// %x3E-7E (printable ASCII without "," and "="), not ending in a space.
bool value_ok(std::string_view v) noexcept {
    if (v.empty() || v.size() > 256 || v.back() == ' ') {
        return false;
    }
    for (char c : v) {
        if (c < 0x20 || c > 0x7E || c == ',' || c == '=') {
            return false;
        }
    }
    return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

fast_rng::fast_rng(std::uint64_t seed) noexcept {
    for (auto& w : s_) {
        w = splitmix64(seed);
    }
}

std::uint64_t fast_rng::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::string_view to_string(traceparent_status s) noexcept {
    switch (s) {
        case traceparent_status::ok:
            return "ok";
        case traceparent_status::bad_length:
            return "bad_length";
        case traceparent_status::bad_separator:
            return "bad_separator";
        case traceparent_status::bad_hex:
            return "bad_hex";
        case traceparent_status::bad_version:
            return "bad_version";
        case traceparent_status::zero_trace_id:
            return "zero_trace_id";
        case traceparent_status::zero_parent_id:
            return "zero_parent_id";
    }
    return "unknown";
}

traceparent_status parse_traceparent(std::string_view s, traceparent& out) noexcept {
    // §3.2.2.1: version is 2 hex digits; ff is invalid. Read it first: the length rule depends
    // on it.
    if (s.size() < 2) {
        return traceparent_status::bad_length;
    }
    std::uint8_t version = 0;
    if (!unhex(s.data(), &version, 1)) {
        return traceparent_status::bad_hex;
    }
    if (version == 0xFF) {
        return traceparent_status::bad_version;
    }
    if (version == 0) {
        if (s.size() != traceparent_len) {
            return traceparent_status::bad_length;
        }
    } else if (s.size() < traceparent_len ||
               (s.size() > traceparent_len && s[traceparent_len] != '-')) {
        // §3.2.4: a higher version must be at least 55 characters, and the next one "-".
        return traceparent_status::bad_length;
    }
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') {
        return traceparent_status::bad_separator;
    }
    traceparent tp;
    tp.version = version;
    if (!unhex(s.data() + 3, tp.trace_id.data(), trace_id_len) ||
        !unhex(s.data() + 36, tp.parent_id.data(), span_id_len) ||
        !unhex(s.data() + 53, &tp.flags, 1)) {
        return traceparent_status::bad_hex;
    }
    if (all_zero(tp.trace_id)) {
        return traceparent_status::zero_trace_id;
    }
    if (all_zero(tp.parent_id)) {
        return traceparent_status::zero_parent_id;
    }
    out = tp;
    return traceparent_status::ok;
}

void format_traceparent(const traceparent& tp, std::span<char, traceparent_len> out) noexcept {
    char* p = out.data();
    p[0] = '0';
    p[1] = '0';
    p[2] = '-';
    hex(tp.trace_id.data(), trace_id_len, p + 3);
    p[35] = '-';
    hex(tp.parent_id.data(), span_id_len, p + 36);
    p[52] = '-';
    hex(&tp.flags, 1, p + 53);
}

void new_trace_id(fast_rng& rng, std::array<std::uint8_t, trace_id_len>& out) noexcept {
    fill_random(rng, out);
}

void new_span_id(fast_rng& rng, std::array<std::uint8_t, span_id_len>& out) noexcept {
    fill_random(rng, out);
}

traceparent_status propagate(std::string_view incoming, fast_rng& rng, traceparent& out,
                             std::uint8_t new_trace_flags) noexcept {
    traceparent_status st = parse_traceparent(incoming, out);
    if (st != traceparent_status::ok) {
        out = {};
        new_trace_id(rng, out.trace_id);
        out.flags = new_trace_flags;
    }
    out.version = 0;
    // Level 1 defines only bit 0 (sampled); §3.2.2.5 says other bits are left unset when we
    // do not know what they mean.
    out.flags &= 0x01;
    new_span_id(rng, out.parent_id);
    return st;
}

std::string_view tracestate_to_forward(std::string_view s) noexcept {
    std::size_t members = 0;
    std::size_t keep = 0;  // end of the last whole member within max_tracestate_len
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t comma = s.find(',', start);
        if (comma == std::string_view::npos) {
            comma = s.size();
        }
        const std::string_view m = trim_ows(s.substr(start, comma - start));
        if (!m.empty()) {  // §3.3.1.2: empty list-members are allowed and ignored
            const std::size_t eq = m.find('=');
            if (eq == std::string_view::npos || !key_ok(m.substr(0, eq)) ||
                !value_ok(m.substr(eq + 1))) {
                return {};
            }
            if (++members > max_tracestate_members) {
                return {};
            }
            if (comma <= max_tracestate_len) {
                keep = comma;
            }
        }
        start = comma + 1;
    }
    return trim_ows(s.substr(0, keep));
}

bool request_id_valid(std::string_view s) noexcept {
    if (s.empty() || s.size() > max_request_id) {
        return false;
    }
    for (char c : s) {
        if (c < 0x21 || c > 0x7E) {
            return false;
        }
    }
    return true;
}

void format_uuid_v4(fast_rng& rng, std::span<char, uuid_len> out) noexcept {
    std::uint8_t b[16];
    const std::uint64_t r0 = rng.next();
    const std::uint64_t r1 = rng.next();
    std::memcpy(b, &r0, 8);
    std::memcpy(b + 8, &r1, 8);
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // RFC 9562 §5.4: version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 §4.1: variant 10
    char* p = out.data();
    hex(b, 4, p);
    p[8] = '-';
    hex(b + 4, 2, p + 9);
    p[13] = '-';
    hex(b + 6, 2, p + 14);
    p[18] = '-';
    hex(b + 8, 2, p + 19);
    p[23] = '-';
    hex(b + 10, 6, p + 24);
}

}  // namespace sluice::dp::filters
