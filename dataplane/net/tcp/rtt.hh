// RFC 6298 retransmission-timeout estimator (sluice::dp::net::tcp).
//
// One per connection, owned by the connection's lcore; plain arithmetic, no clock of its own:
// the caller measures RTT samples with its injected clock and passes them in microseconds.
// SRTT and RTTVAR are kept scaled (8*SRTT, 4*RTTVAR, as in Jacobson's paper and Linux) so
// that alpha = 1/8 and beta = 1/4 are exact shifts.
#pragma once

#include <cstdint>

namespace sluice::dp::net::tcp {

struct rto_config {
    // RFC 6298 §2.4 says RTO >= 1 s; like Linux we default lower (200 ms, TCP_RTO_MIN), which
    // the RFC's own §2.4 note allows for as a deployment choice. Configurable per stack.
    std::uint32_t min_us = 200'000;
    // RFC 6298 §5.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds."
    // Values under 60 s are raised to 60 s.
    std::uint32_t max_us = 60'000'000;
    // RFC 6298 §2.1: initial RTO of 1 second.
    std::uint32_t initial_us = 1'000'000;
    // Clock granularity G of the caller's RTT measurements (RFC 6298 §2.2, §4); the dataplane
    // measures with 1 ms timer ticks.
    std::uint32_t granularity_us = 1'000;
};

inline constexpr std::uint32_t rto_max_floor_us = 60'000'000;      // RFC 6298 §5.5
inline constexpr std::uint32_t rto_after_syn_loss_us = 3'000'000;  // RFC 6298 §5.7

class rtt_estimator {
public:
    explicit rtt_estimator(const rto_config& cfg = {}) noexcept;

    // RFC 6298 §3 (Karn's algorithm): an RTT sample MUST NOT be taken from a segment that was
    // retransmitted, because the ACK is ambiguous, unless the echoed timestamp (RFC 7323 §4)
    // says which transmission it answers.
    [[nodiscard]] static constexpr bool sample_allowed(bool retransmitted,
                                                       bool from_timestamp) noexcept {
        return !retransmitted || from_timestamp;
    }

    // RFC 6298 §2.2 (first sample) and §2.3 (later samples); recomputes RTO and clears any
    // backoff (§5.7: a new RTT sample ends the doubling). A sample of 0 is taken as 1 us.
    void on_sample(std::uint32_t rtt_us) noexcept;

    // RFC 6298 §5.5: the retransmission timer expired: RTO <- min(2 * RTO, max).
    void on_timeout() noexcept;

    // RFC 6298 §5.7: the SYN (or SYN-ACK) was retransmitted and no RTT sample came back: when
    // data transfer starts, RTO is 3 s unless a sample has been taken since.
    void on_established_after_syn_loss() noexcept;

    [[nodiscard]] std::uint32_t rto_us() const noexcept { return rto_us_; }
    [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
    [[nodiscard]] std::uint32_t srtt_us() const noexcept { return srtt8_ >> 3; }
    [[nodiscard]] std::uint32_t rttvar_us() const noexcept { return rttvar4_ >> 2; }
    // Number of consecutive timeouts since the last sample (for giving up, RFC 9293 §3.8.3).
    [[nodiscard]] std::uint32_t backoffs() const noexcept { return backoffs_; }

private:
    [[nodiscard]] std::uint32_t clamp(std::uint64_t rto) const noexcept;

    rto_config cfg_;
    std::uint32_t srtt8_ = 0;    // 8 * SRTT, us
    std::uint32_t rttvar4_ = 0;  // 4 * RTTVAR, us (= K * RTTVAR with K = 4)
    std::uint32_t rto_us_;
    std::uint32_t backoffs_ = 0;
    bool has_sample_ = false;
};

}  // namespace sluice::dp::net::tcp
