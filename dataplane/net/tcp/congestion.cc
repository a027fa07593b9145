// NewReno and CUBIC window arithmetic. Owning lcore only; per ACK, no allocation.
#include "net/tcp/congestion.hh"

#include <algorithm>
#include <cmath>

namespace sluice::dp::net::tcp {

namespace {
// RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), Reno-friendly growth per RTT.
constexpr double cubic_alpha =
    3.0 * (1.0 - congestion_control::cubic_beta) / (1.0 + congestion_control::cubic_beta);
}  // namespace

namespace {
using algo_state = std::variant<detail::newreno_state, detail::cubic_state>;
algo_state make_algo(cc_algorithm algo) noexcept {
    if (algo == cc_algorithm::cubic) {
        return algo_state(std::in_place_type<detail::cubic_state>);
    }
    return algo_state(std::in_place_type<detail::newreno_state>);
}
}  // namespace

congestion_control::congestion_control(cc_algorithm algo, std::uint32_t smss, seq_t iss) noexcept
    : algo_(make_algo(algo)),
      smss_(smss == 0 ? 1 : smss),
      cwnd_(initial_window(smss_)),  // RFC 6928 §2
      recover_(iss) {                // RFC 6582 §3.2 step 1
}

void congestion_control::set_cwnd(std::uint64_t bytes) noexcept {
    cwnd_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(bytes, smss_, max_window_bytes));
}

double congestion_control::cubic_w_max() const noexcept {
    const auto* s = std::get_if<detail::cubic_state>(&algo_);
    return s == nullptr ? 0.0 : s->w_max;
}

double congestion_control::cubic_k() const noexcept {
    const auto* s = std::get_if<detail::cubic_state>(&algo_);
    return s == nullptr ? 0.0 : s->k;
}

void congestion_control::on_ack(std::uint32_t acked, std::uint64_t now_us,
                                std::uint32_t srtt_us) noexcept {
    if (acked == 0) {
        return;
    }
    if (cwnd_ < ssthresh_) {
        // RFC 5681 §3.1 eq. 2: cwnd += min(N, SMSS) per ACK in slow start.
        set_cwnd(std::uint64_t{cwnd_} + std::min(acked, smss_));
        return;
    }
    congestion_avoidance(acked, now_us, srtt_us);
}

void congestion_control::congestion_avoidance(std::uint32_t acked, std::uint64_t now_us,
                                              std::uint32_t srtt_us) noexcept {
    if (auto* nr = std::get_if<detail::newreno_state>(&algo_)) {
        // RFC 5681 §3.1 (and RFC 3465 §2.1): with byte counting, cwnd grows by one SMSS
        // once a full cwnd of bytes has been acknowledged.
        nr->bytes_acked += acked;
        if (nr->bytes_acked >= cwnd_) {
            nr->bytes_acked -= cwnd_;
            set_cwnd(std::uint64_t{cwnd_} + smss_);
        }
        return;
    }
    if (auto* cu = std::get_if<detail::cubic_state>(&algo_)) {
        cubic_avoidance(*cu, acked, now_us, srtt_us);
    }
}

void congestion_control::cubic_avoidance(detail::cubic_state& s, std::uint32_t acked,
                                         std::uint64_t now_us, std::uint32_t srtt_us) noexcept {
    const double mss = smss_;
    const double cwnd = cwnd_ / mss;
    if (!s.in_epoch) {
        // RFC 9438 §4.2: a congestion avoidance stage starts; remember when and at what cwnd.
        s.in_epoch = true;
        s.epoch_start_us = now_us;
        s.cwnd_epoch = cwnd;
        s.w_est = cwnd;  // §4.3: W_est = cwnd_epoch at the start of the stage
        if (s.after_timeout || s.w_max <= cwnd) {
            // §4.8: first stage after an RTO (and, likewise, a stage that starts at or above
            // the last W_max, e.g. the first one after slow start): K = 0, W_max = cwnd_epoch.
            s.w_max = cwnd;
            s.k = 0;
            s.after_timeout = false;
        } else {
            s.k = std::cbrt((s.w_max - s.cwnd_epoch) / cubic_c);  // §4.2 eq. 2
        }
    }
    const double acked_segs = acked / mss;
    // §4.3: W_est += alpha * segments_acked / cwnd; alpha becomes 1 once W_est reaches the
    // cwnd at the last congestion event.
    const double alpha = s.w_est >= s.cwnd_prior ? 1.0 : cubic_alpha;
    s.w_est += alpha * acked_segs / cwnd;

    const double t = static_cast<double>(now_us - s.epoch_start_us) / 1e6;
    const double rtt = srtt_us / 1e6;
    const auto w_cubic = [&](double at) {
        const double d = at - s.k;
        return cubic_c * d * d * d + s.w_max;  // §4.2 eq. 1
    };
    if (w_cubic(t) < s.w_est) {
        // §4.3: Reno-friendly region, cwnd follows the Reno estimate.
        set_cwnd(static_cast<std::uint64_t>(std::max(cwnd, s.w_est) * mss));
        return;
    }
    // §4.4/§4.5: aim one RTT ahead, bounded to [cwnd, 1.5 * cwnd]; grow by
    // (target - cwnd) / cwnd per SMSS acknowledged.
    const double target = std::clamp(w_cubic(t + rtt), cwnd, 1.5 * cwnd);
    const double next = cwnd + (target - cwnd) / cwnd * acked_segs;
    set_cwnd(static_cast<std::uint64_t>(next * mss));
}

