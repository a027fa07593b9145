// Unit tests for the binary framed protocol: CRC (against zlib), encoder layout, and the
// incremental decoder driven by the case table (frame_cases.hh) under every segmentation:
// whole, split at every byte boundary, byte by byte, and as mbuf chains.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <zlib.h>

#include <cstring>
#include <random>

#include "../../unit/dpdk_env.hh"
#include "frame_cases.hh"
#include "proxy/binary/crc32.hh"
#include "proxy/binary/frame_decoder.hh"

namespace {

namespace bp = sluice::dp::proxy::binary;
using sluice::test::binary::bytes;
using sluice::test::binary::frame_case;

struct outcome {
    std::vector<bp::frame_info> frames;  // valid ones
    bp::frame_info error{};              // error.error != none if the decoder failed
    std::uint64_t consumed = 0;
};

// Feeds one piece until it is consumed or the decoder fails, with a small output array so
// that the "out is full" path is exercised too.
void feed_piece(bp::frame_decoder& d, std::span<const std::uint8_t> piece, outcome& o) {
    bp::frame_info out[2];
    while (!piece.empty() && !d.failed()) {
        const auto r = d.feed(piece, out);
        for (std::uint32_t i = 0; i < r.frames; ++i) {
            (out[i].error == bp::frame_error::none ? o.frames.push_back(out[i])
                                                   : (void)(o.error = out[i]));
        }
        o.consumed += r.consumed;
        piece = piece.subspan(r.consumed);
        if (r.consumed == 0 && r.frames == 0) {
            break;
        }
    }
}

void expect_matches(const frame_case& c, const outcome& o, const std::string& how) {
    SCOPED_TRACE(c.name + " " + how);
    ASSERT_EQ(o.frames.size(), c.frames.size());
    std::uint64_t off = 0;
    for (std::size_t i = 0; i < c.frames.size(); ++i) {
        EXPECT_EQ(o.frames[i].command, c.frames[i].command);
        EXPECT_EQ(o.frames[i].payload_len, c.frames[i].payload_len);
        EXPECT_EQ(o.frames[i].version, 1);
        EXPECT_EQ(o.frames[i].frame_offset, off);
        EXPECT_EQ(o.frames[i].payload_offset, off + bp::header_size);
        EXPECT_EQ(o.frames[i].crc_wire, o.frames[i].crc_computed);
        // The payload really is where the decoder says.
        const auto p = c.stream.data() + o.frames[i].payload_offset;
        EXPECT_EQ(o.frames[i].crc_computed, crc32(0, p, o.frames[i].payload_len));
        off += o.frames[i].frame_size();
    }
    EXPECT_EQ(o.error.error, c.error);
    if (c.error != bp::frame_error::none) {
        EXPECT_EQ(o.error.frame_offset, off);
    } else {
        EXPECT_EQ(o.consumed, c.stream.size());
    }
}

TEST(binary_crc, check_value_is_crc32_iso_hdlc) {
    EXPECT_EQ(bp::crc32("123456789", 9), 0xCBF43926U);
    EXPECT_EQ(bp::crc32(nullptr, 0), 0U);
}

TEST(binary_crc, equals_zlib_for_every_length_before_and_after_simd_selection) {
    std::mt19937 rng(7);
    bytes b(4200);
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(rng());
    }
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) {
            (void)sluice::test::dpdk_env::get();  // EAL up: SIMD width known
            const auto impl = bp::crc_init();
            std::printf("crc impl: %d\n", static_cast<int>(impl));
        }
        for (std::size_t n = 0; n <= 300; ++n) {
            for (std::size_t off : {0, 1, 3, 7}) {
                ASSERT_EQ(bp::crc32(b.data() + off, n), crc32(0, b.data() + off, n)) << n;
            }
        }
        for (std::size_t n : {1023, 1024, 1500, 2048, 4095, 4096}) {
            ASSERT_EQ(bp::crc32(b.data(), n), crc32(0, b.data(), n)) << n;
        }
    }
}

TEST(binary_crc, combine_equals_crc_of_concatenation) {
    const bytes b = sluice::test::binary::pattern(3000, 9);
    for (std::size_t split : {0, 1, 2, 15, 16, 17, 255, 1460, 2999, 3000}) {
        const auto a = bp::crc32(b.data(), split);
        const auto c = bp::crc32(b.data() + split, b.size() - split);
        EXPECT_EQ(bp::crc32_concat(a, c, b.size() - split), crc32(0, b.data(), b.size())) << split;
    }
}

TEST(binary_crc, mbuf_chain_crc_matches_contiguous) {
    auto& env = sluice::test::dpdk_env::get();
    const bytes b = sluice::test::binary::pattern(5000, 3);
    // Segments of 1000, 1, 1999, 2000 bytes.
    const std::size_t segs[] = {1000, 1, 1999, 2000};
    rte_mbuf* head = nullptr;
    std::size_t at = 0;
    for (std::size_t s : segs) {
        rte_mbuf* m = rte_pktmbuf_alloc(env.pool);
        ASSERT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(s)), b.data() + at, s);
        at += s;
        if (head == nullptr) {
            head = m;
        } else {
            ASSERT_EQ(rte_pktmbuf_chain(head, m), 0);
        }
    }
    for (std::uint32_t off : {0U, 999U, 1000U, 1001U, 3000U}) {
        for (std::uint32_t len : {0U, 1U, 2000U}) {
            EXPECT_EQ(bp::crc32_mbuf(head, off, len), crc32(0, b.data() + off, len))
                << off << " " << len;
        }
    }
    rte_pktmbuf_free(head);
}

