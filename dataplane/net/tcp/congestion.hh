// Congestion control: NewReno (RFC 5681, RFC 6582) and CUBIC (RFC 9438), selected per
// connection (sluice::dp::net::tcp).
//
// One per connection, on the connection's lcore. The window logic shared by both algorithms
// (slow start, IW10, fast recovery bookkeeping, RTO collapse) lives in `congestion_control`;
// the algorithms differ only in how ssthresh is cut and how cwnd grows in congestion
// avoidance, and those two steps dispatch on a `std::variant` (a jump on the index, no virtual
// call per ACK). Times are microseconds from the caller's injected clock; windows are bytes.
//
// Not done here (the connection state machine owns them): deciding what to retransmit (see
// sack.hh), restart after idle (RFC 5681 §4.1), undo of spurious reductions, HyStart++
// (RFC 9406; RFC 9438 §4.10 makes it optional, we use standard slow start).
#pragma once

#include <cstdint>
#include <variant>

#include "net/tcp/seq.hh"

namespace sluice::dp::net::tcp {

enum class cc_algorithm : std::uint8_t { newreno, cubic };

// How loss recovery runs: NewReno fast recovery with window inflation (RFC 5681 §3.2,
// RFC 6582) when the peer has no SACK, or pipe-limited SACK recovery (RFC 6675 §5), where cwnd
// stays at ssthresh and the sender compares it with pipe.
enum class recovery_mode : std::uint8_t { newreno, sack };

enum class recovery_ack : std::uint8_t {
    first_partial,  // RFC 6582 §3.2 step 5: retransmit the first unacked segment, reset the RTO
    partial,        // same, but do not reset the RTO timer again
    full,           // recovery is over
};

// Largest window TCP can advertise (RFC 7323 §2.3: 2^16 << 14): the "arbitrarily high"
// initial ssthresh of RFC 5681 §3.1, and a cap that keeps byte arithmetic in 32 bits.
inline constexpr std::uint32_t max_window_bytes = 1U << 30;

// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
[[nodiscard]] constexpr std::uint32_t initial_window(std::uint32_t smss) noexcept {
    const std::uint32_t floor = 2 * smss > 14600 ? 2 * smss : 14600;
    return 10 * smss < floor ? 10 * smss : floor;
}

class congestion_control;

namespace detail {

struct newreno_state {
    std::uint32_t bytes_acked = 0;  // RFC 3465 §2.1 appropriate byte counting
};

// RFC 9438 §4: all windows in segments, times in seconds.
struct cubic_state {
    double w_max = 0;       // cwnd before the last reduction (after fast convergence)
    double cwnd_prior = 0;  // cwnd when ssthresh was last set (§4.3 alpha switch)
    double cwnd_epoch = 0;  // cwnd at the start of this congestion avoidance stage
    double k = 0;           // §4.2 eq. 2, seconds
    double w_est = 0;       // §4.3 Reno-friendly estimate
    std::uint64_t epoch_start_us = 0;
    bool in_epoch = false;
    bool after_timeout = false;  // §4.8: next epoch uses K = 0, W_max = cwnd_epoch
};

}  // namespace detail

class congestion_control {
public:
    // RFC 9438 §4.6/§5: C and beta_cubic; §4.7 fast convergence on by default.
    static constexpr double cubic_c = 0.4;
    static constexpr double cubic_beta = 0.7;

    // `smss` is the sender MSS (RFC 5681 §2 SMSS); `iss` initializes RFC 6582's recover.
    congestion_control(cc_algorithm algo, std::uint32_t smss, seq_t iss) noexcept;

    // An ACK advanced SND.UNA by `acked` bytes outside loss recovery. RFC 5681 §3.1 slow start
    // (cwnd += min(acked, SMSS)) while cwnd < ssthresh, else the algorithm's congestion
    // avoidance. `srtt_us` feeds CUBIC's one-RTT look-ahead (RFC 9438 §4.4).
    void on_ack(std::uint32_t acked, std::uint64_t now_us, std::uint32_t srtt_us) noexcept;

