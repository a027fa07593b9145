// See shm_link.hh. attach/register on the main lcore; lcore_link::tick on its worker.
#include "shm_link.hh"

#include <rte_cycles.h>

#include <ctime>

#include "../net/stack.hh"
#include "worker.hh"

namespace sluice::dp::core {

namespace {
std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

result<std::unique_ptr<shm_link>> shm_link::attach(const std::string& instance,
                                                   const std::string& dir) {
    cp::shm::segment_options o;
    o.instance = instance;
    o.dir = dir;
    auto cfg = cp::shm::config_reader::attach(o);
    if (!cfg) {
        return error{"control-plane config segment: " + cfg.message()};
    }
    auto st = cp::shm::stats_segment::attach(o);
    if (!st) {
        return error{"control-plane stats segment: " + st.message()};
    }
    return std::unique_ptr<shm_link>(
        new shm_link(std::move(cfg).value(), std::move(st).value()));
}

shm_link::~shm_link() { deregister_all(); }

result<lcore_link*> shm_link::register_worker(unsigned lcore) {
    const std::uint64_t now_ns = monotonic_ns();
    auto w = st_.register_lcore(lcore, now_ns);
    if (!w) {
        return error{"lcore " + std::to_string(lcore) + ": " + w.message()};
    }
    // Heartbeats are taken from the TSC (no clock call on the worker), anchored here.
    links_.push_back(std::make_unique<lcore_link>(cfg_, w.value(), rte_get_tsc_hz(), rte_rdtsc(),
                                                  now_ns));
    return links_.back().get();
}

void shm_link::deregister_all() noexcept {
    for (auto& l : links_) {
        l->deregister();
    }
    links_.clear();
}

void lcore_link::tick(std::uint64_t now_tsc, const net::stack& s, const lcore_stats& ls) noexcept {
    using cp::shm::counter;
    const std::uint64_t elapsed = now_tsc - base_tsc_;
    // Split to avoid overflowing 64 bits on long uptimes.
    const std::uint64_t ns =
        (elapsed / tsc_hz_) * 1'000'000'000ULL + (elapsed % tsc_hz_) * 1'000'000'000ULL / tsc_hz_;
    stats_.heartbeat(base_ns_ + ns);

    std::uint64_t now[static_cast<std::size_t>(counter::count_)]{};
    now[static_cast<std::size_t>(counter::polls)] = ls.iterations.read();
    for (std::uint16_t p = 0; p < net::max_ports; ++p) {
        if (!s.serves(p)) {
            continue;
        }
        const net::queue_stats& q = s.stats(p);
        now[static_cast<std::size_t>(counter::rx_packets)] += q.rx_packets.read();
        now[static_cast<std::size_t>(counter::tx_packets)] += q.tx_packets.read();
        now[static_cast<std::size_t>(counter::rx_bytes)] += q.rx_bytes.read();
        now[static_cast<std::size_t>(counter::tx_bytes)] += q.tx_bytes.read();
        for (std::size_t r = 0; r < net::drop_reason_count; ++r) {
            now[static_cast<std::size_t>(counter::drops)] +=
                q.dropped(static_cast<net::drop_reason>(r));
        }
    }
    bool moved = false;
    for (auto c : {counter::polls, counter::rx_packets, counter::tx_packets, counter::rx_bytes,
                   counter::tx_bytes, counter::drops}) {
        moved = moved || now[static_cast<std::size_t>(c)] != sent_[static_cast<std::size_t>(c)];
    }
    if (!moved) {
        return;
    }
    stats_.begin();
    for (auto c : {counter::polls, counter::rx_packets, counter::tx_packets, counter::rx_bytes,
                   counter::tx_bytes, counter::drops}) {
        const auto i = static_cast<std::size_t>(c);
        if (now[i] != sent_[i]) {
            stats_.add(c, now[i] - sent_[i]);
            sent_[i] = now[i];
        }
    }
    stats_.commit();
}

}  // namespace sluice::dp::core