TEST(binary_encode, header_layout_is_big_endian) {
    std::uint8_t h[bp::header_size];
    bp::encode_header(0x02, 0x01020304, h);
    const std::uint8_t want[] = {0xAB, 0xCD, 0xEF, 0x01, 0x01, 0x02, 0x01, 0x02, 0x03, 0x04};
    EXPECT_EQ(0, std::memcmp(h, want, sizeof(want)));
}

TEST(binary_encode, documented_ping_example) {
    // docs/binary-protocol.md: command 2, payload "ping".
    const std::uint8_t payload[] = {'p', 'i', 'n', 'g'};
    std::uint8_t out[32];
    ASSERT_EQ(bp::encode_frame(2, payload, out), 18U);
    const std::uint8_t want[] = {0xAB, 0xCD, 0xEF, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00,
                                 0x04, 'p',  'i',  'n',  'g',  0x25, 0xD5, 0x3D, 0xFD};
    EXPECT_EQ(0, std::memcmp(out, want, sizeof(want)));
    EXPECT_EQ(bp::encode_frame(2, payload, std::span<std::uint8_t>(out, 17)), 0U);
}

TEST(binary_encode, error_frame_is_code_then_reason) {
    std::uint8_t out[bp::max_error_frame];
    const auto n = bp::encode_error_frame(bp::frame_error::crc_mismatch, "crc mismatch", out);
    ASSERT_EQ(n, bp::frame_overhead + 1 + 12);
    EXPECT_EQ(out[5], bp::error_command);
    EXPECT_EQ(bp::load_be32(out + 6), 13U);
    EXPECT_EQ(out[10], 4);
    EXPECT_EQ(0, std::memcmp(out + 11, "crc mismatch", 12));
    EXPECT_EQ(bp::load_be32(out + n - 4), crc32(0, out + 10, 13));
}

TEST(binary_encode, long_error_reason_is_cut_at_a_utf8_boundary) {
    // 255 ASCII bytes then "é" (C3 A9): cutting at 256 would split the character.
    std::string reason(255, 'x');
    reason += "\xC3\xA9tail";
    std::uint8_t out[bp::max_error_frame];
    const auto n = bp::encode_error_frame(bp::frame_error::internal, reason, out);
    EXPECT_EQ(n, bp::frame_overhead + 1 + 255);
    EXPECT_EQ(
        bp::encode_error_frame(bp::frame_error::internal, "x", std::span<std::uint8_t>(out, 15)),
        0U);
}

TEST(binary_decoder, case_table_whole_and_split_at_every_byte) {
    for (const auto& c : sluice::test::binary::frame_cases()) {
        bp::frame_counters k;
        {
            bp::frame_decoder d(k, c.max_payload);
            outcome o;
            feed_piece(d, c.stream, o);
            expect_matches(c, o, "whole");
        }
        for (std::size_t split = 0; split <= c.stream.size(); ++split) {
            bp::frame_decoder d(k, c.max_payload);
            outcome o;
            feed_piece(d, std::span(c.stream).first(split), o);
            if (!d.failed()) {
                feed_piece(d, std::span(c.stream).subspan(split), o);
            }
            expect_matches(c, o, "split at " + std::to_string(split));
        }
        bp::frame_decoder d(k, c.max_payload);
        outcome o;
        for (std::size_t i = 0; i < c.stream.size() && !d.failed(); ++i) {
            feed_piece(d, std::span(c.stream).subspan(i, 1), o);
        }
        expect_matches(c, o, "byte by byte");
    }
}

TEST(binary_decoder, case_table_as_mbuf_chains) {
    auto& env = sluice::test::dpdk_env::get();
    for (const auto& c : sluice::test::binary::frame_cases()) {
        for (std::size_t seg : {1, 3, 11, 64, 2048}) {
            rte_mbuf* head = nullptr;
            for (std::size_t at = 0; at < c.stream.size(); at += seg) {
                const auto n = std::min(seg, c.stream.size() - at);
                rte_mbuf* m = rte_pktmbuf_alloc(env.pool);
                ASSERT_NE(m, nullptr);
                std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(n)),
                            c.stream.data() + at, n);
                if (head == nullptr) {
                    head = m;
                } else {
                    ASSERT_EQ(rte_pktmbuf_chain(head, m), 0);
                }
            }
            bp::frame_counters k;
            bp::frame_decoder d(k, c.max_payload);
            outcome o;
            bp::frame_info out[1];
            std::uint32_t off = 0;
            const auto len = static_cast<std::uint32_t>(c.stream.size());
            while (off < len && !d.failed()) {
                const auto r = d.feed(head, off, len - off, out);
                for (std::uint32_t i = 0; i < r.frames; ++i) {
                    (out[i].error == bp::frame_error::none ? o.frames.push_back(out[i])
                                                           : (void)(o.error = out[i]));
                }
                off += r.consumed;
                o.consumed += r.consumed;
            }
            expect_matches(c, o, "segments of " + std::to_string(seg));
            rte_pktmbuf_free(head);
        }
    }
}

