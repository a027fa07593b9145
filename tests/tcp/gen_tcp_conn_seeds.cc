// Writes the seed corpus of fuzz_tcp_conn to DIR: for each of the ten start states, a few
// segment scripts that a real peer or attacker would send there (in-order data, the peer's FIN,
// an in-window RST off RCV.NXT and an in-window SYN (RFC 5961), an old timestamp (RFC 7323
// PAWS), a zero window then an opening one, an ACK for data never sent).
// Usage: gen_tcp_conn_seeds DIR   (DIR is created if missing)
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../fuzz/seed_dir.hh"

#include "fuzz_tcp_conn.hh"

namespace {

namespace fc = sluice::test::fuzz_conn;

constexpr std::uint8_t F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10;

struct seed {
    std::vector<std::uint8_t> b;
    void seg(std::uint8_t flags, std::int16_t seq, std::int16_t ack, std::uint16_t len,
             std::uint8_t advance = 0, std::uint8_t app = 0, std::uint16_t wnd = 65535,
             const std::vector<std::uint8_t>& opts = {}) {
        fc::seg_header h{};
        h.flags = flags;
        h.opt_words = static_cast<std::uint8_t>(opts.size() / 4);
        h.advance = advance;
        h.seq = static_cast<std::uint16_t>(seq);
        h.ack = static_cast<std::uint16_t>(ack);
        h.wnd = wnd;
        h.payload_len = len;
        h.app = app;
        const auto* p = reinterpret_cast<const std::uint8_t*>(&h);
        b.insert(b.end(), p, p + sizeof h);
        b.insert(b.end(), opts.begin(), opts.end());
    }
};

// NOP NOP TS(val, ecr)
std::vector<std::uint8_t> ts(std::uint32_t val, std::uint32_t ecr) {
    return {1,
            1,
            8,
            10,
            std::uint8_t(val >> 24),
            std::uint8_t(val >> 16),
            std::uint8_t(val >> 8),
            std::uint8_t(val),
            std::uint8_t(ecr >> 24),
            std::uint8_t(ecr >> 16),
            std::uint8_t(ecr >> 8),
            std::uint8_t(ecr)};
}

}  // namespace

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    const char* names[fc::state_count] = {"listen",     "syn_sent",   "syn_received", "established",
                                          "fin_wait_1", "fin_wait_2", "close_wait",   "closing",
                                          "last_ack",   "time_wait"};
    auto write = [&](const std::string& name, const seed& s) {
        return dir->write(name, s.b.data(), s.b.size());
    };
    bool ok = true;
    for (std::uint8_t st = 0; st < fc::state_count; ++st) {
        const std::string base = names[st];
        {  // data both ways, then the peer's FIN and time passing
            seed s{{st}};
            s.seg(A | P, 0, 0, 100, 50, 1);
            s.seg(A, 0, 100, 0, 10);
            s.seg(F | A, 0, 0, 0, 200);
            s.seg(A, 0, 1, 0, 140, 3);
            ok &= write(base + "_data_fin", s);
        }
        {  // RFC 5961: in-window RST off RCV.NXT, in-window SYN, then an exact RST
            seed s{{static_cast<std::uint8_t>(st | fc::flag_data_in_flight)}};
            s.seg(R, 100, 0, 0, 1);
            s.seg(S, 10, 0, 0, 1);
            s.seg(R | A, 0, 0, 0, 1);
            ok &= write(base + "_rst_syn", s);
        }
        {  // RFC 7323 PAWS: a segment with an older timestamp, then a current one
            seed s{{static_cast<std::uint8_t>(st | fc::flag_timestamps)}};
            s.seg(A | P, 0, 0, 200, 5, 0, 65535, ts(9000, 0));
            s.seg(A | P, 0, 0, 200, 5, 0, 65535, ts(100, 0));
            s.seg(A | P, 200, 0, 200, 5, 0, 65535, ts(9001, 0));
            ok &= write(base + "_paws", s);
        }
        {  // zero window with data queued: persist timer, then the window opens
            seed s{{static_cast<std::uint8_t>(st | fc::flag_data_in_flight)}};
            s.seg(A, 0, 3000, 0, 0, 2, 0);
            s.seg(A, 0, 0, 0, 200, 0, 0);
            s.seg(A, 0, 0, 0, 255, 0, 0);
            s.seg(A, 0, 0, 0, 20, 0, 65535);
            s.seg(A, 0, 32000, 0, 20);  // ACKs what was never sent
            ok &= write(base + "_zero_window", s);
        }
    }
    return dir->finish(ok);
}
