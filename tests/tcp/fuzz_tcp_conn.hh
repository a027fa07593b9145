// The input format of the per-state TCP connection fuzz target (fuzz_tcp_conn.cc), shared with
// its seed generator (gen_tcp_conn_seeds.cc) so that the seeds stay in step with the parser.
//
//   byte 0          start state: (b & 0x0f) % state_count picks one of start_states below;
//                   bit 4: the peer's SYN carries timestamps (PAWS paths); bit 5: the stack
//                   has 3000 bytes of its own data queued and in flight before the segments
//   then records    each seg_header (20 bytes) followed by 4 * opt_words option bytes; the
//                   payload is generated (payload_len bytes of a pattern), not read
//
// Sequence and acknowledgement numbers are relative to the connection's RCV.NXT and SND.UNA
// (or, with no connection, to the peer's ISN and ours) unless the record asks for absolute
// ones, so that most mutations land near the window where the interesting checks are.
// Test-only; single-threaded.
#pragma once

#include <cstdint>

namespace sluice::test::fuzz_conn {

enum class start : std::uint8_t {
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
inline constexpr unsigned state_count = 10;

inline constexpr std::uint8_t flag_timestamps = 0x10;
inline constexpr std::uint8_t flag_data_in_flight = 0x20;

// mode bits
inline constexpr std::uint8_t seq_absolute = 0x01;
inline constexpr std::uint8_t ack_absolute = 0x02;
inline constexpr std::uint8_t other_port = 0x04;  // from peer port 40001 (a second flow)

// What the application does after the segment (action byte % action_count).
enum class action : std::uint8_t { none, send_small, send_large, close, shutdown, abort, ack_now };
inline constexpr unsigned action_count = 7;

#pragma pack(push, 1)
struct seg_header {
    std::uint8_t flags;      // TCP flags byte as is (CWR..FIN)
    std::uint8_t mode;       // the bits above
    std::uint8_t opt_words;  // % 11: 0..40 option bytes follow this header
    std::uint8_t advance;    // clock: < 128: that many ms; else (b - 127) * 250 ms
    std::uint32_t seq;       // relative: int16 of the low half; absolute: as is (host order)
    std::uint32_t ack;
    std::uint16_t wnd;
    std::uint16_t payload_len;  // % 1601
    std::uint8_t app;           // action
    std::uint8_t pad[3];
};
#pragma pack(pop)
static_assert(sizeof(seg_header) == 20);

}  // namespace sluice::test::fuzz_conn