TEST(binary_decoder, each_error_has_its_own_counter) {
    bp::frame_counters k;
    for (const auto& c : sluice::test::binary::frame_cases()) {
        bp::frame_decoder d(k, c.max_payload);
        outcome o;
        feed_piece(d, c.stream, o);
    }
    EXPECT_EQ(k.bad_magic, 2U);
    EXPECT_EQ(k.unsupported_version, 2U);
    EXPECT_EQ(k.length_over_max, 2U);
    EXPECT_EQ(k.crc_mismatch, 3U);
    EXPECT_EQ(k.frames, 1U + 1 + 3 + 1 + 1 + 1 + 1 + 2);
}

TEST(binary_decoder, failed_decoder_consumes_nothing_more) {
    bp::frame_counters k;
    bp::frame_decoder d(k);
    bp::frame_info out[4];
    const bytes junk{'x', 'y'};
    auto r = d.feed(junk, out);
    EXPECT_EQ(r.frames, 1U);
    EXPECT_EQ(r.consumed, 1U);  // failed at the first byte
    EXPECT_TRUE(d.failed());
    const bytes good = sluice::test::binary::frame(1, {});
    r = d.feed(good, out);
    EXPECT_EQ(r.frames, 0U);
    EXPECT_EQ(r.consumed, 0U);
    d.reset();
    r = d.feed(good, out);
    EXPECT_EQ(r.frames, 1U);
    EXPECT_EQ(out[0].frame_offset, 0U);
}

TEST(binary_decoder, stops_when_output_is_full_and_resumes) {
    const auto stream = sluice::test::binary::cat({sluice::test::binary::frame(1, {}),
                                                   sluice::test::binary::frame(2, {0x33}),
                                                   sluice::test::binary::frame(3, {})});
    bp::frame_counters k;
    bp::frame_decoder d(k);
    bp::frame_info out[1];
    auto r = d.feed(stream, out);
    EXPECT_EQ(r.frames, 1U);
    EXPECT_EQ(r.consumed, 14U);
    EXPECT_EQ(d.frame_start(), 14U);
    r = d.feed(std::span(stream).subspan(14), out);
    EXPECT_EQ(out[0].command, 2);
    EXPECT_EQ(out[0].frame_offset, 14U);
    EXPECT_EQ(r.consumed, 15U);
}

TEST(binary_decoder, default_max_is_one_mib_inclusive) {
    bp::frame_counters k;
    std::uint8_t h[bp::header_size];
    bp::frame_info out[1];
    {
        bp::frame_decoder d(k);
        bp::encode_header(1, bp::default_max_payload, h);
        EXPECT_EQ(d.feed(h, out).frames, 0U);
        EXPECT_FALSE(d.failed());
        EXPECT_EQ(d.frame_start(), 0U);
        EXPECT_EQ(d.position(), bp::header_size);
    }
    {
        bp::frame_decoder d(k);
        bp::encode_header(1, bp::default_max_payload + 1, h);
        EXPECT_EQ(d.feed(h, out).frames, 1U);
        EXPECT_EQ(out[0].error, bp::frame_error::length_over_max);
        EXPECT_EQ(out[0].payload_len, bp::default_max_payload + 1);
    }
}

TEST(binary_decoder, one_mib_payload_across_tcp_sized_pieces) {
    const bytes payload = sluice::test::binary::pattern(bp::default_max_payload, 5);
    const bytes f = sluice::test::binary::frame(9, payload);
    bp::frame_counters k;
    bp::frame_decoder d(k);
    outcome o;
    for (std::size_t at = 0; at < f.size(); at += 1448) {
        feed_piece(d, std::span(f).subspan(at, std::min<std::size_t>(1448, f.size() - at)), o);
    }
    ASSERT_EQ(o.frames.size(), 1U);
    EXPECT_EQ(o.frames[0].payload_len, bp::default_max_payload);
    EXPECT_EQ(o.frames[0].crc_computed, crc32(0, payload.data(), payload.size()));
}

}  // namespace

namespace {
TEST(binary_crc, concat_matches_zlib_combine_for_random_lengths) {
    std::mt19937_64 rng(11);
    for (int i = 0; i < 20000; ++i) {
        const auto a = static_cast<std::uint32_t>(rng());
        const auto b = static_cast<std::uint32_t>(rng());
        // zlib takes a signed z_off_t (and loops forever on a negative one): stay below 2^62.
        const std::uint64_t len = (rng() >> 2) >> (rng() % 62);
        ASSERT_EQ(bp::crc32_concat(a, b, len),
                  static_cast<std::uint32_t>(crc32_combine(a, b, static_cast<z_off_t>(len))))
            << a << " " << b << " " << len;
    }
}
}  // namespace
