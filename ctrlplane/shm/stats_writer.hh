// Dataplane side of the stats segment. stats_segment::attach runs on the dataplane main thread
// at start; each lcore then registers its own slot and owns the returned lcore_stats_writer.
// The writer's methods run on that lcore only (single writer): plain relaxed loads and stores,
// no RMW, no fences; release stores where a reader must see earlier writes first.
#pragma once

#include <bit>
#include <bitset>
#include <cstdint>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/contract.hh"
#include "ctrlplane/shm/endpoint_table.hh"
#include "ctrlplane/shm/segment.hh"

namespace sluice::cp::shm {

// Per-lcore handle onto its own slot. Cheap to copy, but exactly one lcore may use a given slot.
class lcore_stats_writer {
public:
    lcore_stats_writer() = default;
    explicit lcore_stats_writer(lcore_stats* s) noexcept : s_(s) {}

    // Tell the control plane we are alive. Call from the poll loop at least every 10 ms
    // (liveness_policy::heartbeat_timeout_ns allows 1 s); now_ns is CLOCK_MONOTONIC.
    void heartbeat(std::uint64_t now_ns) noexcept {
        s_->heartbeat_ns.store(now_ns, std::memory_order_relaxed);
    }

    // Called after switching snapshots, between bursts: "I no longer touch any snapshot older
    // than gen". The release orders every read of older slots before the writer may reuse them.
    void report_applied(std::uint64_t gen) noexcept {
        s_->applied_generation.store(gen, std::memory_order_release);
    }

    // Seqcount bracket for a batch of counter/histogram updates (typically once per burst), so
    // readers can take a consistent multi-word copy. Counters updated outside a bracket are still
    // individually valid, only not mutually consistent.
    // No fences: counter stores are release stores (plain movs on x86), so a reader whose
    // acquire load sees a value written after begin() also sees the odd seq (see stats_reader).
    void begin() noexcept {
        std::uint64_t q = s_->seq.load(std::memory_order_relaxed);
        s_->seq.store(q + 1, std::memory_order_relaxed);
    }
    void commit() noexcept {
        std::uint64_t q = s_->seq.load(std::memory_order_relaxed);
        s_->seq.store(q + 1, std::memory_order_release);
    }

    // Single-writer increment: a load and a store, never a locked RMW.
    void add(counter c, std::uint64_t n = 1) noexcept {
        auto& a = s_->counters[static_cast<std::uint32_t>(c)];
        a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }
    void record_latency(std::uint64_t ns) noexcept {
        unsigned b = ns == 0 ? 0 : static_cast<unsigned>(std::bit_width(ns) - 1);
        if (b >= latency_buckets) {
            b = latency_buckets - 1;
        }
        auto& a = s_->latency[b];
        a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Clean shutdown: the slot stops counting for reclamation immediately.
    void deregister() noexcept {
        s_->state.store(static_cast<std::uint32_t>(lcore_state::free), std::memory_order_release);
    }

    [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }

private:
    lcore_stats* s_ = nullptr;
};

// The dataplane's read-write mapping of the stats segment (creates it if absent).
class stats_segment {
public:
    [[nodiscard]] static result<stats_segment> attach(const segment_options& o);

    // Claims slot `lcore` for this process. Refused if another live process holds it, or if it
    // was already claimed through this handle and not deregistered (two lcores sharing a slot).
    // A registration left by an earlier process with our pid (pid reuse, e.g. pid 1 in a
    // restarted container) is taken over. Resets the applied generation to 0 (pins every slot
    // until the first report_applied) and heartbeats.
    [[nodiscard]] result<lcore_stats_writer> register_lcore(std::uint32_t lcore,
                                                            std::uint64_t now_ns);

    [[nodiscard]] std::uint32_t lcore_count() const noexcept { return hdr_->lcore_count; }

    // The endpoint-health table's writer. Exactly one thread of the process may use it (the
    // gateway's config builder); the handle stays valid while this stats_segment lives.
    [[nodiscard]] endpoint_table_writer endpoint_table() noexcept;

private:
    explicit stats_segment(mapping m) noexcept;
    mapping map_;
    stats_header* hdr_ = nullptr;
    lcore_stats* lcores_ = nullptr;
    std::bitset<max_lcores> claimed_;  // slots registered through this handle
};

}  // namespace sluice::cp::shm