    // RFC 6582 §3.2 step 2: a third duplicate ACK starts fast retransmit only if it covers
    // more than `recover` (so one window's losses, or an RTO's duplicates, cut cwnd once).
    [[nodiscard]] bool may_enter_recovery(seq_t ack) const noexcept {
        return !in_recovery_ && seq_gt(ack, recover_);
    }
    // Loss detected (third dup ACK, or RFC 6675 §5 IsLost): cut ssthresh (RFC 5681 §3.2 step 2
    // eq. 4 for NewReno, RFC 9438 §4.6 for CUBIC), set recover = SND.NXT (RFC 6582 §3.2 step
    // 2) and set cwnd: ssthresh + 3*SMSS (RFC 5681 §3.2 step 3) or ssthresh (RFC 6675 §5
    // step 4.2).
    void enter_recovery(std::uint32_t flight_size, seq_t snd_nxt, recovery_mode mode) noexcept;
    // RFC 5681 §3.2 step 4: each further duplicate ACK inflates cwnd by SMSS (NewReno mode).
    void on_dupack_in_recovery() noexcept;
    // An ACK advancing SND.UNA to `ack` during recovery, acking `acked` new bytes, leaving
    // `flight_after` bytes outstanding. RFC 6582 §3.2 step 5.
    recovery_ack on_ack_in_recovery(seq_t ack, std::uint32_t acked,
                                    std::uint32_t flight_after) noexcept;

    // RFC 8985 §7.4.2: a loss that a tail loss probe's retransmission alone repaired. The
    // response of a fast retransmit (ssthresh cut as in enter_recovery, cwnd = ssthresh at
    // most) with no recovery left to run. `recover` is left alone: moving it to SND.NXT would
    // keep later losses in this flight from fast retransmit (RTO only; measured at 5 % loss).
    void on_repaired_loss(std::uint32_t flight_size, seq_t snd_nxt) noexcept;

    // Retransmission timer expired. RFC 5681 §3.1 eq. 4 (ssthresh, held when this is a repeated
    // timeout of the same segment) and LW = 1 SMSS; RFC 6582 §3.2 step 1/§4: recover = SND.NXT;
    // RFC 9438 §4.8 for CUBIC.
    void on_rto(std::uint32_t flight_size, seq_t snd_nxt, bool repeated) noexcept;

    [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::uint32_t smss() const noexcept { return smss_; }
    [[nodiscard]] bool in_recovery() const noexcept { return in_recovery_; }
    [[nodiscard]] seq_t recover() const noexcept { return recover_; }
    [[nodiscard]] cc_algorithm algorithm() const noexcept {
        return std::holds_alternative<detail::cubic_state>(algo_) ? cc_algorithm::cubic
                                                                  : cc_algorithm::newreno;
    }
    // CUBIC internals for tests and stats (zero for NewReno).
    [[nodiscard]] double cubic_w_max() const noexcept;
    [[nodiscard]] double cubic_k() const noexcept;

private:
    void cut_ssthresh(std::uint32_t flight_size) noexcept;
    void congestion_avoidance(std::uint32_t acked, std::uint64_t now_us,
                              std::uint32_t srtt_us) noexcept;
    void cubic_avoidance(detail::cubic_state& s, std::uint32_t acked, std::uint64_t now_us,
                         std::uint32_t srtt_us) noexcept;
    void set_cwnd(std::uint64_t bytes) noexcept;

    std::variant<detail::newreno_state, detail::cubic_state> algo_;
    std::uint32_t smss_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_ = max_window_bytes;
    seq_t recover_;
    recovery_mode mode_ = recovery_mode::newreno;
    bool in_recovery_ = false;
    bool partial_seen_ = false;
};

}  // namespace sluice::dp::net::tcp
