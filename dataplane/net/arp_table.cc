// Neighbour cache storage; see arp_table.hh. Runs on the owning worker lcore.
#include "arp_table.hh"

#include <rte_errno.h>
#include <rte_hash_crc.h>

#include <atomic>
#include <string>

namespace sluice::dp::net {

namespace {
std::atomic<std::uint32_t> table_serial{0};
}

result<std::unique_ptr<arp_table>> arp_table::create(const arp_params& p, int socket_id) {
    if (p.entries == 0 || p.pending_max > arp_pending_limit) {
        return error{"arp table: entries must be > 0 and pending_max <= 8"};
    }
    // rte_hash names are global to the process; make each one unique.
    const std::string name =
        "sl_arp_" + std::to_string(table_serial.fetch_add(1, std::memory_order_relaxed));
    rte_hash_parameters hp{};
    hp.name = name.c_str();
    // rte_hash needs at least 8 entries and rounds to buckets of 8.
    hp.entries = p.entries < 8 ? 8 : p.entries;
    hp.key_len = sizeof(rte_be32_t);
    hp.hash_func = rte_hash_crc;
    hp.hash_func_init_val = 0;
    hp.socket_id = socket_id;
    rte_hash* h = rte_hash_create(&hp);
    if (h == nullptr) {
        return error{"arp table: rte_hash_create(" + name + ") failed: " +
                     rte_strerror(rte_errno)};
    }
    return std::unique_ptr<arp_table>(new arp_table(p, h));
}

arp_table::arp_table(const arp_params& p, rte_hash* h)
    : params_(p), hash_(h), entries_(static_cast<std::size_t>(rte_hash_max_key_id(h)) + 1) {}

arp_table::~arp_table() {
    for (auto& e : entries_) {
        for (std::uint8_t i = 0; i < e.npending; ++i) {
            rte_pktmbuf_free(e.pending[i]);
        }
        e.npending = 0;
    }
    rte_hash_free(hash_);
}

arp_entry* arp_table::lookup_slow(rte_be32_t ip) noexcept {
    const std::int32_t pos = rte_hash_lookup(hash_, &ip);
    if (pos < 0) {
        return nullptr;
    }
    last_ = &entries_[static_cast<std::size_t>(pos)];
    return last_;
}

arp_entry* arp_table::insert(rte_be32_t ip) noexcept {
    if (arp_entry* e = lookup(ip)) {
        return e;
    }
    if (used_ >= params_.entries) {
        return nullptr;
    }
    const std::int32_t pos = rte_hash_add_key(hash_, &ip);
    if (pos < 0) {
        return nullptr;
    }
    arp_entry& e = entries_[static_cast<std::size_t>(pos)];
    e = arp_entry{};
    e.ip = ip;
    e.in_use = true;
    last_ = &e;
    ++used_;
    ++incomplete_;
    return &e;
}

void arp_table::mark_complete(arp_entry* e) noexcept {
    if (!e->complete) {
        e->complete = true;
        --incomplete_;
    }
}

void arp_table::mark_incomplete(arp_entry* e) noexcept {
    if (e->complete) {
        e->complete = false;
        ++incomplete_;
    }
}

void arp_table::remove(arp_entry* e) noexcept {
    for (std::uint8_t i = 0; i < e->npending; ++i) {
        rte_pktmbuf_free(e->pending[i]);
    }
    if (!e->complete) {
        --incomplete_;
    }
    (void)rte_hash_del_key(hash_, &e->ip);
    if (last_ == e) {
        last_ = nullptr;
    }
    *e = arp_entry{};
    --used_;
}

}  // namespace sluice::dp::net
