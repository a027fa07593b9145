// The binary framed protocol's wire format and encoder (sluice::dp::proxy::binary).
//
// A frame on the wire (all multi-byte fields big-endian; docs/binary-protocol.md has an
// annotated example):
//
//   offset 0  magic    4 B  0xABCDEF01 (bytes AB CD EF 01)
//          4  version  1 B  1 is the only version this gateway speaks
//          5  command  1 B  what routes match on (`match.command: N`); 0xFF = error frame
//          6  length   4 B  payload length in bytes, at most the listener's max (default 1 MiB)
//         10  payload  length B
//  10+length  crc      4 B  CRC-32/ISO-HDLC (zlib's crc32) of the payload only
//
// The error frame is an ordinary frame with command 0xFF and payload = 1 B error code + a
// UTF-8 reason (no terminator). The gateway sends one and then closes the connection after a
// protocol error; it never resynchronises within a stream (a bad magic means it has lost the
// frame boundaries).
//
// Threading: pure functions over caller buffers; any lcore, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::dp::proxy::binary {

inline constexpr std::uint32_t frame_magic = 0xABCDEF01U;
inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t header_size = 10;  // magic + version + command + length
inline constexpr std::size_t trailer_size = 4;  // CRC
inline constexpr std::size_t frame_overhead = header_size + trailer_size;
// Default cap on a payload: one frame is buffered whole before it is forwarded (its CRC comes
// last), so this bounds per-connection buffering (issue 6: 1 MiB).
inline constexpr std::uint32_t default_max_payload = 1U << 20;
inline constexpr std::uint8_t error_command = 0xFF;
// Longest reason we put in an error frame; longer reasons are cut at a UTF-8 boundary.
inline constexpr std::size_t max_error_reason = 256;
inline constexpr std::size_t max_error_frame = frame_overhead + 1 + max_error_reason;

// Why a frame (and so the connection) was rejected. The values are the error frame's code byte
// and are part of the protocol (docs/binary-protocol.md); 1-4 come from the decoder.
enum class frame_error : std::uint8_t {
    none = 0,
    bad_magic = 1,             // first 4 bytes of a frame are not AB CD EF 01
    unsupported_version = 2,   // version byte is not 1
    length_over_max = 3,       // length field above the listener's max payload
    crc_mismatch = 4,          // trailer differs from the payload's CRC
    no_route = 5,              // no route matches the command
    upstream_unavailable = 6,  // the cluster had no healthy endpoint / connect failed
    internal = 7,              // out of resources in the gateway
};

[[nodiscard]] std::string_view to_string(frame_error e) noexcept;

// The decoded fixed header.
struct frame_header {
    std::uint8_t version = protocol_version;
    std::uint8_t command = 0;
    std::uint32_t length = 0;  // payload bytes
};

// Writes the 10-byte header for a payload of `length` bytes with `command`, version 1.
void encode_header(std::uint8_t command, std::uint32_t length,
                   std::span<std::uint8_t, header_size> out) noexcept;
// Writes the 4-byte trailer (big-endian CRC).
void encode_trailer(std::uint32_t crc, std::span<std::uint8_t, trailer_size> out) noexcept;

// Writes a whole frame (header, payload copy, CRC) into `out`; returns its size, or 0 when
// `out` is smaller than payload.size() + frame_overhead.
[[nodiscard]] std::size_t encode_frame(std::uint8_t command, std::span<const std::uint8_t> payload,
                                       std::span<std::uint8_t> out) noexcept;

// Writes the error frame for `code` with `reason` (cut to max_error_reason bytes, at a UTF-8
// character boundary) into `out`; returns its size, or 0 when `out` is too small. A buffer of
// max_error_frame bytes always suffices.
[[nodiscard]] std::size_t encode_error_frame(frame_error code, std::string_view reason,
                                             std::span<std::uint8_t> out) noexcept;

// Big-endian helpers shared with the decoder.
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace sluice::dp::proxy::binary
