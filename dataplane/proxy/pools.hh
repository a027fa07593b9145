// Fixed-size pools for the gateway's per-lcore objects (sessions, requests, upstream
// connections) and the per-lcore endpoint table that keeps idle upstream connections.
//
// Threading: one instance per worker lcore, used only there. Storage is allocated once at
// start; alloc/free are O(1) and never touch the heap.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <memory>

namespace sluice::dp::proxy {

// Objects are constructed once, at start, and reused: alloc() hands out an object in whatever
// state free() left it; callers reset the fields they use.
template <typename T>
class object_pool {
public:
    explicit object_pool(std::uint32_t n)
        : items_(std::make_unique<T[]>(n)), free_(std::make_unique<std::uint32_t[]>(n)), n_(n) {
        for (std::uint32_t i = 0; i < n; ++i) {
            free_[i] = n - 1 - i;
        }
        top_ = n;
    }
    [[nodiscard]] T* alloc() noexcept {
        if (top_ == 0) {
            return nullptr;
        }
        return &items_[free_[--top_]];
    }
    void free(T* p) noexcept { free_[top_++] = static_cast<std::uint32_t>(p - items_.get()); }
    [[nodiscard]] std::uint32_t in_use() const noexcept { return n_ - top_; }
    [[nodiscard]] std::uint32_t capacity() const noexcept { return n_; }
    [[nodiscard]] T& at(std::uint32_t i) noexcept { return items_[i]; }

private:
    std::unique_ptr<T[]> items_;
    std::unique_ptr<std::uint32_t[]> free_;
    std::uint32_t n_;
    std::uint32_t top_ = 0;
};

struct upstream_conn;

// Upstream endpoints this lcore talks to, keyed by address and port (not by cluster: a pooled
// connection to 10.0.0.1:80 serves any cluster that lists that endpoint, across config
// generations). Open addressing, never shrinks; 4096 endpoints per lcore.
struct endpoint_entry {
    rte_be32_t addr = 0;
    std::uint16_t port = 0;  // host order; 0: empty slot
    std::uint32_t open = 0;  // connections (busy + idle + connecting)
    std::uint32_t idle_count = 0;
    upstream_conn* idle = nullptr;  // most recently used first (LIFO keeps few conns warm)
};

class endpoint_table {
public:
    static constexpr std::uint32_t capacity = 4096;
    endpoint_table() : slots_(std::make_unique<endpoint_entry[]>(capacity)) {}
    // The entry for addr:port, created if absent; nullptr when the table is full.
    [[nodiscard]] endpoint_entry* get(rte_be32_t addr, std::uint16_t port) noexcept {
        std::uint32_t h = (addr * 2654435761u) ^ (port * 40503u);
        for (std::uint32_t i = 0; i < capacity; ++i) {
            endpoint_entry& e = slots_[(h + i) & (capacity - 1)];
            if (e.port == port && e.addr == addr) {
                return &e;
            }
            if (e.port == 0) {
                e.addr = addr;
                e.port = port;
                return &e;
            }
        }
        return nullptr;
    }
    template <typename Fn>
    void for_each(Fn&& fn) noexcept {
        for (std::uint32_t i = 0; i < capacity; ++i) {
            if (slots_[i].port != 0) {
                fn(slots_[i]);
            }
        }
    }

private:
    std::unique_ptr<endpoint_entry[]> slots_;
};

}  // namespace sluice::dp::proxy
