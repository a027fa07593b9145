// The "health" request of the control socket: per-endpoint outlier state (closed / open /
// half-open, times ejected, consecutive failures, time left in the ejection) as the dataplane's
// config builder last published it in the stats segment's endpoint-health table
// (ctrlplane/shm/endpoint_table.hh). `sluicectl cluster health [NAME]` prints it (docs/cli.md).
// Daemon thread only; reads shared memory, never writes it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/stats_reader.hh"

namespace sluice::cp::daemon {

// A table older than this is reported with "stale": true. The builder publishes every ~100 ms,
// so 2 s is 20 missed publications: a stuck builder, not a busy one.
inline constexpr std::uint64_t health_stale_ns = 2'000'000'000;

// The reply: {"ok": true, "dataplane": {...}, "dropped", "stale", "endpoints": [...]}, or an
// error when no dataplane publishes the table (never did, or its process is gone) or when
// `cluster` (empty: all) names no cluster in it. now_ns: CLOCK_MONOTONIC.
[[nodiscard]] result<nlohmann::ordered_json> endpoint_health_json(const shm::stats_reader& st,
                                                                  const std::string& instance,
                                                                  const std::string& cluster,
                                                                  std::uint64_t now_ns,
                                                                  const shm::liveness_policy& p);

}  // namespace sluice::cp::daemon
