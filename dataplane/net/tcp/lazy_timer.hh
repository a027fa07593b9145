// lazy_timer: the TCB's retransmission and delayed-ACK timers (sluice::dp::net::tcp).
// Threading: embedded in a TCB, used only on the lcore that owns it and its timer wheel.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/timer/timer_wheel.hh"

namespace sluice::dp::net::tcp {

// A TCP timer that nearly every segment moves or stops but that seldom fires (retransmission,
// delayed ACK). Moving it later or stopping it is a store: the wheel node stays filed at its old,
// earlier expiry, and when that fires, due() re-files it at the current deadline or, if it was
// stopped, drops it. Only a move to an earlier tick (or a node not in the wheel) touches the
// wheel. So a keep-alive exchange costs no wheel unlink/link per segment; the price is one
// spurious wake-up per timer per period (an RTO, 40 ms), not per segment.
struct lazy_timer {
    core::timer_node node;       // in the wheel at an expiry <= deadline, or not in it
    std::uint64_t deadline = 0;  // wheel tick it is due at; 0: not armed (an armed one is >= 1)

    [[nodiscard]] bool armed() const noexcept { return deadline != 0; }
    // Due `delay` ticks from now (0 counts as 1, like timer_wheel::arm for a past expiry).
    void arm_after(core::timer_wheel& w, std::uint64_t delay, core::timer_fn fn,
                   void* ctx) noexcept {
        deadline = w.now() + std::max<std::uint64_t>(delay, 1);
        if (!node.armed() || node.expiry() > deadline) {
            w.arm(node, deadline, fn, ctx);
        }
    }
    void stop() noexcept { deadline = 0; }
    // Stops it and takes the node out of the wheel (before the TCB is freed).
    void cancel(core::timer_wheel& w) noexcept {
        deadline = 0;
        w.cancel(node);
    }
    // First thing in the wheel callback: true when it is due now (it is then disarmed); false
    // when it was stopped or moved later (then re-filed at its deadline).
    [[nodiscard]] bool due(core::timer_wheel& w, core::timer_fn fn, void* ctx) noexcept {
        if (deadline == 0) {
            return false;
        }
        if (deadline > w.now()) {
            w.arm(node, deadline, fn, ctx);
            return false;
        }
        deadline = 0;
        return true;
    }
};

}  // namespace sluice::dp::net::tcp
