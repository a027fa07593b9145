// TCP tail loss probe (RFC 8985 §7) for the sending side. Runs on the lcore that owns the
// connection, from the output path, the ACK path and the retransmission timer.
//
// When the last segments of a flight are lost no duplicate ACK or SACK comes back, and only the
// RTO (at least 200 ms, then backed off, with cwnd collapsed to one segment) would recover. TLP
// instead sends one probe segment a probe timeout (PTO, about two round trips) after the last
// transmission, so that the peer's answer (a SACK above the hole) starts fast recovery.
//
// The PTO shares the TCB's retransmission timer, as in Linux: `tlp_armed` says that rtx_timer
// holds the PTO, and `rto_deadline` when the RTO it stands in for is due; the PTO is never
// later than that. Scope, kept small on purpose:
// - only connections that negotiated SACK and have an RTT sample, in ESTABLISHED or CLOSE-WAIT
//   (no probe once our FIN is out: the RTO covers the FIN as before);
// - one probe per episode (§7.3), none in loss recovery or after an RTO (§7.2);
// - no RACK (RFC 8985 §6): a probe SACKed above unacknowledged data marks that data lost
//   (it was all sent at least a PTO, two SRTTs, before the probe, which is RACK's test), and
//   RFC 6675 recovery takes over; a probe retransmission that turns out to be the only repair
//   cuts cwnd as a fast retransmit would (§7.4.2).
#include <algorithm>

#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

namespace {

// RFC 8985 §7.2: when a probe may be scheduled (and still sent when the PTO fires). SND.NXT ==
// SND.MAX rules out go-back-N after an RTO and a zero-window probe; retries == 0 rules out RTO
// recovery; tlp_out is "one probe per episode" (§7.3).
bool tlp_allowed(const tcp_params& p, const tcb& t) noexcept {
    return p.tlp && t.sack_ok && t.sack && t.cc && t.rtt.has_sample() && !t.tlp_out &&
           t.retries == 0 && !t.cc->in_recovery() && !t.sack->in_recovery() &&
           (t.state == tcp_state::established || t.state == tcp_state::close_wait) &&
           t.flight() > 0 && t.snd_nxt == t.snd_max && !t.fin_sent;
}

}  // namespace

void tcp_detail::schedule_tlp(tcp_stack& s, tcb& t) noexcept {
    if (!tlp_allowed(s.params_, t)) {
        return;  // the timer keeps the RTO (arm_rtx cleared tlp_armed)
    }
    if (!t.rtx_timer.armed()) {
        arm_rtx(s, t);
    }
    const std::uint64_t now = s.wheel_.now();
    if (t.rto_deadline <= now) {
        return;
    }
    // RFC 8985 §7.2: PTO = 2 * SRTT; with one segment in flight the peer may be holding its ACK
    // for a second segment, so the worst-case delayed-ACK time is added.
    std::uint64_t pto = (2ULL * t.rtt.srtt_us() + 999) / 1000;
    if (t.flight() <= t.smss) {
        pto += s.params_.tlp_max_ack_delay_ms;
    }
    pto = std::max<std::uint64_t>(pto, s.params_.tlp_min_pto_ms);
    // Never later than the RTO would have fired (§7.2: then the probe goes at the RTO's time).
    const std::uint64_t at = std::min(now + pto, t.rto_deadline);
    t.rtx_timer.arm_after(s.wheel_, at - now, &on_rtx_timer, &t);
    t.tlp_armed = true;
}

