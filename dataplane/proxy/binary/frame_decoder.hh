// Incremental decoder for the binary framed protocol (sluice::dp::proxy::binary).
//
// One decoder per client (or upstream) connection, on that connection's lcore. It is fed the
// connection's in-order byte stream as it arrives — contiguous buffers or slices of mbuf
// chains (tcp on_data's rx_view) — and reports each complete frame with its position in the
// stream. A frame may be split across any number of feeds and segments, and one feed may hold
// many frames; the decoder keeps at most 13 bytes of its own (a partial header or CRC) and
// never copies or holds payload: it CRCs payload bytes as they pass (per piece, combined with
// crc32_concat) and tells the caller where the payload lies, so the caller can forward the
// frame's bytes zero-copy from the buffers it still holds (tcp_stack::send_mbuf).
//
// Errors (RFC-style "fail closed"): the first bad magic, unsupported version, oversized length
// or CRC mismatch is reported as a frame_info with `error` set, counted, and the decoder stops
// (failed() is true; later feeds consume nothing). The gateway answers encode_error_frame()
// and closes: after any of these errors the frame boundaries can no longer be trusted.
// A bad magic is reported at the first byte that differs, without waiting for 4 bytes.
//
// No allocation, no exceptions; counters are the caller's per-lcore plain integers.
#pragma once

#include <cstdint>
#include <span>

#include "proxy/binary/frame.hh"

struct rte_mbuf;

namespace sluice::dp::proxy::binary {

// Per-lcore counters, summed by the stats reader. Each error has its own counter (issue 6).
struct frame_counters {
    std::uint64_t frames = 0;         // valid frames reported
    std::uint64_t payload_bytes = 0;  // in valid frames
    std::uint64_t bad_magic = 0;
    std::uint64_t unsupported_version = 0;
    std::uint64_t length_over_max = 0;
    std::uint64_t crc_mismatch = 0;
};

// One complete frame, or the error that stopped the decoder. Offsets count bytes of the stream
// since the decoder was constructed or reset (0 = the first byte ever fed).
struct frame_info {
    std::uint64_t frame_offset = 0;    // first byte of the header
    std::uint64_t payload_offset = 0;  // frame_offset + header_size
    std::uint32_t payload_len = 0;
    std::uint8_t version = 0;
    std::uint8_t command = 0;
    frame_error error = frame_error::none;
    std::uint32_t crc_wire = 0;      // trailer as received (valid when the frame completed)
    std::uint32_t crc_computed = 0;  // CRC of the payload bytes received
    // Whole frame on the wire: [frame_offset, frame_offset + frame_size()).
    [[nodiscard]] std::uint64_t frame_size() const noexcept {
        return std::uint64_t{payload_len} + frame_overhead;
    }
};

struct feed_result {
    std::uint32_t consumed = 0;  // bytes of this feed taken in (the rest must be fed again)
    std::uint32_t frames = 0;    // entries written to `out` (the last one may be an error)
};

class frame_decoder {
public:
    // `counters` must outlive the decoder (normally the lcore's). `max_payload` is the largest
    // accepted length field (the listener's setting; default 1 MiB).
    explicit frame_decoder(frame_counters& counters,
                           std::uint32_t max_payload = default_max_payload) noexcept
        : counters_(&counters), max_payload_(max_payload) {}

    // Feeds `bytes`, the next bytes of the stream. Writes up to out.size() frame_infos and stops
    // right after the frame that fills `out` or after an error; `consumed` says how far it got
    // (the caller feeds the rest again after handling `out`). Precondition: out is not empty.
    feed_result feed(std::span<const std::uint8_t> bytes, std::span<frame_info> out) noexcept;

    // Same over `len` bytes starting `off` bytes into the chain `m` (a tcp rx_view), segment by
    // segment. Does not take or release a reference on `m`.
    feed_result feed(const rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                     std::span<frame_info> out) noexcept;

    // True after an error: the connection must be answered with an error frame and closed.
    [[nodiscard]] bool failed() const noexcept { return state_ == state::failed; }
    // Stream offset of the next byte to be fed.
    [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }
    // Start of the frame in progress (== position() between frames). Bytes before it belong to
    // frames already reported and may be released by the caller.
    [[nodiscard]] std::uint64_t frame_start() const noexcept { return frame_start_; }
    [[nodiscard]] std::uint32_t max_payload() const noexcept { return max_payload_; }

    // Back to "expecting a header at stream offset 0" (a pooled decoder reused by a new
    // connection).
    void reset() noexcept;

private:
    enum class state : std::uint8_t { header, payload, trailer, failed };

    // Decodes one contiguous piece; adds to `res` and returns false once `out` is full or the
    // decoder failed (the piece may then be partly consumed).
    bool piece(const std::uint8_t* p, std::uint32_t n, std::span<frame_info> out,
               feed_result& res) noexcept;
    bool fail(frame_error e, std::span<frame_info> out, feed_result& res) noexcept;

    frame_counters* counters_;
    std::uint32_t max_payload_;
    state state_ = state::header;
    std::uint8_t have_ = 0;  // header or trailer bytes gathered in buf_
    std::uint8_t buf_[header_size]{};
    std::uint32_t remaining_ = 0;  // payload bytes still to come
    std::uint32_t crc_ = 0;        // CRC of the payload bytes so far
    std::uint64_t pos_ = 0;
    std::uint64_t frame_start_ = 0;
    frame_info cur_{};
};

}  // namespace sluice::dp::proxy::binary
