// Hierarchical timer wheel: filing, cascading and expiry. Runs on the owning lcore only.
#include "timer_wheel.hh"

#include <bit>

namespace sluice::dp::core {

namespace {
constexpr std::uint64_t slot_mask = timer_wheel_slots - 1;
// Largest delay a level can hold is below 64^(level+1); beyond the top level we clamp.
constexpr unsigned total_bits = timer_wheel_levels * timer_wheel_slot_bits;
constexpr std::uint64_t max_delta = (std::uint64_t{1} << total_bits) - 1;
}  // namespace

timer_wheel::timer_wheel(std::uint64_t now) noexcept : now_(now) {
    for (auto& level : slots_) {
        for (auto& head : level) {
            list_init(head);
        }
    }
}

void timer_wheel::list_push_back(link& head, link& l) noexcept {
    l.prev = head.prev;
    l.next = &head;
    head.prev->next = &l;
    head.prev = &l;
}

void timer_wheel::list_unlink(link& l) noexcept {
    l.prev->next = l.next;
    l.next->prev = l.prev;
    l.next = l.prev = nullptr;
}

// Moves every element of `from` to the empty list `to`, leaving `from` empty.
void timer_wheel::list_splice_out(link& from, link& to) noexcept {
    if (list_empty(from)) {
        list_init(to);
        return;
    }
    to.next = from.next;
    to.prev = from.prev;
    to.next->prev = &to;
    to.prev->next = &to;
    list_init(from);
}

void timer_wheel::arm(timer_node& node, std::uint64_t expiry, timer_fn fn, void* ctx) noexcept {
    cancel(node);
    node.expiry_ = expiry > now_ ? expiry : now_ + 1;
    node.fn_ = fn;
    node.ctx_ = ctx;
    place(node);
    ++armed_;
}

bool timer_wheel::cancel(timer_node& node) noexcept {
    if (!node.armed()) {
        return false;
    }
    // The slot's occupancy bit stays set; advance() clears it when it finds the slot empty.
    list_unlink(node);
    --armed_;
    return true;
}

// Files an armed-but-unlinked node by its distance from now_. Precondition: expiry_ > now_.
void timer_wheel::place(timer_node& node) noexcept {
    std::uint64_t delta = node.expiry_ - now_;
    std::uint64_t at = node.expiry_;
    if (delta > max_delta) {
        // Beyond the wheel's span: park at the far edge, re-filed when that slot cascades.
        delta = max_delta;
        at = now_ + max_delta;
    }
    // Level l holds delta in [64^l, 64^(l+1)); delta >= 1 here.
    const unsigned level =
        (static_cast<unsigned>(std::bit_width(delta)) - 1) / timer_wheel_slot_bits;
    const auto slot = static_cast<unsigned>((at >> (level * timer_wheel_slot_bits)) & slot_mask);
    list_push_back(slots_[level][slot], node);
    occupied_[level] |= std::uint64_t{1} << slot;
}

// Re-files every timer of one slot relative to now_ (they all land in lower levels, or fire
// in this tick's level-0 slot when due now).
void timer_wheel::cascade(unsigned level, unsigned slot) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << slot;
    if ((occupied_[level] & bit) == 0) {
        return;
    }
    occupied_[level] &= ~bit;
    link pending;
    list_splice_out(slots_[level][slot], pending);
    while (!list_empty(pending)) {
        auto& node = static_cast<timer_node&>(*pending.next);
        list_unlink(node);
        if (node.expiry_ <= now_) {
            // Due in this very tick: level 0's current slot fires right after the cascade.
            list_push_back(slots_[0][now_ & slot_mask], node);
            occupied_[0] |= std::uint64_t{1} << (now_ & slot_mask);
        } else {
            place(node);
        }
    }
}

// Fires the level-0 slot for tick now_. The slot is first moved to a local list so that
// callbacks can arm into any slot (including this one, for a later rotation) and cancel timers
// still waiting in the local list.
std::size_t timer_wheel::fire_slot(unsigned slot) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << slot;
    if ((occupied_[0] & bit) == 0) {
        return 0;
    }
    occupied_[0] &= ~bit;
    link pending;
    list_splice_out(slots_[0][slot], pending);
    std::size_t fired = 0;
    while (!list_empty(pending)) {
        auto& node = static_cast<timer_node&>(*pending.next);
        list_unlink(node);
        if (node.expiry_ > now_) {
            // Defensive: never fire early (cannot happen with correct filing).
            place(node);
            continue;
        }
        --armed_;
        ++fired;
        node.fn_(*this, node, node.ctx_);
    }
    return fired;
}

// The first tick after now_ at which anything may happen: a level-0 slot falls due, or a
// level-l slot (l >= 1) must be cascaded, which happens at the ticks whose low 6l bits are zero
// and whose next 6 bits are the slot index. Returns UINT64_MAX when the wheel is empty.
std::uint64_t timer_wheel::next_event() const noexcept {
    std::uint64_t best = ~std::uint64_t{0};
    for (unsigned level = 0; level < timer_wheel_levels; ++level) {
        const std::uint64_t occ = occupied_[level];
        if (occ == 0) {
            continue;
        }
        const unsigned shift = level * timer_wheel_slot_bits;
        const std::uint64_t first_unit = (now_ >> shift) + 1;  // first aligned tick > now_
        const auto rot = std::rotr(occ, static_cast<int>(first_unit & slot_mask));
        const std::uint64_t unit = first_unit + static_cast<unsigned>(std::countr_zero(rot));
        const std::uint64_t tick = unit << shift;
        if (tick < best) {
            best = tick;
        }
    }
    return best;
}

std::size_t timer_wheel::advance(std::uint64_t now_ticks) noexcept {
    if (in_advance_) {
        return 0;  // re-entrant call from a callback: refused, see the contract
    }
    in_advance_ = true;
    std::size_t fired = 0;
    while (now_ < now_ticks) {
        const std::uint64_t t = next_event();
        if (t > now_ticks) {
            break;
        }
        now_ = t;
        // Cascade every level whose slot boundary this tick is, lowest first: a timer moved
        // down from level l+1 never needs level l's slot for this same tick (it would be due
        // within 64 ticks and so go to level 0).
        for (unsigned level = 1; level < timer_wheel_levels; ++level) {
            const unsigned shift = level * timer_wheel_slot_bits;
            if ((t & ((std::uint64_t{1} << shift) - 1)) != 0) {
                break;
            }
            cascade(level, static_cast<unsigned>((t >> shift) & slot_mask));
        }
        fired += fire_slot(static_cast<unsigned>(t & slot_mask));
    }
    if (now_ < now_ticks) {
        now_ = now_ticks;
    }
    in_advance_ = false;
    return fired;
}

}  // namespace sluice::dp::core
