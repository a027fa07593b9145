// The neighbour cache of one (worker, port): IPv4 next hop -> MAC, with packets held while a
// resolution is pending. Owned by one worker lcore; no locking. Entries live in a fixed array
// indexed by the rte_hash position of their key, so lookups and inserts never allocate.
//
// Entry life (RFC 826 plus the timers RFC 1122 §2.3.2.1 asks for):
//   incomplete: a request is out; up to `pending_max` packets wait; retried every `retry`
//               cycles, `max_retries` times, then the waiting packets are dropped
//               (arp_resolve_failed) and the entry is removed.
//   reachable:  has a MAC; removed `timeout` cycles after it was last confirmed by an ARP packet.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "../core/result.hh"

namespace sluice::dp::net {

// Linux holds 3 packets per unresolved neighbour (unres_qlen_bytes aside); we allow a few more.
inline constexpr std::uint8_t arp_pending_limit = 8;

struct arp_params {
    std::uint32_t entries = 1024;       // capacity per (worker, port)
    std::uint8_t pending_max = 4;       // packets held per unresolved next hop (<= 8)
    std::uint64_t timeout = 0;          // cycles until a reachable entry expires
    std::uint64_t retry = 0;            // cycles between requests for an incomplete entry
    std::uint8_t max_retries = 3;       // requests sent before giving up
};

struct arp_entry {
    rte_be32_t ip = 0;
    rte_ether_addr mac{};
    bool complete = false;
    bool in_use = false;
    std::uint8_t retries = 0;
    std::uint8_t npending = 0;
    std::uint64_t deadline = 0;  // incomplete: next retry; complete: expiry
    rte_mbuf* pending[arp_pending_limit]{};
};

class arp_table {
public:
    [[nodiscard]] static result<std::unique_ptr<arp_table>> create(const arp_params& p,
                                                                   int socket_id);
    ~arp_table();
    arp_table(const arp_table&) = delete;
    arp_table& operator=(const arp_table&) = delete;

    // The entry last found or inserted is answered without hashing: a gateway's frames mostly
    // go to one next hop (measured in bench/gateway/inproc_callgrind.py: the hash lookup was
    // ~120 instructions per sent frame).
    [[nodiscard]] arp_entry* lookup(rte_be32_t ip) noexcept {
        if (last_ != nullptr && last_->ip == ip) [[likely]] {
            return last_;
        }
        return lookup_slow(ip);
    }
    // Finds or creates an entry; nullptr when the table is full.
    [[nodiscard]] arp_entry* insert(rte_be32_t ip) noexcept;
    // Removes an entry and frees the packets still waiting on it (the caller counts them).
    void remove(arp_entry* e) noexcept;
    [[nodiscard]] std::uint32_t size() const noexcept { return used_; }
    [[nodiscard]] std::uint32_t incomplete() const noexcept { return incomplete_; }
    void mark_complete(arp_entry* e) noexcept;
    void mark_incomplete(arp_entry* e) noexcept;
    [[nodiscard]] const arp_params& params() const noexcept { return params_; }

    // Visits every in-use entry; `fn` may call remove() on the entry it is given.
    template <typename Fn>
    void for_each(Fn&& fn) noexcept {
        for (auto& e : entries_) {
            if (e.in_use) {
                fn(e);
            }
        }
    }

private:
    arp_table(const arp_params& p, rte_hash* h);
    [[nodiscard]] arp_entry* lookup_slow(rte_be32_t ip) noexcept;
    arp_params params_;
    rte_hash* hash_;
    std::vector<arp_entry> entries_;  // sized at creation; never grows
    std::uint32_t used_ = 0;
    std::uint32_t incomplete_ = 0;
    arp_entry* last_ = nullptr;  // an in-use entry, or null; cleared when it is removed
};

}  // namespace sluice::dp::net
