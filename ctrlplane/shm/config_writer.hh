// Control-plane publisher of config snapshots. Runs on one control-plane thread; at most one
// writer per instance (an flock on the config segment, released by the kernel if the control
// plane dies, so a restarted control plane takes over and continues the generation sequence).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/contract.hh"
#include "ctrlplane/shm/segment.hh"
#include "ctrlplane/shm/stats_reader.hh"

namespace sluice::cp::shm {

class config_writer {
public:
    // Creates or attaches both segments of the instance and takes the writer lock.
    [[nodiscard]] static result<config_writer> open(const segment_options& o,
                                                    liveness_policy p = {});

    // Copies `payload` into a free slot and publishes it as generation() + 1 with a release store.
    // A slot is free when it is not the published one and every alive lcore has reported an
    // applied generation newer than the slot's (dead or unregistered lcores are ignored: see
    // liveness_policy). error_kind::busy: no slot is free yet, retry after lcores advance;
    // error_kind::invalid: payload larger than a slot. Nothing is changed on error.
    [[nodiscard]] result<std::uint64_t> publish(std::span<const std::byte> payload,
                                                std::uint64_t now_ns);

    // Last published generation (0 before the first publish).
    [[nodiscard]] std::uint64_t generation() const noexcept;
    [[nodiscard]] std::uint64_t slot_capacity() const noexcept { return hdr_->slot_capacity; }
    [[nodiscard]] const stats_reader& stats() const noexcept { return stats_; }
    [[nodiscard]] const liveness_policy& policy() const noexcept { return policy_; }
    // Bytes of the published snapshot (empty before the first publish). Lets a restarted control
    // plane see whether what is live already equals what it would publish.
    [[nodiscard]] std::span<const std::byte> published_payload() const noexcept;
    // True when either segment's path no longer names the file this writer mapped (removed, or
    // recreated by a restarted dataplane): the caller should reopen and republish.
    [[nodiscard]] bool segments_replaced() const noexcept;

private:
    config_writer(mapping cfg, stats_reader stats, liveness_policy p, std::string cfg_path,
                  std::string stats_path) noexcept;
    mapping cfg_;
    std::string cfg_path_;
    std::string stats_path_;
    config_header* hdr_ = nullptr;
    stats_reader stats_;
    liveness_policy policy_;
};

}  // namespace sluice::cp::shm
