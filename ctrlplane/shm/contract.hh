// The shared-memory contract between the control plane and the dataplane: the one header both
// planes include. It fixes the byte layout of the two POSIX shm segments of an instance
//   /dev/shm/sluice-<instance>-config   written by the control plane, mapped read-only by lcores
//   /dev/shm/sluice-<instance>-stats    one 64-byte-aligned slot per lcore, written by that lcore,
//                                       then the endpoint-health table (one dataplane thread)
// and the publication protocol (docs/shm.md has the full story). Everything here is
// standard-layout and trivially copyable, uses offsets and never pointers, and is pinned with
// static_asserts so that a layout change cannot slip in without bumping abi_version.
// No code runs here; it is included by the dataplane, so it must stay exception-free.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sluice::cp::shm {

// Bump on any change to a struct in this file or to the meaning of a field. Attach refuses a
// segment whose version differs (no compatibility window: both planes ship from one tree).
// 2: the stats segment gained the endpoint-health table (stats_header.endpoints_*).
inline constexpr std::uint32_t abi_version = 2;

// "SLUICECF" and "SLUICEST" read as little-endian u64: recognisable in a hexdump.
inline constexpr std::uint64_t config_magic = 0x4643454349554c53ULL;
inline constexpr std::uint64_t stats_magic = 0x5453454349554c53ULL;

// Snapshot slots in the config segment. One is published; the others hold older snapshots that
// slow lcores may still read, or are free for the next one. Four lets the writer publish twice
// more while one lcore still finishes a burst on an old snapshot.
inline constexpr std::uint32_t config_slot_count = 4;

// Upper bound on lcores (slots in the stats segment). DPDK's default RTE_MAX_LCORE is 128.
inline constexpr std::uint32_t max_lcores = 128;

// Payload slots start page-aligned so each snapshot can be mapped and prefetched on its own.
inline constexpr std::uint64_t page_size = 4096;

// published word = generation << slot_bits | slot index. Generation 0 means "nothing yet".
inline constexpr unsigned slot_bits = 8;
inline constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;
constexpr std::uint64_t pack_published(std::uint64_t generation, std::uint32_t slot) noexcept {
    return (generation << slot_bits) | slot;
}
constexpr std::uint64_t published_generation(std::uint64_t word) noexcept {
    return word >> slot_bits;
}
constexpr std::uint32_t published_slot(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word & slot_mask);
}

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "shm atomics must be lock-free: a lock inside shared memory dies with its owner");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::int32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint64_t>) == 8 && alignof(std::atomic<std::uint64_t>) == 8);

// ---- config segment ---------------------------------------------------------------------------

// Written only by the control plane. generation/size/checksum are stored before the release
// store of config_header::published that makes the slot visible; offset/capacity never change.
struct alignas(64) slot_meta {
    std::atomic<std::uint64_t> generation;  // snapshot held in the slot; 0 = never used
    std::uint64_t offset;                   // from segment start, page-aligned
    std::uint64_t capacity;                 // bytes available at offset
    std::atomic<std::uint64_t> size;        // bytes of payload
    std::atomic<std::uint64_t> checksum;    // FNV-1a 64 of the payload bytes
    std::uint8_t reserved[24];
};
static_assert(sizeof(slot_meta) == 64);
static_assert(offsetof(slot_meta, generation) == 0);
static_assert(offsetof(slot_meta, offset) == 8);
static_assert(offsetof(slot_meta, capacity) == 16);
static_assert(offsetof(slot_meta, size) == 24);
static_assert(offsetof(slot_meta, checksum) == 32);

