// See mbuf_slice.hh.
#include "mbuf_slice.hh"

#include <algorithm>
#include <cstring>

namespace sluice::dp::proxy::http {

std::string_view resolve(const rte_mbuf* m, std::uint32_t chain_off_of_msg_start, slice s,
                         char* scratch, std::size_t scratch_len) noexcept {
    if (s.len == 0) {
        return {};
    }
    std::uint64_t off = std::uint64_t{chain_off_of_msg_start} + s.off;
    // Find the segment holding the first byte.
    while (m != nullptr && off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    if (m == nullptr) {
        return {};
    }
    const char* first = rte_pktmbuf_mtod_offset(m, const char*, off);
    if (off + s.len <= m->data_len) {
        return {first, s.len};  // the common case: no copy
    }
    if (s.len > scratch_len) {
        return {};
    }
    std::uint32_t copied = 0;
    while (m != nullptr && copied < s.len) {
        const auto avail = static_cast<std::uint32_t>(m->data_len - off);
        const std::uint32_t take = std::min(avail, s.len - copied);
        std::memcpy(scratch + copied, rte_pktmbuf_mtod_offset(m, const char*, off), take);
        copied += take;
        off = 0;
        m = m->next;
    }
    return copied == s.len ? std::string_view(scratch, s.len) : std::string_view{};
}

}  // namespace sluice::dp::proxy::http