void congestion_control::cut_ssthresh(std::uint32_t flight_size) noexcept {
    if (auto* nr = std::get_if<detail::newreno_state>(&algo_)) {
        // RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS).
        ssthresh_ = std::max(flight_size / 2, 2 * smss_);
        nr->bytes_acked = 0;
        return;
    }
    auto* cu = std::get_if<detail::cubic_state>(&algo_);
    if (cu == nullptr) {
        return;  // unreachable: the variant has two alternatives
    }
    auto& s = *cu;
    const double cwnd = cwnd_ / static_cast<double>(smss_);
    // RFC 9438 §4.7 fast convergence: a flow whose W_max keeps shrinking releases bandwidth.
    s.w_max = cwnd < s.w_max ? cwnd * (1.0 + cubic_beta) / 2.0 : cwnd;
    s.cwnd_prior = cwnd;
    // RFC 9438 §4.6: ssthresh = flight_size * beta_cubic, at least 2 segments. (Using
    // FlightSize rather than cwnd keeps an application-limited flow from keeping a window it
    // never used; §4.6 requires extra care from implementations that use cwnd.)
    ssthresh_ = std::max(static_cast<std::uint32_t>(flight_size * cubic_beta), 2 * smss_);
    s.in_epoch = false;
}

void congestion_control::enter_recovery(std::uint32_t flight_size, seq_t snd_nxt,
                                        recovery_mode mode) noexcept {
    cut_ssthresh(flight_size);
    recover_ = snd_nxt;  // RFC 6582 §3.2 step 2
    mode_ = mode;
    in_recovery_ = true;
    partial_seen_ = false;
    if (mode == recovery_mode::newreno) {
        set_cwnd(std::uint64_t{ssthresh_} + 3ULL * smss_);  // RFC 5681 §3.2 step 3
    } else {
        set_cwnd(ssthresh_);  // RFC 6675 §5 step 4.2 (pipe limits sending, not inflation)
    }
}

void congestion_control::on_repaired_loss(std::uint32_t flight_size, seq_t snd_nxt) noexcept {
    (void)snd_nxt;
    cut_ssthresh(flight_size);
    set_cwnd(std::min(cwnd_, ssthresh_));
}

void congestion_control::on_dupack_in_recovery() noexcept {
    if (in_recovery_ && mode_ == recovery_mode::newreno) {
        set_cwnd(std::uint64_t{cwnd_} + smss_);  // RFC 5681 §3.2 step 4
    }
}

recovery_ack congestion_control::on_ack_in_recovery(seq_t ack, std::uint32_t acked,
                                                    std::uint32_t flight_after) noexcept {
    if (seq_ge(ack, recover_)) {
        // RFC 6582 §3.2 step 5, full acknowledgment: cwnd = min(ssthresh,
        // max(FlightSize, SMSS) + SMSS) (option 1, avoids a burst) and leave fast recovery.
        // RFC 6675 §5: the SACK scheme leaves recovery at the same point with cwnd = ssthresh.
        if (mode_ == recovery_mode::newreno) {
            set_cwnd(std::min<std::uint64_t>(ssthresh_,
                                             std::uint64_t{std::max(flight_after, smss_)} + smss_));
        } else {
            set_cwnd(ssthresh_);
        }
        in_recovery_ = false;
        return recovery_ack::full;
    }
    if (mode_ == recovery_mode::newreno) {
        // RFC 6582 §3.2 step 5, partial acknowledgment: deflate cwnd by the newly acked
        // bytes, add back one SMSS if at least one SMSS was acked.
        std::uint64_t w = cwnd_ > acked ? cwnd_ - acked : 0;
        if (acked >= smss_) {
            w += smss_;
        }
        set_cwnd(w);
    }
    const bool first = !partial_seen_;
    partial_seen_ = true;
    return first ? recovery_ack::first_partial : recovery_ack::partial;
}

void congestion_control::on_rto(std::uint32_t flight_size, seq_t snd_nxt, bool repeated) noexcept {
    // RFC 5681 §3.1: after a repeated timeout of the same segment ssthresh is held constant.
    if (!repeated) {
        cut_ssthresh(flight_size);
    }
    if (auto* s = std::get_if<detail::cubic_state>(&algo_)) {
        s->after_timeout = true;  // RFC 9438 §4.8
        s->in_epoch = false;
    }
    set_cwnd(smss_);     // RFC 5681 §3.1: LW = 1 SMSS
    recover_ = snd_nxt;  // RFC 6582 §4 (and §3.2 step 1): no fast retransmit for this window
    in_recovery_ = false;
}

}  // namespace sluice::dp::net::tcp