struct config_header {
    // Line 0: identity, written once by the creator before the segment gets its public name.
    std::uint64_t magic;
    std::uint32_t abi_version;
    std::uint32_t header_size;     // sizeof(config_header)
    std::uint64_t segment_size;    // whole file
    std::uint32_t slot_count;      // config_slot_count
    std::uint32_t slot_meta_size;  // sizeof(slot_meta)
    std::uint64_t slot_capacity;   // bytes per payload slot
    std::uint8_t reserved0[24];
    // Line 1: the publication word, alone on its line because every lcore loads it per poll.
    alignas(64) std::atomic<std::uint64_t> published;
    std::atomic<std::int32_t> writer_pid;  // informational: last control plane that published
    std::uint8_t reserved1[52];
    slot_meta slots[config_slot_count];
};
static_assert(std::is_standard_layout_v<config_header>);
static_assert(sizeof(config_header) == 128 + 64 * config_slot_count);
static_assert(offsetof(config_header, magic) == 0);
static_assert(offsetof(config_header, abi_version) == 8);
static_assert(offsetof(config_header, header_size) == 12);
static_assert(offsetof(config_header, segment_size) == 16);
static_assert(offsetof(config_header, slot_count) == 24);
static_assert(offsetof(config_header, slot_meta_size) == 28);
static_assert(offsetof(config_header, slot_capacity) == 32);
static_assert(offsetof(config_header, published) == 64);
static_assert(offsetof(config_header, writer_pid) == 72);
static_assert(offsetof(config_header, slots) == 128);

// First payload slot; later ones follow at slot_capacity strides (slot_capacity is page-rounded).
inline constexpr std::uint64_t config_payload_offset = page_size;
static_assert(sizeof(config_header) <= config_payload_offset);

// ---- stats segment ----------------------------------------------------------------------------

// Counters each lcore keeps. Append only (before counter_count) and bump abi_version.
enum class counter : std::uint32_t {
    polls,
    rx_packets,
    tx_packets,
    rx_bytes,
    tx_bytes,
    drops,
    requests,
    responses_2xx,
    responses_4xx,
    responses_5xx,
    rate_limited,
    breaker_open,
    config_switches,    // snapshots adopted
    snapshot_overruns,  // lcore found its snapshot slot reused under it (it was declared dead)
    stream_idle_timeouts,  // gateway: a body stalled for stream_idle (a spare slot: same layout)
    count_,
};
inline constexpr std::uint32_t counter_count = 16;
static_assert(static_cast<std::uint32_t>(counter::count_) <= counter_count);

// Request latency histogram: bucket i counts latencies in [2^i, 2^(i+1)) ns; the last bucket
// takes everything longer (2^31 ns ≈ 2.1 s).
inline constexpr std::uint32_t latency_buckets = 32;

enum class lcore_state : std::uint32_t { free = 0, registered = 1 };

// One per lcore, written only by that lcore (single writer), read by the control plane.
// Single-word fields are atomic stores without RMW (relaxed or release; plain movs on x86): each
// read sees a value the lcore wrote. counters/latency are additionally covered by seq, a seqcount:
// odd while the lcore updates them, so a reader wanting one consistent multi-word view retries.
struct alignas(64) lcore_stats {
    // Line 0: liveness and publication.
    std::atomic<std::uint32_t> state;        // lcore_state
    std::atomic<std::uint32_t> incarnation;  // bumped on each registration
    std::atomic<std::int32_t> pid;           // owning dataplane process
    std::uint32_t reserved0;
    std::atomic<std::uint64_t> applied_generation;  // snapshot this lcore uses (release store)
    std::atomic<std::uint64_t> heartbeat_ns;        // CLOCK_MONOTONIC of the last heartbeat
    std::atomic<std::uint64_t> seq;                 // seqcount over counters and latency
    std::uint8_t reserved1[24];
    // Lines 1..: monotonically increasing counters.
    std::atomic<std::uint64_t> counters[counter_count];
    std::atomic<std::uint64_t> latency[latency_buckets];
};
static_assert(std::is_standard_layout_v<lcore_stats>);
static_assert(sizeof(lcore_stats) == 64 + 8 * counter_count + 8 * latency_buckets);
static_assert(sizeof(lcore_stats) % 64 == 0);
static_assert(offsetof(lcore_stats, state) == 0);
static_assert(offsetof(lcore_stats, incarnation) == 4);
static_assert(offsetof(lcore_stats, pid) == 8);
static_assert(offsetof(lcore_stats, applied_generation) == 16);
static_assert(offsetof(lcore_stats, heartbeat_ns) == 24);
static_assert(offsetof(lcore_stats, seq) == 32);
static_assert(offsetof(lcore_stats, counters) == 64);
static_assert(offsetof(lcore_stats, latency) == 64 + 8 * counter_count);

