// RFC 6298 RTO computation. Owning lcore only.
#include "net/tcp/rtt.hh"

#include <algorithm>

namespace sluice::dp::net::tcp {

rtt_estimator::rtt_estimator(const rto_config& cfg) noexcept : cfg_(cfg) {
    cfg_.max_us = std::max(cfg_.max_us, rto_max_floor_us);
    cfg_.min_us = std::min(cfg_.min_us, cfg_.max_us);
    rto_us_ = clamp(cfg_.initial_us);  // RFC 6298 §2.1
}

std::uint32_t rtt_estimator::clamp(std::uint64_t rto) const noexcept {
    // RFC 6298 §2.4 (lower bound, configurable) and §2.5 (upper bound).
    return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rto, cfg_.min_us, cfg_.max_us));
}

void rtt_estimator::on_sample(std::uint32_t rtt_us) noexcept {
    // Keep samples within what the scaled fields can hold (8 * 2^28 us ~ 36 min is far beyond
    // any RTO we allow).
    const std::uint32_t r = std::clamp<std::uint32_t>(rtt_us, 1, 1U << 28);
    if (!has_sample_) {
        // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
        srtt8_ = r << 3;
        rttvar4_ = r << 1;
        has_sample_ = true;
    } else {
        // RFC 6298 §2.3, in this order (RTTVAR uses the old SRTT):
        //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4
        //   SRTT <- (1 - alpha) * SRTT + alpha * R',             alpha = 1/8
        const std::uint32_t srtt = srtt8_ >> 3;
        const std::uint32_t err = srtt > r ? srtt - r : r - srtt;
        rttvar4_ = rttvar4_ - (rttvar4_ >> 2) + err;
        srtt8_ = srtt8_ - (srtt8_ >> 3) + r;
    }
    // RFC 6298 §2.2/§2.3: RTO <- SRTT + max(G, K*RTTVAR), K = 4.
    backoffs_ = 0;
    rto_us_ = clamp(std::uint64_t{srtt8_ >> 3} + std::max(cfg_.granularity_us, rttvar4_));
}

void rtt_estimator::on_timeout() noexcept {
    // RFC 6298 §5.5: back off the timer, bounded by the maximum.
    ++backoffs_;
    rto_us_ = clamp(std::uint64_t{rto_us_} * 2);
}

void rtt_estimator::on_established_after_syn_loss() noexcept {
    // RFC 6298 §5.7: re-initialize to 3 s, but only while no sample exists; an RTT measured
    // on the handshake (possible with timestamps) is better information.
    if (!has_sample_) {
        backoffs_ = 0;
        rto_us_ = clamp(std::max(cfg_.initial_us, rto_after_syn_loss_us));
    }
}

}  // namespace sluice::dp::net::tcp
