// TCP sequence-number arithmetic (sluice::dp::net::tcp).
//
// Pure functions, usable from any lcore. Sequence numbers live in a 2^32 space and compare
// modulo 2^32 (RFC 9293 §3.4: "all arithmetic dealing with sequence numbers must be performed
// modulo 2**32"): a is before b when the signed 32-bit difference a - b is negative. That is
// only meaningful for numbers less than 2^31 apart, which TCP guarantees because windows are
// at most 2^30 bytes (RFC 7323 §2.3, shift count at most 14).
#pragma once

#include <cstdint>

namespace sluice::dp::net::tcp {

using seq_t = std::uint32_t;

[[nodiscard]] constexpr bool seq_lt(seq_t a, seq_t b) noexcept {
    return static_cast<std::int32_t>(a - b) < 0;
}
[[nodiscard]] constexpr bool seq_le(seq_t a, seq_t b) noexcept {
    return static_cast<std::int32_t>(a - b) <= 0;
}
[[nodiscard]] constexpr bool seq_gt(seq_t a, seq_t b) noexcept { return seq_lt(b, a); }
[[nodiscard]] constexpr bool seq_ge(seq_t a, seq_t b) noexcept { return seq_le(b, a); }
[[nodiscard]] constexpr seq_t seq_max(seq_t a, seq_t b) noexcept { return seq_lt(a, b) ? b : a; }
[[nodiscard]] constexpr seq_t seq_min(seq_t a, seq_t b) noexcept { return seq_lt(a, b) ? a : b; }

// lo <= s < lo + len, in sequence space (an empty range holds nothing).
[[nodiscard]] constexpr bool seq_in_range(seq_t s, seq_t lo, std::uint32_t len) noexcept {
    return s - lo < len;
}

// RFC 9293 §3.10.7.4, first check sequence number: the segment acceptability table.
// `seg_len` counts SYN and FIN (SEG.LEN), `rcv_wnd` is the window we advertised (RCV.WND).
//   SEG.LEN  RCV.WND  test
//   0        0        SEG.SEQ = RCV.NXT
//   0        >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//   >0       0        not acceptable
//   >0       >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//                     or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
[[nodiscard]] constexpr bool segment_acceptable(seq_t seg_seq, std::uint32_t seg_len, seq_t rcv_nxt,
                                                std::uint32_t rcv_wnd) noexcept {
    if (seg_len == 0) {
        return rcv_wnd == 0 ? seg_seq == rcv_nxt : seq_in_range(seg_seq, rcv_nxt, rcv_wnd);
    }
    if (rcv_wnd == 0) {
        return false;
    }
    return seq_in_range(seg_seq, rcv_nxt, rcv_wnd) ||
           seq_in_range(seg_seq + seg_len - 1, rcv_nxt, rcv_wnd);
}

// RFC 9293 §3.10.7.4, fifth check, ESTABLISHED: SND.UNA < SEG.ACK =< SND.NXT acknowledges new
// data. (SEG.ACK =< SND.UNA is a duplicate; SEG.ACK > SND.NXT acknowledges unsent data.)
[[nodiscard]] constexpr bool ack_acks_new_data(seq_t seg_ack, seq_t snd_una,
                                               seq_t snd_nxt) noexcept {
    return seq_lt(snd_una, seg_ack) && seq_le(seg_ack, snd_nxt);
}

// RFC 5961 §5.2: an ACK is acceptable only if
//   (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT;
// anything else is dropped and answered with a (rate-limited) challenge ACK.
[[nodiscard]] constexpr bool ack_in_rfc5961_window(seq_t seg_ack, seq_t snd_una, seq_t snd_nxt,
                                                   std::uint32_t max_snd_wnd) noexcept {
    return seq_le(snd_una - max_snd_wnd, seg_ack) && seq_le(seg_ack, snd_nxt);
}

}  // namespace sluice::dp::net::tcp