struct alignas(64) stats_header {
    std::uint64_t magic;
    std::uint32_t abi_version;
    std::uint32_t header_size;  // sizeof(stats_header)
    std::uint64_t segment_size;
    std::uint32_t lcore_count;      // slots present
    std::uint32_t lcore_slot_size;  // sizeof(lcore_stats)
    std::uint64_t lcores_offset;    // from segment start
    std::uint64_t endpoints_offset;        // endpoint_table_header, then its entries
    std::uint32_t endpoint_capacity;       // entries present (endpoint_table_capacity)
    std::uint32_t endpoint_entry_size;     // sizeof(endpoint_health)
    std::uint8_t reserved[8];
};
static_assert(std::is_standard_layout_v<stats_header>);
static_assert(sizeof(stats_header) == 64);
static_assert(offsetof(stats_header, magic) == 0);
static_assert(offsetof(stats_header, abi_version) == 8);
static_assert(offsetof(stats_header, header_size) == 12);
static_assert(offsetof(stats_header, segment_size) == 16);
static_assert(offsetof(stats_header, lcore_count) == 24);
static_assert(offsetof(stats_header, lcore_slot_size) == 28);
static_assert(offsetof(stats_header, lcores_offset) == 32);
static_assert(offsetof(stats_header, endpoints_offset) == 40);
static_assert(offsetof(stats_header, endpoint_capacity) == 48);
static_assert(offsetof(stats_header, endpoint_entry_size) == 52);

inline constexpr std::uint64_t stats_lcores_offset = sizeof(stats_header);

// ---- endpoint-health table (stats segment, after the lcore slots) -----------------------------

// Rows in the table: process-wide, every endpoint of every cluster of the config in force.
// 1024 covers the gateway's own limits several times over for typical configs (256 endpoints
// per cluster, gateway_config.hh); endpoints beyond it are counted in `dropped`, not shown.
inline constexpr std::uint32_t endpoint_table_capacity = 1024;
// Cluster-name bytes kept per row; longer names are cut (endpoint_flag_name_truncated).
inline constexpr std::uint32_t endpoint_name_bytes = 64;

// Passive health (outlier detection), the breaker's od_state (dataplane/filters/breaker).
enum class endpoint_outlier : std::uint32_t { closed = 0, open = 1, half_open = 2 };
// Active health checks. Placeholder until the dataplane runs them: it writes `unknown`.
enum class endpoint_active : std::uint32_t { unknown = 0, healthy = 1, unhealthy = 2 };
inline constexpr std::uint32_t endpoint_flag_name_truncated = 1u << 0;

