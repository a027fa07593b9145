// Dataplane-side attach and lcore registration (dataplane main thread or the lcore itself, once).
#include "ctrlplane/shm/stats_writer.hh"

#include <fmt/format.h>
#include <unistd.h>

#include "ctrlplane/shm/stats_reader.hh"

namespace sluice::cp::shm {

result<stats_segment> stats_segment::attach(const segment_options& o) {
    auto m = open_stats(o, access::read_write);
    if (!m) {
        return m.err();
    }
    return stats_segment(std::move(m.value()));
}

stats_segment::stats_segment(mapping m) noexcept
    : map_(std::move(m)),
      hdr_(static_cast<stats_header*>(map_.data())),
      lcores_(reinterpret_cast<lcore_stats*>(static_cast<std::byte*>(map_.data()) +
                                             stats_lcores_offset)) {}

endpoint_table_writer stats_segment::endpoint_table() noexcept {
    auto* base = static_cast<std::byte*>(map_.data()) + hdr_->endpoints_offset;
    return {reinterpret_cast<endpoint_table_header*>(base),
            reinterpret_cast<endpoint_health*>(base + sizeof(endpoint_table_header))};
}

result<lcore_stats_writer> stats_segment::register_lcore(std::uint32_t lcore,
                                                         std::uint64_t now_ns) {
    if (lcore >= hdr_->lcore_count) {
        return error{fmt::format("lcore {} out of range: the stats segment has {} slots", lcore,
                                 hdr_->lcore_count)};
    }
    lcore_stats& s = lcores_[lcore];
    const std::int32_t me = ::getpid();
    const std::int32_t owner = s.pid.load(std::memory_order_relaxed);
    if (s.state.load(std::memory_order_acquire) ==
            static_cast<std::uint32_t>(lcore_state::registered) &&
        owner != me && pid_alive(owner)) {
        return error{fmt::format("lcore {} is already registered by live process {}", lcore, owner),
                     error_kind::busy};
    }
    if (claimed_[lcore] && s.state.load(std::memory_order_acquire) ==
                               static_cast<std::uint32_t>(lcore_state::registered)) {
        return error{fmt::format("lcore {} is already registered through this handle; "
                                 "deregister it first",
                                 lcore),
                     error_kind::busy};
    }
    // Fields first, state last (release): a reader that sees "registered" sees applied == 0 and
    // a fresh heartbeat, so it never mistakes a new registration for a stale one.
    s.applied_generation.store(0, std::memory_order_relaxed);
    s.heartbeat_ns.store(now_ns, std::memory_order_relaxed);
    s.pid.store(me, std::memory_order_relaxed);
    s.incarnation.store(s.incarnation.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
    s.state.store(static_cast<std::uint32_t>(lcore_state::registered), std::memory_order_release);
    claimed_.set(lcore);
    return lcore_stats_writer(&s);
}

}  // namespace sluice::cp::shm
