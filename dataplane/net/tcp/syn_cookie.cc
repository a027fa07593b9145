// SYN cookie codec and SipHash-2-4. Listener's lcore; stateless apart from the key.
#include "net/tcp/syn_cookie.hh"

#include <bit>

namespace sluice::dp::net::tcp {

namespace {

struct sip_state {
    std::uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    void absorb(std::uint64_t m) noexcept {
        v3 ^= m;
        round();  // c = 2 compression rounds
        round();
        v0 ^= m;
    }
};

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

void put_le(std::uint8_t* p, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

constexpr unsigned ts_option_bits = 5;  // 4 bits window shift (15 = none) + 1 bit SACK
constexpr std::uint32_t ts_option_mask = (1U << ts_option_bits) - 1;
constexpr std::uint8_t ts_no_window_scale = 15;

}  // namespace

std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key,
                        std::span<const std::uint8_t> data) noexcept {
    // Constants: "somepseudorandomlygeneratedbytes" (SipHash paper §2.1).
    sip_state s{0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1],
                0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1]};
    const std::size_t n = data.size();
    const std::size_t whole = n & ~std::size_t{7};
    for (std::size_t i = 0; i < whole; i += 8) {
        s.absorb(load_le64(data.data() + i));
    }
    std::uint64_t last = static_cast<std::uint64_t>(n & 0xff) << 56;
    for (std::size_t i = whole; i < n; ++i) {
        last |= static_cast<std::uint64_t>(data[i]) << (8 * (i - whole));
    }
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) {  // d = 4 finalization rounds
        s.round();
    }
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::uint32_t syn_cookie_codec::mac24(const flow4& flow, seq_t peer_isn, std::uint64_t slot,
                                      std::uint32_t mss_index) const noexcept {
    std::array<std::uint8_t, 4 + 4 + 2 + 2 + 4 + 8 + 1> msg{};
    std::uint8_t* p = msg.data();
    put_le(p, flow.peer_addr, 4);
    put_le(p + 4, flow.local_addr, 4);
    put_le(p + 8, flow.peer_port, 2);
    put_le(p + 10, flow.local_port, 2);
    put_le(p + 12, peer_isn, 4);
    put_le(p + 16, slot, 8);
    p[24] = static_cast<std::uint8_t>(mss_index);
    return static_cast<std::uint32_t>(siphash24(key_, msg)) & 0xffffffU;
}

syn_cookie_grant syn_cookie_codec::encode(const flow4& flow, seq_t peer_isn, std::uint16_t peer_mss,
                                          std::uint64_t now_s) const noexcept {
    std::uint32_t idx = 0;
    for (std::uint32_t i = 0; i < syn_cookie_mss_table.size(); ++i) {
        if (syn_cookie_mss_table[i] <= peer_mss) {
            idx = i;  // table is ascending: keep the largest that fits
        }
    }
    const std::uint64_t slot = now_s >> 6;
    const seq_t isn = (static_cast<std::uint32_t>(slot & 31) << 27) | (idx << 24) |
                      mac24(flow, peer_isn, slot, idx);
    return {isn, syn_cookie_mss_table[idx]};
}

std::optional<std::uint16_t> syn_cookie_codec::decode(const flow4& flow, seq_t seg_seq,
                                                      seq_t seg_ack,
                                                      std::uint64_t now_s) const noexcept {
    const seq_t cookie = seg_ack - 1;
    const seq_t peer_isn = seg_seq - 1;
    const std::uint64_t now_slot = now_s >> 6;
    const std::uint32_t age = (static_cast<std::uint32_t>(now_slot) - (cookie >> 27)) & 31;
    if (age > syn_cookie_max_age || age > now_slot) {
        return std::nullopt;  // expired, or from the future
    }
    const std::uint32_t idx = (cookie >> 24) & 7;
    if (mac24(flow, peer_isn, now_slot - age, idx) != (cookie & 0xffffffU)) {
        return std::nullopt;
    }
    return syn_cookie_mss_table[idx];
}

std::uint32_t syn_cookie_codec::encode_ts(std::uint32_t ts_now,
                                          const syn_cookie_ts_options& o) noexcept {
    std::uint32_t bits =
        o.window_shift ? (*o.window_shift > 14 ? 14U : *o.window_shift) : ts_no_window_scale;
    bits |= o.sack_permitted ? 1U << 4 : 0U;
    std::uint32_t ts = (ts_now & ~ts_option_mask) | bits;
    if (seq_gt(ts, ts_now)) {
        ts -= ts_option_mask + 1;  // stay at or behind the clock
    }
    return ts;
}

syn_cookie_ts_options syn_cookie_codec::decode_ts(std::uint32_t ts_ecr) noexcept {
    const std::uint32_t shift = ts_ecr & 0xf;
    syn_cookie_ts_options o;
    o.sack_permitted = (ts_ecr & (1U << 4)) != 0;
    if (shift != ts_no_window_scale) {
        o.window_shift = static_cast<std::uint8_t>(shift);  // 0..14 (RFC 7323 §2.3)
    }
    return o;
}

}  // namespace sluice::dp::net::tcp