bool tcp_detail::tlp_fire(tcp_stack& s, tcb& t) noexcept {
    t.tlp_armed = false;
    if (!tlp_allowed(s.params_, t)) {
        // Should not happen (leaving these conditions re-arms the RTO), but never lose the RTO.
        const std::uint64_t now = s.wheel_.now();
        if (t.rto_deadline > now) {
            t.rtx_timer.arm_after(s.wheel_, t.rto_deadline - now, &on_rtx_timer, &t);
            return true;
        }
        return false;
    }
    // RFC 8985 §7.3: new data if there is some and the peer's window takes it (cwnd is not
    // checked: the probe is allowed to go beyond it), else the highest-sequence segment sent.
    const std::uint32_t off = t.snd_nxt - t.snd_una;
    const seq_t data_end = t.snd_una + t.snd_queued;
    bool sent = false;
    bool rexmit = false;
    if (off < t.snd_queued && off < t.snd_wnd) {
        const std::uint32_t len =
            std::min<std::uint32_t>({t.smss, t.snd_queued - off, t.snd_wnd - off});
        const bool last = off + len == t.snd_queued;
        const bool fin = last && t.fin_queued;
        const std::uint8_t flags = th_ack | (last ? th_psh : 0) | (fin ? th_fin : 0);
        if (send_data(s, t, t.snd_nxt, len, flags)) {
            t.last_seg_start = t.snd_nxt;
            t.snd_nxt += len + (fin ? 1 : 0);
            t.fin_sent = t.fin_sent || fin;
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sent = true;
        }
    } else {
        // The last segment as it was sent, so that the peer's D-SACK for a needless probe
        // covers exactly the probe (§7.4.1).
        seq_t start = t.last_seg_start;
        if (!(seq_ge(start, t.snd_una) && seq_lt(start, data_end))) {
            start = t.snd_una;
        }
        if (data_end - start > t.smss) {
            start = data_end - t.smss;  // the MSS shrank since (RFC 1191)
        }
        const std::uint32_t len = data_end - start;
        if (len > 0 && send_data(s, t, start, len, th_ack | th_psh)) {
            stats(s, t.port).count(event::tcp_retransmit);
            t.rtt_timing = false;  // RFC 6298 §3 (Karn): no sample across a retransmission
            sent = true;
            rexmit = true;
        }
    }
    if (sent) {
        stats(s, t.port).count(event::tcp_tlp_probe);
        t.tlp_out = true;
        t.tlp_end = t.snd_max;  // §7.3: TLP.end_seq = SND.NXT
        t.tlp_is_retrans = rexmit;
        t.tlp_flight = t.flight();
    }
    // §7.3: after the probe the RTO, not another PTO, guards the flight.
    arm_rtx(s, t);
    return true;
}

bool tcp_detail::tlp_ack(tcp_stack& s, tcb& t, seq_t ack, bool new_ack, bool dsack,
                         seq_t dsack_right, std::uint32_t newly_sacked) noexcept {
    if (!t.tlp_out) {
        return false;
    }
    // RFC 8985 §7.4.1: a D-SACK for the probe retransmission means the original arrived too:
    // nothing was lost, no congestion response.
    if (dsack && t.tlp_is_retrans && dsack_right == t.tlp_end) {
        t.tlp_out = false;
        return false;
    }
    if (seq_lt(ack, t.tlp_end)) {
        // This ACK SACKed the probe (the highest SACKed octet is its end) while data below it
        // is still missing: that data was sent at least a PTO (2 * SRTT) before the probe and
        // did not arrive: lost (RFC 8985 §6.2's reasoning, limited to the probe). The caller
        // starts RFC 6675 recovery.
        return newly_sacked > 0 && seq_ge(t.sack->high_sacked(), t.tlp_end);
    }
    if (!t.tlp_is_retrans) {
        t.tlp_out = false;  // §7.4.2: a new-data probe; any loss was handled by recovery
        return false;
    }
    if (seq_gt(ack, t.tlp_end)) {
        // §7.4.2: the probe retransmission was acknowledged, later data too, and no D-SACK came
        // for it: the original was lost and the probe repaired it. Respond as a fast
        // retransmit would (ssthresh and cwnd cut once, no recovery left to run).
        t.cc->on_repaired_loss(std::max(t.tlp_flight, t.smss * 2U), t.snd_max);
        tlp_end_episode(s, t, true);
        return false;
    }
    // ack == TLP.end_seq. If it advanced SND.UNA, wait: a D-SACK for the probe may follow (the
    // original arrived). A pure duplicate here means both copies arrived (Linux does the same).
    if (!new_ack && newly_sacked == 0) {
        t.tlp_out = false;
    }
    return false;
}

void tcp_detail::tlp_end_episode(tcp_stack& s, tcb& t, bool recovered) noexcept {
    if (t.tlp_out && recovered) {
        stats(s, t.port).count(event::tcp_tlp_recovery);
    }
    t.tlp_out = false;
}

}  // namespace sluice::dp::net::tcp
