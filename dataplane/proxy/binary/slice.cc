// See slice.hh.
#include "proxy/binary/slice.hh"

#include <rte_mbuf.h>

#include <algorithm>

namespace sluice::dp::proxy::binary {

rte_mbuf* slice_chain(rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                      rte_mempool* pool) noexcept {
    while (m != nullptr && off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    std::uint32_t total = 0;
    std::uint16_t segs = 0;
    while (m != nullptr && len > 0) {
        const std::uint32_t n = std::min<std::uint32_t>(m->data_len - off, len);
        rte_mbuf* mi = rte_pktmbuf_alloc(pool);
        if (mi == nullptr || segs == UINT16_MAX) {
            rte_pktmbuf_free(mi);
            rte_pktmbuf_free(head);  // drops the references taken so far
            return nullptr;
        }
        // Attaches to the segment's direct buffer (or its external buffer) and takes a
        // reference on it; data_off/data_len come from `m`, then narrowed to our piece.
        rte_pktmbuf_attach(mi, m);
        mi->data_off = static_cast<std::uint16_t>(mi->data_off + off);
        mi->data_len = static_cast<std::uint16_t>(n);
        mi->pkt_len = n;
        if (head == nullptr) {
            head = mi;
        } else {
            tail->next = mi;
        }
        tail = mi;
        total += n;
        ++segs;
        len -= n;
        off = 0;
        m = m->next;
    }
    if (head != nullptr) {
        head->pkt_len = total;
        head->nb_segs = segs;
    }
    return head;
}

}  // namespace sluice::dp::proxy::binary
