// RSS flow affinity for active opens (sluice::dp::net::tcp): pick a source port whose Toeplitz
// hash sends the peer's answers back to the queue (hence the lcore) that owns the connection.
//
// rss_read() runs on the owning lcore at the first connect() on a port (an ethdev query, not
// per packet); the hash is DPDK's software Toeplitz (rte_softrss) over the tuple the NIC hashes
// for incoming segments: source = the peer, destination = us (Microsoft's RSS verification
// layout, checked against its test vector in tests/tcp).
#pragma once

#include <rte_byteorder.h>

#include <array>
#include <cstdint>

namespace sluice::dp::net::tcp {

struct rss_view {
    bool active = false;  // false: one queue, or no RSS: any source port maps back to us
    std::uint16_t queues = 0;
    std::uint16_t reta_size = 0;
    std::array<std::uint8_t, 64> key{};
    std::array<std::uint16_t, 512> reta{};  // RTE_ETH_RSS_RETA_SIZE_512
};

// Reads the port's RSS key and redirection table.
[[nodiscard]] rss_view rss_read(std::uint16_t port) noexcept;

// Toeplitz hash of an incoming IPv4/TCP segment from remote:rport to local:lport (ports in host
// order), with `key` as the NIC holds it.
[[nodiscard]] std::uint32_t rss_hash_v4(const std::uint8_t* key, rte_be32_t remote,
                                        rte_be32_t local, std::uint16_t rport,
                                        std::uint16_t lport) noexcept;

// The RX queue the NIC picks for that hash.
[[nodiscard]] inline std::uint16_t rss_queue(const rss_view& v, std::uint32_t hash) noexcept {
    return v.reta_size == 0 ? 0 : v.reta[hash % v.reta_size];
}

}  // namespace sluice::dp::net::tcp
