// See byte_chain.hh. Runs on the owning worker lcore.
#include "byte_chain.hh"

#include <algorithm>

namespace sluice::dp::proxy {

namespace {
// Detaches one segment from whatever chain it was in, as a standalone one-segment mbuf.
void make_single(rte_mbuf* s) noexcept {
    s->next = nullptr;
    s->nb_segs = 1;
    s->pkt_len = s->data_len;
}
}  // namespace

void byte_chain::push_seg(rte_mbuf* s) noexcept {
    make_single(s);
    if (tail_ == nullptr) {
        head_ = tail_ = s;
    } else {
        tail_->next = s;
        tail_ = s;
    }
    len_ += s->data_len;
}

bool byte_chain::append(rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                        rte_mempool* pool) noexcept {
    if (len == 0) {
        rte_pktmbuf_free(m);
        return true;
    }
    bool shared = false;
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
        if (RTE_MBUF_CLONED(s) || rte_mbuf_refcnt_read(s) != 1) {
            shared = true;
            break;
        }
    }
    if (shared) {
        rte_mbuf* c = rte_pktmbuf_copy(m, pool, off, len);
        rte_pktmbuf_free(m);
        if (c == nullptr) {
            return false;
        }
        m = c;
        off = 0;
    }
    // Walk the chain: drop segments before `off`, trim the rest to `len` bytes.
    rte_mbuf* s = m;
    while (s != nullptr && len > 0) {
        rte_mbuf* next = s->next;
        const std::uint32_t dl = s->data_len;
        if (off >= dl) {
            off -= dl;
            make_single(s);
            rte_pktmbuf_free_seg(s);
            s = next;
            continue;
        }
        s->data_off = static_cast<std::uint16_t>(s->data_off + off);
        const std::uint32_t take = std::min(dl - off, len);
        s->data_len = static_cast<std::uint16_t>(take);
        off = 0;
        len -= take;
        push_seg(s);
        s = next;
    }
    while (s != nullptr) {  // bytes past `len` (padding, or a FIN-less tail)
        rte_mbuf* next = s->next;
        make_single(s);
        rte_pktmbuf_free_seg(s);
        s = next;
    }
    return true;
}

void byte_chain::consume(std::uint32_t n) noexcept {
    n = std::min(n, len_);
    len_ -= n;
    while (n > 0 && head_ != nullptr) {
        const std::uint32_t dl = head_->data_len;
        if (n < dl) {
            head_->data_off = static_cast<std::uint16_t>(head_->data_off + n);
            head_->data_len = static_cast<std::uint16_t>(dl - n);
            head_->pkt_len = head_->data_len;
            return;
        }
        n -= dl;
        rte_mbuf* next = head_->next;
        head_->next = nullptr;
        rte_pktmbuf_free_seg(head_);
        head_ = next;
    }
    if (head_ == nullptr) {
        tail_ = nullptr;
    }
}

rte_mbuf* byte_chain::take(std::uint32_t n, rte_mempool* pool) noexcept {
    n = std::min(n, len_);
    if (n == 0) {
        return nullptr;
    }
    // Find the segment holding byte n-1.
    std::uint32_t acc = 0;
    rte_mbuf* last = head_;
    std::uint16_t segs = 1;
    while (acc + last->data_len < n) {
        acc += last->data_len;
        last = last->next;
        ++segs;
    }
    const std::uint32_t in_last = n - acc;  // bytes of `last` that go
    rte_mbuf* out = head_;
    if (in_last == last->data_len) {
        head_ = last->next;
        last->next = nullptr;
        if (head_ == nullptr) {
            tail_ = nullptr;
        }
    } else {
        // Share the cut segment: an indirect mbuf carries its first part, the original keeps
        // the rest.
        rte_mbuf* ind = rte_pktmbuf_alloc(pool);
        if (ind == nullptr) {
            return nullptr;
        }
        rte_pktmbuf_attach(ind, last);
        ind->data_len = static_cast<std::uint16_t>(in_last);
        ind->pkt_len = in_last;
        last->data_off = static_cast<std::uint16_t>(last->data_off + in_last);
        last->data_len = static_cast<std::uint16_t>(last->data_len - in_last);
        last->pkt_len = last->data_len;
        if (last == head_) {
            out = ind;
        } else {
            rte_mbuf* prev = head_;
            while (prev->next != last) {
                prev = prev->next;
            }
            prev->next = ind;
            head_ = last;
        }
        ind->next = nullptr;
    }
    len_ -= n;
    out->pkt_len = n;
    out->nb_segs = segs;
    return out;
}

void byte_chain::copy_out(std::uint32_t off, std::uint32_t n, char* dst) const noexcept {
    for_each_run(off, [&](const char* p, std::uint32_t k) {
        const std::uint32_t c = std::min(k, n);
        std::memcpy(dst, p, c);
        dst += c;
        n -= c;
        return n > 0;
    });
}

std::string_view byte_chain::view(std::uint32_t off, std::uint32_t n, char* scratch,
                                  std::uint32_t cap) const noexcept {
    if (n == 0) {
        return {};
    }
    std::uint32_t o = off;
    for (const rte_mbuf* s = head_; s != nullptr; s = s->next) {
        if (o >= s->data_len) {
            o -= s->data_len;
            continue;
        }
        if (o + n <= s->data_len) {
            return {rte_pktmbuf_mtod_offset(s, const char*, o), n};
        }
        break;
    }
    n = std::min(n, cap);
    copy_out(off, n, scratch);
    return {scratch, n};
}

void byte_chain::clear() noexcept {
    while (head_ != nullptr) {
        rte_mbuf* next = head_->next;
        head_->next = nullptr;
        head_->nb_segs = 1;
        rte_pktmbuf_free_seg(head_);
        head_ = next;
    }
    tail_ = nullptr;
    len_ = 0;
}

}  // namespace sluice::dp::proxy
