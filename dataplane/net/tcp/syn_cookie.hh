// SYN cookies (sluice::dp::net::tcp): a listener under SYN flood answers SYNs statelessly and
// rebuilds the connection from the final ACK (RFC 4987 §3.6 describes the technique).
//
// Runs on the lcore that owns the listener; the codec is immutable after construction (its
// key), so each lcore may hold a copy. Keyed hash: SipHash-2-4 with a 128-bit secret, not
// rte_hash_crc: CRC is linear, so an attacker who sees a few cookies could forge others.
//
// Cookie layout (32-bit ISN we send on the SYN-ACK), after Bernstein's original scheme:
//   bits 31..27  t mod 32, t = now_s / 64 (a 64-second time slot)
//   bits 26..24  index into syn_cookie_mss_table
//   bits 23..0   SipHash-2-4(key; flow, peer ISN, t, MSS index) truncated to 24 bits
// A cookie is accepted for the slot it was made in and the next `syn_cookie_max_age` slots.
// Options a cookie cannot hold (window scale, SACK-permitted) travel in the low bits of our
// TSval when the peer offered timestamps, and come back in its TSecr (as Linux does).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/tcp/seq.hh"

namespace sluice::dp::net::tcp {

// MSS values a cookie can express; we answer with the largest one not above the peer's MSS.
// 536 is the RFC 9293 §3.7.1 default, 1460 Ethernet, 1440/1400/1360/1300/1200 cover common
// tunnel and PPPoE overheads (Linux's msstab has 536, 1300, 1440, 1460), 8960 jumbo frames.
inline constexpr std::array<std::uint16_t, 8> syn_cookie_mss_table = {536,  1200, 1300, 1360,
                                                                      1400, 1440, 1460, 8960};
// Slots (64 s each) after the one a cookie was made in during which it stays valid: a client
// has 128 to 192 s to complete the handshake (Linux allows about 2 minutes).
inline constexpr std::uint32_t syn_cookie_max_age = 2;

// 64-bit SipHash-2-4 of `data` under a 128-bit key (Aumasson and Bernstein, 2012). Exposed for
// its test vectors.
[[nodiscard]] std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key,
                                      std::span<const std::uint8_t> data) noexcept;

// The IPv4 4-tuple as seen from the listener: the peer is the source of the SYN.
struct flow4 {
    std::uint32_t peer_addr = 0;
    std::uint32_t local_addr = 0;
    std::uint16_t peer_port = 0;
    std::uint16_t local_port = 0;
};

struct syn_cookie_grant {
    seq_t isn = 0;          // our ISN for the SYN-ACK
    std::uint16_t mss = 0;  // the MSS it encodes (put it in the SYN-ACK's MSS option)
};

// Options carried in TSval's low 5 bits.
struct syn_cookie_ts_options {
    std::optional<std::uint8_t> window_shift;  // peer's shift if it offered window scaling
    bool sack_permitted = false;
};

class syn_cookie_codec {
public:
    // `key` must come from a good random source at stack start (the caller's injected RNG).
    explicit syn_cookie_codec(const std::array<std::uint64_t, 2>& key) noexcept : key_(key) {}

    // A SYN from `flow` with sequence number `peer_isn` and MSS option `peer_mss` (536 if it had
    // none, RFC 9293 §3.7.1) arrived at `now_s` seconds.
    [[nodiscard]] syn_cookie_grant encode(const flow4& flow, seq_t peer_isn, std::uint16_t peer_mss,
                                          std::uint64_t now_s) const noexcept;

    // The third segment of the handshake: ACK with SEG.ACK = cookie + 1 and SEG.SEQ = peer ISN
    // + 1. Returns the MSS if the cookie is genuine and fresh, nothing otherwise.
    [[nodiscard]] std::optional<std::uint16_t> decode(const flow4& flow, seq_t seg_seq,
                                                      seq_t seg_ack,
                                                      std::uint64_t now_s) const noexcept;

    // Our TSval for the SYN-ACK: `ts_now` with the low 5 bits replaced by the options, never
    // ahead of ts_now (RFC 7323 §5.4 wants TSval monotonic).
    [[nodiscard]] static std::uint32_t encode_ts(std::uint32_t ts_now,
                                                 const syn_cookie_ts_options& o) noexcept;
    // Reads them back from the TSecr of the handshake's ACK (every 5-bit value is a valid
    // encoding: shifts 0-14, or 15 for "no window scaling").
    [[nodiscard]] static syn_cookie_ts_options decode_ts(std::uint32_t ts_ecr) noexcept;

private:
    [[nodiscard]] std::uint32_t mac24(const flow4& flow, seq_t peer_isn, std::uint64_t slot,
                                      std::uint32_t mss_index) const noexcept;

    std::array<std::uint64_t, 2> key_;
};

}  // namespace sluice::dp::net::tcp