// Written by ONE dataplane thread (the gateway's config builder), read by the control plane.
// The whole table is covered by one seqcount (`seq`, odd while the writer rewrites it): a reader
// copies the header's count and the rows and retries unless it saw the same even seq before
// and after, so it never returns a torn table. Every field is an atomic word (relaxed loads and
// release stores, as in lcore_stats) so that a reader racing the writer reads stale words, never
// undefined ones.
struct alignas(64) endpoint_table_header {
    std::atomic<std::uint64_t> seq;                // seqcount over everything below and the rows
    std::atomic<std::uint64_t> updated_ns;         // CLOCK_MONOTONIC of the last commit
    std::atomic<std::uint64_t> config_generation;  // generation of the config described
    std::atomic<std::int32_t> writer_pid;          // dataplane process; 0 = never written
    std::atomic<std::uint32_t> count;              // valid rows, <= capacity
    std::atomic<std::uint32_t> dropped;            // endpoints left out (table full)
    std::uint32_t capacity;                        // endpoint_table_capacity (constant)
    std::uint8_t reserved[24];
};
static_assert(std::is_standard_layout_v<endpoint_table_header>);
static_assert(sizeof(endpoint_table_header) == 64);
static_assert(offsetof(endpoint_table_header, seq) == 0);
static_assert(offsetof(endpoint_table_header, updated_ns) == 8);
static_assert(offsetof(endpoint_table_header, config_generation) == 16);
static_assert(offsetof(endpoint_table_header, writer_pid) == 24);
static_assert(offsetof(endpoint_table_header, count) == 28);
static_assert(offsetof(endpoint_table_header, dropped) == 32);
static_assert(offsetof(endpoint_table_header, capacity) == 36);

// One endpoint. The name and address are byte arrays carried in u64 words (copied with memcpy,
// so byte i of the name is byte i in memory whatever the host's endianness).
struct alignas(64) endpoint_health {
    std::atomic<std::uint64_t> cluster[endpoint_name_bytes / 8];  // NUL-padded, not terminated
    std::atomic<std::uint64_t> address[2];         // 16 bytes, network order; IPv4 in bytes 0..3
    std::atomic<std::uint64_t> ejected_until_ns;   // CLOCK_MONOTONIC end of ejection; 0 = none
    std::atomic<std::uint32_t> times_ejected;
    std::atomic<std::uint32_t> consecutive_failures;
    std::atomic<std::uint32_t> port;            // host order
    std::atomic<std::uint32_t> family;          // 4 or 6
    std::atomic<std::uint32_t> outlier_state;   // endpoint_outlier
    std::atomic<std::uint32_t> active_health;   // endpoint_active
    std::atomic<std::uint32_t> endpoint_index;  // position in the cluster's endpoint list
    std::atomic<std::uint32_t> flags;           // endpoint_flag_*
    std::uint8_t reserved[8];
};
static_assert(std::is_standard_layout_v<endpoint_health>);
static_assert(sizeof(endpoint_health) == 128);
static_assert(offsetof(endpoint_health, cluster) == 0);
static_assert(offsetof(endpoint_health, address) == 64);
static_assert(offsetof(endpoint_health, ejected_until_ns) == 80);
static_assert(offsetof(endpoint_health, times_ejected) == 88);
static_assert(offsetof(endpoint_health, consecutive_failures) == 92);
static_assert(offsetof(endpoint_health, port) == 96);
static_assert(offsetof(endpoint_health, family) == 100);
static_assert(offsetof(endpoint_health, outlier_state) == 104);
static_assert(offsetof(endpoint_health, active_health) == 108);
static_assert(offsetof(endpoint_health, endpoint_index) == 112);
static_assert(offsetof(endpoint_health, flags) == 116);

// The table sits right after the last lcore slot; rows follow its header.
constexpr std::uint64_t stats_endpoints_offset(std::uint32_t lcore_count) noexcept {
    return stats_lcores_offset + std::uint64_t{lcore_count} * sizeof(lcore_stats);
}
constexpr std::uint64_t stats_segment_size(std::uint32_t lcore_count) noexcept {
    return stats_endpoints_offset(lcore_count) + sizeof(endpoint_table_header) +
           std::uint64_t{endpoint_table_capacity} * sizeof(endpoint_health);
}

// FNV-1a 64 over a payload: cheap, dependency-free, good enough to catch a torn or reused slot.
inline std::uint64_t fnv1a64(const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV offset basis
    for (std::size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;  // FNV prime
    }
    return h;
}

}  // namespace sluice::cp::shm
