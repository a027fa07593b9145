// A byte queue over mbuf segments: what a proxy connection has received and not yet consumed.
// The TCP stack hands over payload as (mbuf, offset, length) views; append() trims each view to
// its payload so the queue holds exactly the stream's bytes, zero-copy. take() splits off the
// first n bytes as an mbuf chain for tcp_stack::send_mbuf (forwarding without copying; a
// segment cut in the middle is shared through an indirect mbuf), consume() frees them.
//
// Threading: owned by one connection on one worker lcore. Never allocates from the heap; the
// only mbufs it allocates are indirect headers for mid-segment splits and copies of shared
// views (from `pool`, the worker's mbuf pool). Every operation is O(segments touched).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace sluice::dp::proxy {

class byte_chain {
public:
    byte_chain() = default;
    byte_chain(const byte_chain&) = delete;
    byte_chain& operator=(const byte_chain&) = delete;
    ~byte_chain() { clear(); }

    [[nodiscard]] std::uint32_t size() const noexcept { return len_; }
    [[nodiscard]] bool empty() const noexcept { return len_ == 0; }
    [[nodiscard]] const rte_mbuf* head() const noexcept { return head_; }

    // Takes ownership of one reference on `m`; keeps bytes [off, off+len) of it (a chain is
    // followed). A view on a shared mbuf (refcount > 1, or indirect) is copied so that trimming
    // never changes bytes another owner sees. False (and `m` freed) when a copy is needed and
    // `pool` is empty.
    bool append(rte_mbuf* m, std::uint32_t off, std::uint32_t len, rte_mempool* pool) noexcept;

    // Takes ownership of a chain made by take() (segments linked through `next`), appending
    // its segments as they are.
    void adopt(rte_mbuf* m) noexcept {
        while (m != nullptr) {
            rte_mbuf* next = m->next;
            push_seg(m);
            m = next;
        }
    }
    // Frees the first n bytes (n <= size()).
    void consume(std::uint32_t n) noexcept;
    // Splits off the first n bytes (0 < n <= size()) as a chain whose segments are linked
    // through `next` (pkt_len/nb_segs of its head set). nullptr if an indirect mbuf could not
    // be allocated; the queue is then unchanged.
    [[nodiscard]] rte_mbuf* take(std::uint32_t n, rte_mempool* pool) noexcept;
    // Copies bytes [off, off+n) out (for the rare field that spans segments).
    void copy_out(std::uint32_t off, std::uint32_t n, char* dst) const noexcept;
    // Calls fn(const char* p, uint32_t n) for each contiguous run of [off, size()) until it
    // returns false.
    template <typename Fn>
    void for_each_run(std::uint32_t off, Fn&& fn) const noexcept {
        for (const rte_mbuf* s = head_; s != nullptr; s = s->next) {
            const std::uint32_t dl = s->data_len;
            if (off >= dl) {
                off -= dl;
                continue;
            }
            if (!fn(rte_pktmbuf_mtod_offset(s, const char*, off), dl - off)) {
                return;
            }
            off = 0;
        }
    }
    // A view of [off, off+n): points into the mbuf when the range lies in one segment, else
    // copies into `scratch` (cap bytes; truncated to cap).
    [[nodiscard]] std::string_view view(std::uint32_t off, std::uint32_t n, char* scratch,
                                        std::uint32_t cap) const noexcept;
    void clear() noexcept;

private:
    void push_seg(rte_mbuf* s) noexcept;
    rte_mbuf* head_ = nullptr;
    rte_mbuf* tail_ = nullptr;
    std::uint32_t len_ = 0;
};

}  // namespace sluice::dp::proxy
