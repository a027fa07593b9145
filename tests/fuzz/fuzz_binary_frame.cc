// libFuzzer target for the binary frame decoder (sluice::dp::proxy::binary::frame_decoder).
// Input: byte 0 picks the piece size (1..256) the stream is fed in, byte 1 the max payload
// (0: the default 1 MiB, else 4·byte1), the rest is the stream. Invariants, checked on every
// input: no crash or sanitizer report; feeding in pieces reports exactly what feeding whole
// reports (same frames, offsets, error); frames tile the stream from offset 0; every valid
// frame's CRC is the CRC of the bytes at its payload offset; after an error nothing more is
// consumed.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proxy/binary/crc32.hh"
#include "proxy/binary/frame_decoder.hh"

namespace bp = sluice::dp::proxy::binary;

namespace {

struct run {
    std::vector<bp::frame_info> infos;
    std::uint64_t consumed = 0;
};

run decode(std::span<const std::uint8_t> s, std::size_t piece, std::uint32_t max) {
    bp::frame_counters k;
    bp::frame_decoder d(k, max);
    run r;
    bp::frame_info out[3];
    for (std::size_t at = 0; at < s.size() && !d.failed();) {
        auto p = s.subspan(at, std::min(piece, s.size() - at));
        while (!p.empty() && !d.failed()) {
            const auto res = d.feed(p, out);
            r.infos.insert(r.infos.end(), out, out + res.frames);
            r.consumed += res.consumed;
            p = p.subspan(res.consumed);
        }
        at += piece;
    }
    if (d.failed() && d.feed(s, out).consumed != 0) {
        std::fprintf(stderr, "fuzz_binary_frame: consumed after failing\n");
        std::abort();
    }
    return r;
}

bool same(const bp::frame_info& a, const bp::frame_info& b) {
    return a.frame_offset == b.frame_offset && a.payload_offset == b.payload_offset &&
           a.payload_len == b.payload_len && a.version == b.version && a.command == b.command &&
           a.error == b.error && (a.error != bp::frame_error::none || a.crc_wire == b.crc_wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::size_t piece = std::size_t{data[0]} + 1;
    const std::uint32_t max = data[1] == 0 ? bp::default_max_payload : 4U * data[1];
    const std::span<const std::uint8_t> s(data + 2, size - 2);
    const run whole = decode(s, s.size() + 1, max);
    const run pieces = decode(s, piece, max);
    if (whole.infos.size() != pieces.infos.size() || whole.consumed != pieces.consumed) {
        std::fprintf(stderr, "fuzz_binary_frame: whole and pieces disagree\n");
        std::abort();
    }
    std::uint64_t off = 0;
    for (std::size_t i = 0; i < whole.infos.size(); ++i) {
        const auto& f = whole.infos[i];
        if (!same(f, pieces.infos[i]) || f.frame_offset != off) {
            std::fprintf(stderr, "fuzz_binary_frame: frame %zu differs or misplaced\n", i);
            std::abort();
        }
        if (f.error == bp::frame_error::none) {
            if (f.payload_offset + f.payload_len + bp::trailer_size > s.size() ||
                bp::crc32(s.data() + f.payload_offset, f.payload_len) != f.crc_wire ||
                f.payload_len > max) {
                std::fprintf(stderr, "fuzz_binary_frame: bad frame %zu\n", i);
                std::abort();
            }
            off += f.frame_size();
        } else if (i + 1 != whole.infos.size()) {
            std::fprintf(stderr, "fuzz_binary_frame: frames after an error\n");
            std::abort();
        }
    }
    return 0;
}
