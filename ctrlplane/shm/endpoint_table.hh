// The endpoint-health table of the stats segment (contract.hh, docs/shm.md): per endpoint of
// every cluster in force, the breaker's outlier state (closed / open / half-open), how often it
// was ejected, its consecutive failures and when its ejection ends.
//
// Threading: exactly ONE dataplane thread writes the table (the gateway's config builder,
// dataplane/proxy/config_hub.cc) through one endpoint_table_writer; a second writer would break
// the seqcount. Its methods are noexcept, allocate nothing and make no system call except
// getpid() in commit(); the writer may batch rows between begin() and commit() for as long as it
// likes, but readers spin while it does, so keep the bracket short (fill, do not compute).
// Readers (endpoint_table_reader, control-plane threads) never write and retry until they copy
// the table between two equal even seq values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/shm/contract.hh"

namespace sluice::cp::shm {

// One row without its cluster name: what the writer passes and the reader returns.
struct endpoint_fields {
    std::uint8_t family = 4;                 // 4 or 6
    std::array<std::uint8_t, 16> address{};  // network order; IPv4 in bytes 0..3
    std::uint16_t port = 0;                  // host order
    std::uint32_t endpoint_index = 0;        // position in the cluster's endpoint list
    endpoint_outlier outlier = endpoint_outlier::closed;
    endpoint_active active = endpoint_active::unknown;
    std::uint32_t times_ejected = 0;
    std::uint32_t consecutive_failures = 0;
    std::uint64_t ejected_until_ns = 0;  // CLOCK_MONOTONIC; 0 = not ejected
};

struct endpoint_row : endpoint_fields {
    std::string cluster;             // at most endpoint_name_bytes bytes
    bool cluster_truncated = false;  // the name was longer and was cut
};

// Everything but the rows, from the same consistent copy.
struct endpoint_table_info {
    bool written = false;               // a dataplane has committed at least once
    std::int32_t writer_pid = 0;        // that dataplane
    std::uint64_t updated_ns = 0;       // CLOCK_MONOTONIC of its last commit
    std::uint64_t config_generation = 0;
    std::uint32_t dropped = 0;          // endpoints that did not fit
};

class endpoint_table_writer {
public:
    endpoint_table_writer() = default;
    endpoint_table_writer(endpoint_table_header* h, endpoint_health* rows) noexcept
        : h_(h), rows_(rows) {}

    // Starts a rewrite of the whole table (seq becomes odd): rows are then added in order.
    void begin(std::uint64_t config_generation) noexcept;
    // Appends one row; false (and counted in the header's `dropped`) once the table is full.
    // Names longer than endpoint_name_bytes are cut and flagged.
    bool add(std::string_view cluster, const endpoint_fields& f) noexcept;
    // Publishes the rows added since begin() (seq even again). now_ns: CLOCK_MONOTONIC.
    void commit(std::uint64_t now_ns) noexcept;

    [[nodiscard]] bool valid() const noexcept { return h_ != nullptr; }

private:
    endpoint_table_header* h_ = nullptr;
    endpoint_health* rows_ = nullptr;
    std::uint32_t n_ = 0;
    std::uint32_t dropped_ = 0;
    std::uint64_t gen_ = 0;
};

class endpoint_table_reader {
public:
    endpoint_table_reader() = default;
    endpoint_table_reader(const endpoint_table_header* h, const endpoint_health* rows) noexcept
        : h_(h), rows_(rows) {}

    // A consistent copy of the table (replacing `out`). False if the writer kept rewriting for
    // max_tries rounds (or died inside a rewrite): then `out` and `info` are left empty.
    [[nodiscard]] bool read(std::vector<endpoint_row>& out, endpoint_table_info& info,
                            int max_tries = 1000) const;

private:
    const endpoint_table_header* h_ = nullptr;
    const endpoint_health* rows_ = nullptr;
};

[[nodiscard]] std::string_view to_string(endpoint_outlier s) noexcept;  // closed|open|half_open
[[nodiscard]] std::string_view to_string(endpoint_active s) noexcept;   // unknown|healthy|...

}  // namespace sluice::cp::shm
