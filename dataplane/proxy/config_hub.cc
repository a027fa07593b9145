// See config_hub.hh. start()/stop() on the main thread; run() on the builder thread.
#include "config_hub.hh"

#include <time.h>

#include <algorithm>

#include "../core/log.hh"

namespace sluice::dp::proxy {

config_hub::config_hub(const cp::shm::config_reader& reader, unsigned workers,
                       gateway_services& svc)
    : cursor_(reader), workers_(workers), svc_(svc), acked_(new ack_slot[workers]) {}

config_hub::~config_hub() {
    stop();
    current_.store(nullptr);
    live_.clear();
}

void config_hub::start() {
    build_once();
    thread_ = std::thread([this] { run(); });
}

void config_hub::stop() {
    quit_.store(true);
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool config_hub::build_once() {
    if (!cursor_.changed() && cursor_.has_snapshot()) {
        return false;
    }
    cursor_.refresh();
    if (!cursor_.has_snapshot()) {
        return false;
    }
    const std::uint64_t gen = cursor_.generation();
    if (gen == built_gen_ || gen == failed_gen_) {
        return false;
    }
    cp::model::snapshot_view v;
    if (auto st = cp::model::snapshot_view::open(cursor_.snapshot(), v);
        st != cp::model::view_status::ok) {
        log::warn("gateway: generation {} refused: snapshot {}; keeping generation {}", gen,
                  cp::model::to_string(st), built_gen_);
        failed_gen_ = gen;
        failures_.fetch_add(1);
        return false;
    }
    auto cfg = gateway_config::build(v, gen, workers_, svc_);
    if (!cursor_.still_valid()) {
        return false;  // overwritten while we read it: the next round sees the newer one
    }
    if (!cfg) {
        log::warn("gateway: generation {} refused: {}; keeping generation {}", gen,
                  cfg.message(), built_gen_);
        failed_gen_ = gen;
        failures_.fetch_add(1);
        return false;
    }
    gateway_config* p = cfg.value().get();
    live_.push_back(std::move(cfg).value());
    current_.store(p, std::memory_order_release);
    built_gen_ = gen;
    builds_.fetch_add(1);
    log::info("gateway: generation {} compiled: {} listener(s), {} route(s), {} cluster(s)", gen,
              p->listeners.size(), p->route_info.size(), p->clusters.size());
    return true;
}

void config_hub::reclaim(bool all) {
    gateway_config* cur = current_.load(std::memory_order_acquire);
    std::uint64_t min_ack = ~0ULL;
    for (unsigned i = 0; i < workers_; ++i) {
        min_ack = std::min(min_ack, acked_[i].v.load(std::memory_order_acquire));
    }
    // Free a retired config once every worker has moved past it (so none can pin it again)
    // and no request still holds it.
    std::erase_if(live_, [&](const std::unique_ptr<gateway_config>& c) {
        return all || (c.get() != cur && c->generation < min_ack && c->unreferenced());
    });
}

void config_hub::run() {
    // 100 µs between looks: publication latency stays well under the 1 ms target without
    // burning a core (this thread is not a polling lcore).
    const timespec nap{0, 100'000};
    unsigned n = 0;
    while (!quit_.load(std::memory_order_relaxed)) {
        build_once();
        if (++n % 64 == 0 && live_.size() > 1) {
            reclaim(false);
        }
        nanosleep(&nap, nullptr);
    }
}

}  // namespace sluice::dp::proxy
