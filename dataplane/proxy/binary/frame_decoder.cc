// See frame_decoder.hh.
#include "proxy/binary/frame_decoder.hh"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "proxy/binary/crc32.hh"

namespace sluice::dp::proxy::binary {
namespace {
constexpr std::uint8_t magic_bytes[4] = {0xAB, 0xCD, 0xEF, 0x01};
}  // namespace

void frame_decoder::reset() noexcept {
    state_ = state::header;
    have_ = 0;
    remaining_ = 0;
    crc_ = 0;
    pos_ = 0;
    frame_start_ = 0;
    cur_ = {};
}

bool frame_decoder::fail(frame_error e, std::span<frame_info> out, feed_result& res) noexcept {
    cur_.error = e;
    switch (e) {
        case frame_error::bad_magic:
            ++counters_->bad_magic;
            break;
        case frame_error::unsupported_version:
            ++counters_->unsupported_version;
            break;
        case frame_error::length_over_max:
            ++counters_->length_over_max;
            break;
        case frame_error::crc_mismatch:
            ++counters_->crc_mismatch;
            break;
        default:
            break;
    }
    out[res.frames++] = cur_;
    state_ = state::failed;
    return false;
}

bool frame_decoder::piece(const std::uint8_t* p, std::uint32_t n, std::span<frame_info> out,
                          feed_result& res) noexcept {
    std::uint32_t i = 0;
    const auto advance = [&](std::uint32_t k) {
        i += k;
        pos_ += k;
        res.consumed += k;
    };
    while (i < n) {
        switch (state_) {
            case state::header: {
                const auto take =
                    std::min<std::uint32_t>(static_cast<std::uint32_t>(header_size) - have_, n - i);
                std::memcpy(buf_ + have_, p + i, take);
                const std::uint8_t end = have_ + take;
                if (have_ == 0) {
                    cur_ = {};
                    cur_.frame_offset = frame_start_;
                    cur_.payload_offset = frame_start_ + header_size;
                }
                // Check each new byte as it arrives, so a stream that is not ours fails on its
                // first wrong byte rather than after a whole header.
                for (std::uint8_t k = have_; k < end && k < 5; ++k) {
                    if (k < 4 && buf_[k] != magic_bytes[k]) {
                        advance(k - have_ + 1U);
                        return fail(frame_error::bad_magic, out, res);
                    }
                    if (k == 4) {
                        cur_.version = buf_[4];
                        if (buf_[4] != protocol_version) {
                            advance(k - have_ + 1U);
                            return fail(frame_error::unsupported_version, out, res);
                        }
                    }
                }
                advance(take);
                have_ = end;
                if (have_ < header_size) {
                    break;
                }
                cur_.command = buf_[5];
                cur_.payload_len = load_be32(buf_ + 6);
                have_ = 0;
                if (cur_.payload_len > max_payload_) {
                    return fail(frame_error::length_over_max, out, res);
                }
                remaining_ = cur_.payload_len;
                crc_ = 0;
                state_ = remaining_ == 0 ? state::trailer : state::payload;
                break;
            }
            case state::payload: {
                const auto take = std::min(remaining_, n - i);
                crc_ = crc32_concat(crc_, crc32(p + i, take), take);
                remaining_ -= take;
                advance(take);
                if (remaining_ == 0) {
                    state_ = state::trailer;
                }
                break;
            }
            case state::trailer: {
                const auto take = std::min<std::uint32_t>(
                    static_cast<std::uint32_t>(trailer_size) - have_, n - i);
                std::memcpy(buf_ + have_, p + i, take);
                have_ += static_cast<std::uint8_t>(take);
                advance(take);
                if (have_ < trailer_size) {
                    break;
                }
                have_ = 0;
                cur_.crc_wire = load_be32(buf_);
                cur_.crc_computed = crc_;
                if (cur_.crc_wire != cur_.crc_computed) {
                    return fail(frame_error::crc_mismatch, out, res);
                }
                ++counters_->frames;
                counters_->payload_bytes += cur_.payload_len;
                out[res.frames++] = cur_;
                state_ = state::header;
                frame_start_ = pos_;
                if (res.frames == out.size()) {
                    return false;
                }
                break;
            }
            case state::failed:
                return false;
        }
    }
    return true;
}

feed_result frame_decoder::feed(std::span<const std::uint8_t> bytes,
                                std::span<frame_info> out) noexcept {
    feed_result res;
    if (state_ == state::failed || out.empty()) {
        return res;
    }
    // Pieces of at most 1 GiB keep `consumed` within 32 bits for any caller buffer.
    constexpr std::size_t chunk = std::size_t{1} << 30;
    for (std::size_t off = 0; off < bytes.size(); off += chunk) {
        const auto n = static_cast<std::uint32_t>(std::min(chunk, bytes.size() - off));
        if (!piece(bytes.data() + off, n, out, res)) {
            break;
        }
    }
    return res;
}

feed_result frame_decoder::feed(const rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                                std::span<frame_info> out) noexcept {
    feed_result res;
    if (state_ == state::failed || out.empty()) {
        return res;
    }
    while (m != nullptr && off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    while (m != nullptr && len > 0) {
        const std::uint32_t n = std::min<std::uint32_t>(m->data_len - off, len);
        if (!piece(rte_pktmbuf_mtod_offset(m, const std::uint8_t*, off), n, out, res)) {
            break;
        }
        len -= n;
        off = 0;
        m = m->next;
    }
    return res;
}

}  // namespace sluice::dp::proxy::binary
