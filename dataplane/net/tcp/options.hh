// TCP option parsing and building (sluice::dp::net::tcp).
//
// Per-packet code on the lcore that owns the connection; no allocation, no state. The parser
// reads the option bytes between the 20-byte fixed header and the data offset (at most 40
// bytes) into a flat `tcp_options`; the builders write the option blocks we send on SYN,
// SYN-ACK and data segments, padded to a multiple of 4 bytes (RFC 9293 §3.1, "Options").
//
// Malformed input, decided here once for the whole stack (RFC 9293 §3.1 MUST-7: "be prepared
// to handle an illegal option length (e.g., zero)"); the rules follow what Linux's
// tcp_parse_options does (except duplicates, where Linux keeps the last), so we interoperate
// with what middleboxes already get away with:
//   - length 0 or 1 on a kind other than EOL/NOP, or an option running past the end: parsing
//     stops there, options parsed before it are kept, the status says what was wrong;
//   - a known kind with the wrong length (e.g. MSS of length 3): that option is skipped by its
//     declared length and flagged, the rest is parsed;
//   - a duplicate of a known kind: the first occurrence wins, later ones are flagged;
//   - unknown kinds are skipped by their length (RFC 9293 §3.2 MUST-6 / MUST-68);
//   - window scale above 14 is clamped to 14 (RFC 7323 §2.3).
// The caller counts the status per reason and decides: the segment itself stays valid.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/tcp/seq.hh"

namespace sluice::dp::net::tcp {

// Option kinds (IANA "TCP Option Kind Numbers"; RFC 9293 §3.2, RFC 7323, RFC 2018).
enum class option_kind : std::uint8_t {
    eol = 0,
    nop = 1,
    mss = 2,             // RFC 9293 §3.7.1, length 4
    window_scale = 3,    // RFC 7323 §2.2, length 3
    sack_permitted = 4,  // RFC 2018 §2, length 2
    sack = 5,            // RFC 2018 §3, length 2 + 8n
    timestamps = 8,      // RFC 7323 §3.2, length 10
};

inline constexpr std::size_t max_option_bytes = 40;   // RFC 9293 §3.1: data offset <= 15 words
inline constexpr std::uint8_t max_window_shift = 14;  // RFC 7323 §2.3
inline constexpr std::size_t max_sack_blocks = 4;     // RFC 2018 §3: 2 + 8*4 = 34 <= 40 bytes

struct sack_block {
    seq_t left = 0;   // first sequence number of the block
    seq_t right = 0;  // sequence number just after the block
    friend bool operator==(const sack_block&, const sack_block&) = default;
};

// The options found in one segment. A `has_*` flag false means the option was absent (or
// ignored as malformed); the value fields are then zero.
struct tcp_options {
    bool has_mss = false;
    bool has_window_scale = false;
    bool sack_permitted = false;
    bool has_timestamps = false;
    std::uint16_t mss = 0;          // as received; the caller clamps (RFC 9293 §3.7.1)
    std::uint8_t window_shift = 0;  // already clamped to max_window_shift
    std::uint8_t sack_count = 0;
    std::uint32_t ts_val = 0;
    std::uint32_t ts_ecr = 0;
    std::array<sack_block, max_sack_blocks> sack{};
};

// Why parsing was not clean. `stopped_*` mean the rest of the option bytes was not parsed.
enum class option_status : std::uint8_t {
    ok = 0,
    stopped_bad_length,    // length byte 0 or 1 on a kind that needs one
    stopped_truncated,     // kind without length byte, or length past the end
    bad_known_length,      // a known kind with the wrong length was skipped
    duplicate,             // a second copy of a known kind was ignored
    window_shift_clamped,  // window scale above 14 was clamped
};

struct option_parse_result {
    option_status status = option_status::ok;  // the first problem met, ok if none
    std::uint8_t unknown = 0;                  // unknown kinds skipped
};

// Parses `bytes` (the options area: header bytes 20 .. data offset*4). Never reads outside
// `bytes`; any input is safe. `out` is fully overwritten.
option_parse_result parse_options(std::span<const std::uint8_t> bytes, tcp_options& out) noexcept;

// What we put on a SYN or SYN-ACK. On a SYN-ACK only include what the peer's SYN offered
// (RFC 7323 §2.2, §3.2; RFC 2018 §2): the caller decides that.
struct syn_option_spec {
    std::uint16_t mss = 0;  // always sent (RFC 9293 §3.7.1 SHOULD, MUST-14)
    bool window_scale = false;
    std::uint8_t window_shift = 0;  // clamped to 14 when built
    bool sack_permitted = false;
    bool timestamps = false;
    std::uint32_t ts_val = 0;
    std::uint32_t ts_ecr = 0;  // 0 on a SYN (RFC 7323 §3.2)
};

// Writes the SYN/SYN-ACK options in Linux's layout so that middleboxes see the familiar shape:
//   MSS, SACK-permitted, timestamps, NOP, window scale                 (20 bytes)
//   MSS, NOP, NOP, SACK-permitted, NOP, window scale  (no timestamps)  (12 bytes)
// Returns the length written, a multiple of 4 and at most 40. `out` must hold 40 bytes.
std::size_t build_syn_options(std::span<std::uint8_t, max_option_bytes> out,
                              const syn_option_spec& spec) noexcept;

// Writes the options of a non-SYN segment: NOP, NOP, timestamps (if `timestamps`), then
// NOP, NOP, SACK with as many of `blocks` as fit (3 with timestamps, 4 without: RFC 2018 §3).
// The first block should be the most recent (RFC 2018 §4). Returns the length written, a
// multiple of 4; `blocks_written` receives how many SACK blocks fit.
std::size_t build_segment_options(std::span<std::uint8_t, max_option_bytes> out, bool timestamps,
                                  std::uint32_t ts_val, std::uint32_t ts_ecr,
                                  std::span<const sack_block> blocks,
                                  std::size_t* blocks_written = nullptr) noexcept;

}  // namespace sluice::dp::net::tcp
