// Case table for the binary frame decoder, shared by the unit tests (frame_test.cc), the fuzz
// seeds (gen_binary_frame_seeds.cc) and the benchmark's error cases: each case is a byte
// stream plus what the decoder must report for it, whatever the segmentation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/binary/frame.hh"

namespace sluice::test::binary {

namespace bp = sluice::dp::proxy::binary;
using bytes = std::vector<std::uint8_t>;

struct expected_frame {
    std::uint8_t command;
    std::uint32_t payload_len;
};

struct frame_case {
    std::string name;
    bytes stream;
    std::uint32_t max_payload = bp::default_max_payload;
    std::vector<expected_frame> frames;             // valid frames, in order
    bp::frame_error error = bp::frame_error::none;  // what stops the decoder, if anything
};

// A payload of `n` bytes with a recognisable pattern.
inline bytes pattern(std::size_t n, std::uint8_t seed = 1) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(seed + i * 31);
    }
    return b;
}

inline bytes frame(std::uint8_t command, const bytes& payload) {
    bytes out(payload.size() + bp::frame_overhead);
    (void)bp::encode_frame(command, payload, out);
    return out;
}

inline bytes cat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

inline std::vector<frame_case> frame_cases() {
    std::vector<frame_case> c;
    c.push_back({"empty_payload", frame(7, {}), bp::default_max_payload, {{7, 0}}});
    c.push_back({"small_payload", frame(1, pattern(5)), bp::default_max_payload, {{1, 5}}});
    c.push_back({"three_merged",
                 cat({frame(1, pattern(3)), frame(2, {}), frame(200, pattern(70))}),
                 bp::default_max_payload,
                 {{1, 3}, {2, 0}, {200, 70}}});
    c.push_back({"error_frame_decodes",
                 frame(0xFF, {0x05, 'n', 'o'}),
                 bp::default_max_payload,
                 {{0xFF, 3}}});
    c.push_back({"partial_header_only",
                 bytes{0xAB, 0xCD, 0xEF, 0x01, 0x01, 0x09},
                 bp::default_max_payload,
                 {}});
    {
        bytes partial = frame(3, pattern(40));
        partial.resize(partial.size() - 2);  // CRC not complete yet
        c.push_back({"partial_trailer",
                     cat({frame(9, pattern(2)), partial}),
                     bp::default_max_payload,
                     {{9, 2}}});
    }
    c.push_back({"bad_magic_first_byte",
                 bytes{'G', 'E', 'T', ' ', '/'},
                 bp::default_max_payload,
                 {},
                 bp::frame_error::bad_magic});
    c.push_back({"bad_magic_last_byte",
                 bytes{0xAB, 0xCD, 0xEF, 0x02, 1, 1, 0, 0, 0, 0},
                 bp::default_max_payload,
                 {},
                 bp::frame_error::bad_magic});
    {
        bytes v0 = frame(1, pattern(4));
        v0[4] = 0;
        bytes v2 = frame(1, pattern(4));
        v2[4] = 2;
        c.push_back(
            {"version_0", v0, bp::default_max_payload, {}, bp::frame_error::unsupported_version});
        c.push_back({"version_2_after_valid",
                     cat({frame(4, pattern(1)), v2}),
                     bp::default_max_payload,
                     {{4, 1}},
                     bp::frame_error::unsupported_version});
    }
    c.push_back({"length_at_max", frame(1, pattern(100)), 100, {{1, 100}}});
    c.push_back(
        {"length_over_max", frame(1, pattern(101)), 100, {}, bp::frame_error::length_over_max});
    {
        bytes h(bp::header_size);
        bp::encode_header(1, 0xFFFFFFFFU,
                          std::span<std::uint8_t, bp::header_size>(h.data(), h.size()));
        c.push_back(
            {"length_4g", h, bp::default_max_payload, {}, bp::frame_error::length_over_max});
    }
    {
        bytes bad = frame(6, pattern(33));
        bad[bp::header_size + 10] ^= 0x01;  // one payload bit flipped
        c.push_back({"crc_payload_bit_flip",
                     bad,
                     bp::default_max_payload,
                     {},
                     bp::frame_error::crc_mismatch});
        bytes bad_trailer = frame(6, pattern(33));
        bad_trailer.back() ^= 0x80;
        c.push_back({"crc_trailer_bit_flip_after_two",
                     cat({frame(1, {}), frame(2, pattern(9)), bad_trailer}),
                     bp::default_max_payload,
                     {{1, 0}, {2, 9}},
                     bp::frame_error::crc_mismatch});
        bytes zero_crc = frame(6, {});
        zero_crc.back() = 1;  // CRC of nothing is 0
        c.push_back({"crc_empty_payload_nonzero",
                     zero_crc,
                     bp::default_max_payload,
                     {},
                     bp::frame_error::crc_mismatch});
    }
    return c;
}

}  // namespace sluice::test::binary
