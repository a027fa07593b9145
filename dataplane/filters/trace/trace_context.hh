// W3C Trace Context Level 1 (https://www.w3.org/TR/trace-context-1/) and x-request-id, for the
// gateway's trace filter (sluice::dp::filters).
//
// traceparent is parsed strictly (§3.2): `version "-" trace-id "-" parent-id "-" trace-flags`,
// lower-case hex only, exactly 55 characters for version 00, version ff invalid, trace-id and
// parent-id not all zero. A higher version is parsed by the forward-compatibility rule of §3.2.4
// ("Versioning of traceparent"): at least 55 characters, the 55-character prefix read as version
// 00's fields, and if longer, the 56th character must be "-" (what follows is the future
// version's and is ignored). Forwarding always emits version 00, the one we implement.
//
// On forwarding, the gateway is a participant in the trace: it keeps the trace-id and the
// flags and sets parent-id to its own new span id (§3.2.2.3 "parent-id ... the ID of this
// request as known by the caller"); with no valid incoming traceparent it starts a new trace.
// tracestate is checked loosely (§3.3) and passed on, or dropped when invalid or when
// traceparent was invalid (§3.3.1: tracestate is only meaningful with a valid traceparent).
//
// Threading: per-request code on a worker lcore: no allocation (formatting goes into caller
// buffers), no exceptions. The RNG is per lcore (one fast_rng per worker, never shared).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::dp::filters {

// xoshiro256** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro256starstar.c): fast,
// 256-bit state, good enough for ids that must be unique, not secret. Seeded with splitmix64
// from one 64-bit seed (rte_rand() at worker start; tests pass a constant).
class fast_rng {
public:
    explicit fast_rng(std::uint64_t seed) noexcept;
    std::uint64_t next() noexcept;

private:
    std::array<std::uint64_t, 4> s_{};
};

inline constexpr std::size_t traceparent_len = 55;  // §3.2: version 00's exact length
inline constexpr std::size_t trace_id_len = 16;     // bytes (32 hex)
inline constexpr std::size_t span_id_len = 8;       // bytes (16 hex)
inline constexpr std::size_t uuid_len = 36;         // RFC 9562 §4 text form
// x-request-id we keep: 1..128 visible ASCII characters (0x21-0x7E). Longer or other bytes are
// replaced by a new UUID (a header that could smuggle CR/LF or blow up logs is not kept).
inline constexpr std::size_t max_request_id = 128;
// §3.3.1.1 and §3.3.1.5: at most 32 list-members; we keep at most 512 characters.
inline constexpr std::size_t max_tracestate_members = 32;
inline constexpr std::size_t max_tracestate_len = 512;

struct traceparent {
    std::uint8_t version = 0;
    std::array<std::uint8_t, trace_id_len> trace_id{};
    std::array<std::uint8_t, span_id_len> parent_id{};
    std::uint8_t flags = 0;  // bit 0: sampled (§3.2.2.5)
};

enum class traceparent_status : std::uint8_t {
    ok,
    bad_length,      // not 55 (version 00), or < 55 / no "-" at 56 (higher version)
    bad_separator,   // not "-" at 2, 35, 52
    bad_hex,         // a character outside 0-9a-f (upper case is invalid too)
    bad_version,     // ff (§3.2.2.1 "Version ff is invalid")
    zero_trace_id,   // §3.2.2.3: all zeroes is invalid
    zero_parent_id,  // §3.2.2.4: all zeroes is invalid
};
[[nodiscard]] std::string_view to_string(traceparent_status s) noexcept;

[[nodiscard]] traceparent_status parse_traceparent(std::string_view s, traceparent& out) noexcept;

// Writes version 00's 55 characters (whatever tp.version says: we only emit what we speak).
void format_traceparent(const traceparent& tp, std::span<char, traceparent_len> out) noexcept;

// A new random trace id / span id, never all zero (§3.2.2.3/4).
void new_trace_id(fast_rng& rng, std::array<std::uint8_t, trace_id_len>& out) noexcept;
void new_span_id(fast_rng& rng, std::array<std::uint8_t, span_id_len>& out) noexcept;

// What the proxy forwards, from the incoming traceparent (empty if absent). Keeps trace-id and
// flags of a valid one, else starts a new trace with `new_trace_flags` (bit 0 = sampled);
// either way parent-id is a new span id: the gateway's own span. Returns the parse status of
// the incoming header (ok means "continued").
traceparent_status propagate(std::string_view incoming, fast_rng& rng, traceparent& out,
                             std::uint8_t new_trace_flags = 0) noexcept;

// The part of `tracestate` to forward: the whole value when valid and ≤ 512 characters; when
// longer, the longest prefix of whole list-members within 512 characters (§3.3.1.5 allows
// dropping members from the end); empty (drop the header) when a member is malformed or there
// are more than 32 (§3.3.1.1). Loose: keys and values are checked for their character sets
// and lengths (≤ 256 and ≤ 256), not for duplicate keys.
[[nodiscard]] std::string_view tracestate_to_forward(std::string_view s) noexcept;

// x-request-id: keep a valid incoming one (1..max_request_id visible ASCII characters).
[[nodiscard]] bool request_id_valid(std::string_view s) noexcept;
// Writes a random UUID version 4 (RFC 9562 §5.4), lower-case: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
// with V in 8..b.
void format_uuid_v4(fast_rng& rng, std::span<char, uuid_len> out) noexcept;

}  // namespace sluice::dp::filters
