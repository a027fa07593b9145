// Hierarchical timer wheel, one per lcore (sluice::dp::core).
//
// Runs on the lcore that owns it; nothing here is thread-safe and nothing needs to be, because
// every timer belongs to state (a TCP control block, a pool entry) owned by the same lcore.
// Timers are intrusive: a `timer_node` lives inside its owner's struct, so arming and cancelling
// never allocate. Time is an abstract tick count that the caller supplies (`advance(now)`), so
// tests drive the wheel with an injected clock and the lcore loop converts its TSC to ticks.
//
// Layout: `timer_wheel_levels` levels of 64 slots. Level l holds timers due in
// [64^l, 64^(l+1)) ticks; when level 0 wraps, the due slot of level 1 is re-filed ("cascaded")
// into lower levels, and so on upward. Arm and cancel are O(1). advance() jumps straight to the
// next tick with work (a 64-bit occupancy mask per level finds it), so its cost is per due
// slot and per cascade, not per elapsed tick: an idle hour costs nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::dp::core {

class timer_wheel;
struct timer_node;

// Called on the owning lcore from inside `timer_wheel::advance`. The node is already disarmed,
// so the callback may re-arm it, arm or cancel any other timer of the same wheel, or let the
// owner be freed. It must not call `advance` on the same wheel.
using timer_fn = void (*)(timer_wheel& wheel, timer_node& node, void* ctx);

namespace detail {
// The links of an intrusive circular list; slot heads are bare links, nodes derive from it.
struct timer_link {
    timer_link* next = nullptr;
    timer_link* prev = nullptr;
};
}  // namespace detail

// Embedded in the owner's struct. Must stay at a fixed address while armed, and must be
// cancelled (or have fired) before its storage is reused.
struct timer_node : private detail::timer_link {
    timer_node() noexcept = default;
    // Copying would duplicate list links; owners hold nodes in place.
    timer_node(const timer_node&) = delete;
    timer_node& operator=(const timer_node&) = delete;
    ~timer_node() = default;

    // True between a successful arm and the firing or cancellation.
    [[nodiscard]] bool armed() const noexcept { return next != nullptr; }
    // The tick it is (or was last) due at.
    [[nodiscard]] std::uint64_t expiry() const noexcept { return expiry_; }

private:
    friend class timer_wheel;
    std::uint64_t expiry_ = 0;
    timer_fn fn_ = nullptr;
    void* ctx_ = nullptr;
};

// 6 levels x 6 bits = 2^36 ticks, about 795 days at 1 ms ticks. Longer delays are filed at the
// top level's far edge and re-filed when reached, so they still fire on time, just with
// extra cascades.
inline constexpr unsigned timer_wheel_levels = 6;
inline constexpr unsigned timer_wheel_slot_bits = 6;  // 64 slots: one uint64_t occupancy mask
inline constexpr unsigned timer_wheel_slots = 1U << timer_wheel_slot_bits;

class timer_wheel {
public:
    // `now` is the tick the wheel starts at; the first advance must not go backwards from it.
    explicit timer_wheel(std::uint64_t now = 0) noexcept;
    ~timer_wheel() = default;
    timer_wheel(const timer_wheel&) = delete;
    timer_wheel& operator=(const timer_wheel&) = delete;

    // Arms `node` to fire at tick `expiry` (absolute). If it was armed it is first cancelled.
    // An expiry at or before now() fires at the next tick processed (now() + 1), never during the
    // current advance step, so a callback that re-arms itself with "0 ticks" cannot spin.
    void arm(timer_node& node, std::uint64_t expiry, timer_fn fn, void* ctx) noexcept;
    // Arms `node` to fire `delay` ticks after now().
    void arm_after(timer_node& node, std::uint64_t delay, timer_fn fn, void* ctx) noexcept {
        arm(node, now_ + delay, fn, ctx);
    }
    // Disarms `node`. Safe on a node that never was armed, already fired, or was cancelled.
    // Returns whether it was armed.
    bool cancel(timer_node& node) noexcept;

    // Processes every tick in (now(), now_ticks], firing due timers in tick order, and returns
    // how many fired. A `now_ticks` at or before now() does nothing. Timers due in the same tick
    // fire in an unspecified order.
    std::size_t advance(std::uint64_t now_ticks) noexcept;

    [[nodiscard]] std::uint64_t now() const noexcept { return now_; }
    // Number of armed timers.
    [[nodiscard]] std::size_t size() const noexcept { return armed_; }

private:
    using link = detail::timer_link;

    void place(timer_node& node) noexcept;
    void cascade(unsigned level, unsigned slot) noexcept;
    std::size_t fire_slot(unsigned slot) noexcept;
    [[nodiscard]] std::uint64_t next_event() const noexcept;

    static void list_init(link& head) noexcept { head.next = head.prev = &head; }
    static bool list_empty(const link& head) noexcept { return head.next == &head; }
    static void list_push_back(link& head, link& l) noexcept;
    static void list_unlink(link& l) noexcept;
    static void list_splice_out(link& from, link& to) noexcept;

    std::uint64_t now_;
    std::size_t armed_ = 0;
    bool in_advance_ = false;
    // Bit s set if slot s of that level may be non-empty (cleared lazily when found empty).
    std::array<std::uint64_t, timer_wheel_levels> occupied_{};
    std::array<std::array<link, timer_wheel_slots>, timer_wheel_levels> slots_;
};

}  // namespace sluice::dp::core
