// A TX buffer for one (worker, port) queue: packets accumulate during a poll iteration and leave
// in one rte_eth_tx_burst at its end (or earlier when the buffer fills). Owned and used by one
// worker lcore only. Mbufs pushed here are owned by the queue until flushed; whatever the NIC
// refuses is freed and counted as a tx_full drop.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>

#include "counters.hh"

namespace sluice::dp::net {

// Twice the RX burst, so that one burst of replies never forces an early flush.
inline constexpr std::uint16_t tx_queue_capacity = 64;

class tx_queue {
public:
    void bind(std::uint16_t port, std::uint16_t queue, queue_stats* stats) noexcept {
        port_ = port;
        queue_ = queue;
        stats_ = stats;
    }

    void push(rte_mbuf* m) noexcept {
        if (n_ == tx_queue_capacity) {
            flush();
        }
        buf_[n_++] = m;
    }

    // Sends what is buffered. Returns how many packets the NIC took.
    std::uint16_t flush() noexcept {
        if (n_ == 0) {
            return 0;
        }
        std::uint64_t bytes = 0;
        for (std::uint16_t i = 0; i < n_; ++i) {
            bytes += rte_pktmbuf_pkt_len(buf_[i]);
        }
        const std::uint16_t sent = rte_eth_tx_burst(port_, queue_, buf_, n_);
        for (std::uint16_t i = sent; i < n_; ++i) {
            bytes -= rte_pktmbuf_pkt_len(buf_[i]);
            rte_pktmbuf_free(buf_[i]);
            stats_->drop(drop_reason::tx_full);
        }
        stats_->tx_packets.add(sent);
        stats_->tx_bytes.add(bytes);
        n_ = 0;
        return sent;
    }

    // Frees buffered packets without sending them (shutdown).
    void discard() noexcept {
        for (std::uint16_t i = 0; i < n_; ++i) {
            rte_pktmbuf_free(buf_[i]);
        }
        n_ = 0;
    }

    [[nodiscard]] std::uint16_t pending() const noexcept { return n_; }

private:
    rte_mbuf* buf_[tx_queue_capacity]{};
    std::uint16_t n_ = 0;
    std::uint16_t port_ = 0;
    std::uint16_t queue_ = 0;
    queue_stats* stats_ = nullptr;
};

}  // namespace sluice::dp::net
