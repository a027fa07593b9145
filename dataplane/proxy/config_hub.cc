// See config_hub.hh. start()/stop() on the main thread; run() on the builder thread.
#include "config_hub.hh"

#include <rte_cycles.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/log.hh"
#include "services.hh"
#include "../filters/breaker/breaker.hh"

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

namespace {
std::uint64_t monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}
static_assert(static_cast<int>(filters::od_state::closed) ==
                  static_cast<int>(cp::shm::endpoint_outlier::closed) &&
              static_cast<int>(filters::od_state::open) ==
                  static_cast<int>(cp::shm::endpoint_outlier::open) &&
              static_cast<int>(filters::od_state::half_open) ==
                  static_cast<int>(cp::shm::endpoint_outlier::half_open));
}  // namespace

void config_hub::publish_health_now() {
    const gateway_config* cfg = current_.load(std::memory_order_acquire);
    const std::uint64_t mono = monotonic_ns();
    // The breakers' clock (upstream_select.cc): TSC nanoseconds. Deadlines are turned into
    // CLOCK_MONOTONIC by their distance from now, so the control plane can compare them.
    const std::uint64_t tsc = rte_rdtsc();
    const std::uint64_t hz = rte_get_tsc_hz();
    const std::uint64_t dp_now = tsc / hz * 1'000'000'000ULL + tsc % hz * 1'000'000'000ULL / hz;
    std::vector<filters::endpoint_snapshot> eps;
    health_.begin(cfg != nullptr ? cfg->generation : 0);
    for (std::size_t c = 0; cfg != nullptr && c < cfg->clusters.size(); ++c) {
        const cluster_rt& cl = cfg->clusters[c];
        if (cl.breaker == nullptr) {
            continue;
        }
        eps.resize(cl.breaker->endpoint_count());
        const std::size_t n = cl.breaker->export_states(eps);
        for (std::size_t i = 0; i < n; ++i) {
            const filters::endpoint_snapshot& e = eps[i];
            cp::shm::endpoint_fields f;
            f.family = 4;
            std::memcpy(f.address.data(), &e.addr.ip_be, 4);  // already network order
            f.port = e.addr.port;
            f.endpoint_index = static_cast<std::uint32_t>(i);
            f.outlier = static_cast<cp::shm::endpoint_outlier>(e.state);
            f.times_ejected = e.times_ejected;
            f.consecutive_failures = e.consecutive_failures;
            // Active health checks (worker 0's probes), when the cluster has them.
            if (cl.health_enabled && i < cl.endpoints.size()) {
                f.active = cl.health[i].load(std::memory_order_relaxed) != 0
                               ? cp::shm::endpoint_active::healthy
                               : cp::shm::endpoint_active::unhealthy;
            }
            if (e.state == filters::od_state::open) {
                f.ejected_until_ns =
                    mono + (e.ejected_until_ns > dp_now ? e.ejected_until_ns - dp_now : 0);
            }
            (void)health_.add(cl.name, f);  // a full table counts the rest as dropped
        }
    }
    health_.commit(mono);
}

void config_hub::drain_verdicts(std::uint64_t now_ms) {
    gateway_services::verdict_req reqs[64];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(svc_.verdicts, reqs, sizeof(reqs[0]), 64,
                                                      nullptr);
    if (verdict_writer_ == nullptr) {
        if (now_ms < verdict_retry_ms_) {
            verdicts_failed_.fetch_add(n);
            return;
        }
        auto w = ebpf::verdict_writer::open();
        if (!w) {
            // No afxdp:/auto: port (nothing pinned): verdicts cannot be pushed down. Say it
            // once a minute at most and retry then.
            log::warn("gateway: XDP verdicts requested but unavailable: {}", w.message());
            verdict_retry_ms_ = now_ms + 60'000;
            verdicts_failed_.fetch_add(n);
            return;
        }
        verdict_writer_ = std::make_unique<ebpf::verdict_writer>(std::move(w).value());
    }
    for (unsigned i = 0; i < n; ++i) {
        auto [it, fresh] = blocked_until_.try_emplace(reqs[i].ip, 0);
        if (!fresh && it->second > now_ms) {
            continue;  // already blocked: the client's retries in flight are not news
        }
        const std::uint32_t ttl = std::min(reqs[i].ttl_ms, ebpf::verdict_writer::max_ttl_ms);
        if (verdict_writer_->block(reqs[i].ip, ttl, ebpf::gateway_reason::rate_limited)) {
            it->second = now_ms + ttl;
            verdicts_written_.fetch_add(1);
        } else {
            verdicts_failed_.fetch_add(1);
        }
    }
    if (blocked_until_.size() > 65'536) {
        std::erase_if(blocked_until_, [&](const auto& kv) { return kv.second <= now_ms; });
    }
}

void config_hub::run() {
    // 100 µs between looks: publication latency stays well under the 1 ms target without
    // burning a core (this thread is not a polling lcore).
    const timespec nap{0, 100'000};
    // Endpoint health every 100 ms: fresh enough for an operator, and a few microseconds of
    // work per publication (not every 100 µs look).
    constexpr std::uint64_t health_period_ns = 100'000'000;
    std::uint64_t health_at = 0;
    unsigned n = 0;
    while (!quit_.load(std::memory_order_relaxed)) {
        build_once();
        if (++n % 64 == 0 && live_.size() > 1) {
            reclaim(false);
        }
        if (svc_.verdicts != nullptr && rte_ring_count(svc_.verdicts) != 0) {
            drain_verdicts(monotonic_ns() / 1'000'000);
        }
        if (health_.valid()) {
            if (const std::uint64_t now = monotonic_ns(); now >= health_at) {
                publish_health_now();
                health_at = now + health_period_ns;
            }
        }
        nanosleep(&nap, nullptr);
    }
}

}  // namespace sluice::dp::proxy
