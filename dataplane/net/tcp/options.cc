// TCP option parser and builders. Per-packet, owning lcore; see options.hh for the rules on
// malformed input.
#include "net/tcp/options.hh"

#include <algorithm>

namespace sluice::dp::net::tcp {

namespace {

std::uint16_t load16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t load32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
void store16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void store32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

// Keeps the first problem seen; later ones are less informative.
void note(option_parse_result& r, option_status s) noexcept {
    if (r.status == option_status::ok) {
        r.status = s;
    }
}

constexpr std::uint8_t kind_byte(option_kind k) noexcept { return static_cast<std::uint8_t>(k); }

}  // namespace

option_parse_result parse_options(std::span<const std::uint8_t> bytes, tcp_options& out) noexcept {
    out = tcp_options{};
    // RFC 7323 Appendix A: NOP, NOP, TS (12 bytes) is what nearly every segment of a
    // timestamps connection carries; it is taken without the general loop (as Linux's
    // tcp_parse_aligned_timestamp does), with the same result the loop gives.
    if (bytes.size() == 12 && bytes[0] == kind_byte(option_kind::nop) &&
        bytes[1] == kind_byte(option_kind::nop) && bytes[2] == kind_byte(option_kind::timestamps) &&
        bytes[3] == 10) {
        out.has_timestamps = true;
        out.ts_val = load32(bytes.data() + 4);
        out.ts_ecr = load32(bytes.data() + 8);
        return {};
    }
    option_parse_result r;
    bool seen_sack = false;
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    while (i < n) {
        const std::uint8_t kind = bytes[i];
        if (kind == kind_byte(option_kind::eol)) {
            break;  // RFC 9293 §3.1: end of option list
        }
        if (kind == kind_byte(option_kind::nop)) {
            ++i;
            continue;
        }
        if (i + 1 >= n) {
            note(r, option_status::stopped_truncated);
            break;
        }
        const std::uint8_t len = bytes[i + 1];
        if (len < 2) {
            // RFC 9293 §3.1 MUST-7: an illegal length cannot be skipped safely.
            note(r, option_status::stopped_bad_length);
            break;
        }
        if (i + len > n) {
            note(r, option_status::stopped_truncated);
            break;
        }
        const std::uint8_t* p = bytes.data() + i + 2;
        switch (static_cast<option_kind>(kind)) {
            case option_kind::mss:  // RFC 9293 §3.2: kind 2, length 4
                if (len != 4) {
                    note(r, option_status::bad_known_length);
                } else if (out.has_mss) {
                    note(r, option_status::duplicate);
                } else {
                    out.has_mss = true;
                    out.mss = load16(p);
                }
                break;
            case option_kind::window_scale:  // RFC 7323 §2.2: kind 3, length 3
                if (len != 3) {
                    note(r, option_status::bad_known_length);
                } else if (out.has_window_scale) {
                    note(r, option_status::duplicate);
                } else {
                    out.has_window_scale = true;
                    out.window_shift = p[0];
                    if (out.window_shift > max_window_shift) {
                        // RFC 7323 §2.3: log, and use 14 instead.
                        out.window_shift = max_window_shift;
                        note(r, option_status::window_shift_clamped);
                    }
                }
                break;
            case option_kind::sack_permitted:  // RFC 2018 §2: kind 4, length 2
                if (len != 2) {
                    note(r, option_status::bad_known_length);
                } else if (out.sack_permitted) {
                    note(r, option_status::duplicate);
                } else {
                    out.sack_permitted = true;
                }
                break;
            case option_kind::sack:  // RFC 2018 §3: kind 5, length 2 + 8n, n in 1..4
                if (len < 10 || (len - 2) % 8 != 0) {
                    note(r, option_status::bad_known_length);
                } else if (seen_sack) {
                    note(r, option_status::duplicate);
                } else {
                    seen_sack = true;
                    const std::size_t blocks = (len - 2) / 8;  // <= 4 since len <= 40 - 0
                    for (std::size_t b = 0; b < blocks && b < max_sack_blocks; ++b) {
                        out.sack[b] = {load32(p + 8 * b), load32(p + 8 * b + 4)};
                    }
                    out.sack_count = static_cast<std::uint8_t>(std::min(blocks, max_sack_blocks));
                }
                break;
            case option_kind::timestamps:  // RFC 7323 §3.2: kind 8, length 10
                if (len != 10) {
                    note(r, option_status::bad_known_length);
                } else if (out.has_timestamps) {
                    note(r, option_status::duplicate);
                } else {
                    out.has_timestamps = true;
                    out.ts_val = load32(p);
                    out.ts_ecr = load32(p + 4);
                }
                break;
            default:
                // RFC 9293 §3.2 MUST-68: ignore options we do not implement.
                if (r.unknown < 255) {
                    ++r.unknown;
                }
                break;
        }
        i += len;
    }
    return r;
}

std::size_t build_syn_options(std::span<std::uint8_t, max_option_bytes> out,
                              const syn_option_spec& spec) noexcept {
    std::uint8_t* p = out.data();
    std::size_t n = 0;
    // RFC 9293 §3.7.1: MSS on every SYN.
    p[n++] = kind_byte(option_kind::mss);
    p[n++] = 4;
    store16(p + n, spec.mss);
    n += 2;
    if (spec.timestamps) {
        if (spec.sack_permitted) {
            p[n++] = kind_byte(option_kind::sack_permitted);
            p[n++] = 2;
        } else {
            p[n++] = kind_byte(option_kind::nop);
            p[n++] = kind_byte(option_kind::nop);
        }
        p[n++] = kind_byte(option_kind::timestamps);
        p[n++] = 10;
        store32(p + n, spec.ts_val);
        store32(p + n + 4, spec.ts_ecr);
        n += 8;
    } else if (spec.sack_permitted) {
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::sack_permitted);
        p[n++] = 2;
    }
    if (spec.window_scale) {
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::window_scale);
        p[n++] = 3;
        p[n++] = std::min(spec.window_shift, max_window_shift);  // RFC 7323 §2.3
    }
    return n;  // 4, 8, 12, 16 or 20: every branch writes whole words
}

std::size_t build_segment_options(std::span<std::uint8_t, max_option_bytes> out, bool timestamps,
                                  std::uint32_t ts_val, std::uint32_t ts_ecr,
                                  std::span<const sack_block> blocks,
                                  std::size_t* blocks_written) noexcept {
    std::uint8_t* p = out.data();
    std::size_t n = 0;
    if (timestamps) {
        // RFC 7323 Appendix A: NOP, NOP, TS keeps the timestamps word-aligned.
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::timestamps);
        p[n++] = 10;
        store32(p + n, ts_val);
        store32(p + n + 4, ts_ecr);
        n += 8;
    }
    // RFC 2018 §3: up to 4 blocks, 3 when timestamps take 12 of the 40 bytes.
    const std::size_t room = (max_option_bytes - n - 4) / 8;
    const std::size_t count = std::min({blocks.size(), room, max_sack_blocks});
    if (count > 0) {
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::nop);
        p[n++] = kind_byte(option_kind::sack);
        p[n++] = static_cast<std::uint8_t>(2 + 8 * count);
        for (std::size_t b = 0; b < count; ++b) {
            store32(p + n, blocks[b].left);
            store32(p + n + 4, blocks[b].right);
            n += 8;
        }
    }
    if (blocks_written != nullptr) {
        *blocks_written = count;
    }
    return n;
}

}  // namespace sluice::dp::net::tcp
