// Control-plane reads of the stats segment (control-plane threads).
#include "ctrlplane/shm/stats_reader.hh"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill(2)

#include <cerrno>

namespace sluice::cp::shm {

bool pid_alive(std::int32_t pid) noexcept {
    if (pid <= 0) {
        return false;
    }
    // EPERM: exists but belongs to someone else (e.g. dataplane as another user): alive.
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

lcore_status read_status(const lcore_stats& s, std::uint32_t lcore, std::uint64_t now_ns,
                         const liveness_policy& p) noexcept {
    lcore_status st;
    st.lcore = lcore;
    st.registered = s.state.load(std::memory_order_acquire) ==
                    static_cast<std::uint32_t>(lcore_state::registered);
    st.pid = s.pid.load(std::memory_order_relaxed);
    st.incarnation = s.incarnation.load(std::memory_order_relaxed);
    st.applied_generation = s.applied_generation.load(std::memory_order_acquire);
    st.heartbeat_ns = s.heartbeat_ns.load(std::memory_order_relaxed);
    if (!st.registered) {
        return st;
    }
    // A heartbeat from the future (clock skew between injected clocks) counts as fresh.
    bool fresh = st.heartbeat_ns >= now_ns || now_ns - st.heartbeat_ns <= p.heartbeat_timeout_ns;
    st.alive = fresh && (!p.check_pid || pid_alive(st.pid));
    return st;
}

result<stats_reader> stats_reader::attach(const segment_options& o) {
    auto m = open_stats(o, access::read_only);
    if (!m) {
        return m.err();
    }
    return stats_reader(std::move(m.value()));
}

stats_reader::stats_reader(mapping m) noexcept
    : map_(std::move(m)),
      hdr_(static_cast<const stats_header*>(map_.data())),
      lcores_(reinterpret_cast<const lcore_stats*>(static_cast<const std::byte*>(map_.data()) +
                                                   stats_lcores_offset)) {}

lcore_status stats_reader::status(std::uint32_t lcore, std::uint64_t now_ns,
                                  const liveness_policy& p) const noexcept {
    if (lcore >= hdr_->lcore_count) {
        return lcore_status{.lcore = lcore};
    }
    return read_status(lcores_[lcore], lcore, now_ns, p);
}

bool stats_reader::all_applied(std::uint64_t gen, std::uint64_t now_ns,
                               const liveness_policy& p) const noexcept {
    bool any = false;
    for (std::uint32_t i = 0; i < hdr_->lcore_count; ++i) {
        lcore_status st = read_status(lcores_[i], i, now_ns, p);
        if (!st.alive) {
            continue;
        }
        any = true;
        if (st.applied_generation < gen) {
            return false;
        }
    }
    return any;
}

endpoint_table_reader stats_reader::endpoint_table() const noexcept {
    const auto* base = static_cast<const std::byte*>(map_.data()) + hdr_->endpoints_offset;
    return {reinterpret_cast<const endpoint_table_header*>(base),
            reinterpret_cast<const endpoint_health*>(base + sizeof(endpoint_table_header))};
}

bool stats_reader::read_counters(std::uint32_t lcore, lcore_counters& out,
                                 int max_tries) const noexcept {
    if (lcore >= hdr_->lcore_count) {
        return false;
    }
    const lcore_stats& s = lcores_[lcore];
    for (int i = 0; i < max_tries; ++i) {
        std::uint64_t s1 = s.seq.load(std::memory_order_acquire);
        for (std::uint32_t c = 0; c < counter_count; ++c) {
            out.counters[c] = s.counters[c].load(std::memory_order_acquire);
        }
        for (std::uint32_t b = 0; b < latency_buckets; ++b) {
            out.latency[b] = s.latency[b].load(std::memory_order_acquire);
        }
        // Acquire loads above pair with the lcore's release stores: if any of them saw a value
        // written after begin(), this load sees the odd (or a later) seq. No fence needed.
        std::uint64_t s2 = s.seq.load(std::memory_order_relaxed);
        if ((s1 & 1) == 0 && s1 == s2) {
            return true;
        }
    }
    return false;
}

}  // namespace sluice::cp::shm
