// A real gateway worker without traffic, for running requests through the real filter chain
// (dataplane/proxy/filter_chain.hh) in unit tests and the chain benchmark: the config is YAML
// loaded, validated and encoded by the control plane's model, published into a private
// shared-memory instance and compiled by the real config_hub (so filters come from the built-in
// factories with their real settings); the gateway runs on a DPDK test stack (tests/unit/
// dpdk_env.hh). Requests are parsed from raw bytes into a session's head, as start_request does.
//
// Threading: one thread (the "worker"), like a gateway lcore. Not for concurrent use.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "../unit/dpdk_env.hh"
#include "ctrlplane/model/encode.hh"
#include "ctrlplane/model/loader.hh"
#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "net/tcp/tcp_stack.hh"
#include "proxy/config_hub.hh"
#include "proxy/filter_chain.hh"
#include "proxy/gateway.hh"
#include "proxy/gateway_config.hh"
#include "proxy/http_session.hh"
#include "proxy/services.hh"

namespace sluice::test {

[[noreturn]] inline void chain_harness_die(const std::string& why) {
    std::fprintf(stderr, "chain_harness: %s\n", why.c_str());
    std::abort();
}

class chain_harness {
public:
    // `yaml`: a whole config (listener on port 8080 expected by start()). `access_log`: where
    // the accesslog filter writes ("" : no log, the filter counts drops). Aborts with a
    // message when the config is refused or does not compile.
    explicit chain_harness(const std::string& yaml, const std::string& access_log = "") {
        auto& env = dpdk_env::get();
        if (!access_log.empty()) {
            auto l = dp::filters::access_log::open(access_log, 65536, SOCKET_ID_ANY);
            if (!l) {
                chain_harness_die("access log: " + l.message());
            }
            svc_.access_log = std::move(l).value();
        }
        opts_.instance = "chain-" + std::to_string(::getpid()) + "-" + std::to_string(serial()++);
        opts_.slot_capacity = 1u << 20;
        opts_.lcore_count = 2;
        cp::shm::unlink_instance(opts_);
        auto loaded = cp::model::load_config(yaml, "chain_harness.yaml");
        if (!loaded.ok()) {
            chain_harness_die(loaded.errors.front().path + ": " + loaded.errors.front().message);
        }
        auto snapshot = cp::model::encode(*loaded.cfg);
        auto w = cp::shm::config_writer::open(opts_);
        if (!snapshot || !w) {
            chain_harness_die("encode or shm open failed");
        }
        writer_ = std::make_unique<cp::shm::config_writer>(std::move(w).value());
        if (!writer_->publish(snapshot.value(), 1)) {
            chain_harness_die("publish failed");
        }
        auto r = cp::shm::config_reader::attach(opts_);
        if (!r) {
            chain_harness_die("attach failed");
        }
        reader_ = std::make_unique<cp::shm::config_reader>(std::move(r).value());
        hub_ = std::make_unique<dp::proxy::config_hub>(*reader_, 1, svc_);
        hub_->start();
        ip_ = env.make_stack();
        dp::net::tcp::tcp_params tp;
        tp.tsc_hz = dpdk_env::hz;
        tp.pool = env.pool;
        tp.max_connections = 16;
        tp.ooo_queues = 2;
        tcp_ = std::make_unique<dp::net::tcp::tcp_stack>(*ip_, tp);
        ip_->attach_tcp(tcp_.get());
        dp::proxy::gateway_params gp;
        gp.max_sessions = gp.max_upstreams = gp.max_requests = 8;
        gw_ = std::make_unique<dp::proxy::gateway>(*tcp_, env.pool, *hub_, 0, nullptr, gp, svc_);
        gw_->poll();  // adopts the compiled config
        if (gw_->config() == nullptr) {
            chain_harness_die("no compiled config (see the builder's log)");
        }
        session_.gw = gw_.get();
        session_.port = 8080;
        session_.parser.emplace(session_.lim);
    }

    ~chain_harness() {
        finish();
        session_.head.clear();
        gw_.reset();
        ip_->attach_tcp(nullptr);
        tcp_.reset();
        hub_->stop();
        hub_.reset();
        if (svc_.access_log) {
            svc_.access_log->stop();
        }
        reader_.reset();
        writer_.reset();
        cp::shm::unlink_instance(opts_);
    }
    chain_harness(const chain_harness&) = delete;
    chain_harness& operator=(const chain_harness&) = delete;

    [[nodiscard]] dp::proxy::gateway& gw() noexcept { return *gw_; }
    [[nodiscard]] dp::proxy::gateway_config& config() noexcept { return *gw_->config(); }

    // Parses `raw` (a complete request head) into the session: once per request text; the
    // parsed head can then be started any number of times.
    void parse(std::string_view raw) {
        session_.head.clear();
        session_.parser->reset();
        rte_mbuf* m = rte_pktmbuf_alloc(dpdk_env::get().pool);
        char* p =
            m == nullptr ? nullptr : rte_pktmbuf_append(m, static_cast<std::uint16_t>(raw.size()));
        if (p == nullptr) {
            chain_harness_die("request does not fit one mbuf");
        }
        std::memcpy(p, raw.data(), raw.size());
        session_.head.adopt(m);
        session_.head.for_each_run(0, [&](const char* q, std::uint32_t n) {
            (void)session_.parser->feed_head(q, n);
            return true;
        });
        if (session_.parser->head_state() != dp::proxy::http::request_parser::state::done) {
            chain_harness_die("request head does not parse");
        }
    }

    // Starts a request on the parsed head for route `route_name`, as start_request does (no
    // timers, no upstream). The returned request belongs to the harness until finish().
    dp::proxy::request& start(std::string_view route_name) noexcept {
        finish();
        auto& gw = *gw_;
        dp::proxy::gateway_config* cfg = gw.config();
        dp::proxy::request* r = gw.requests_.alloc();
        r->reset_ctx();
        r->session_ = &session_;
        r->gw_ = &gw;
        r->head_ = &session_.parser->head();
        r->cfg = cfg;
        r->start_tsc = rte_rdtsc();
        r->start_ms = gw.now_ms();
        r->attempts = 0;
        r->filters_run = 0;
        r->filter_pos = 0;
        r->paused = false;
        r->client_addr_ = rte_cpu_to_be_32(0xc6120001);  // 198.18.0.1
        r->client_port_ = 40000;
        dp::proxy::fill_request_views(session_, *r);
        r->listener_ = cfg->listener_on(8080);
        for (std::uint32_t i = 0; i < cfg->route_info.size(); ++i) {
            if (cfg->route_info[i].name == route_name) {
                r->route_idx = i;
                r->route_ = &cfg->route_info[i];
                r->cluster_idx_ = r->route_->clusters.front().cluster;
                r->cluster_ = &cfg->clusters[r->cluster_idx_];
            }
        }
        session_.req = r;
        req_ = r;
        return *r;
    }

    // Ends the current request (cancels its timers, returns it to the pool).
    void finish() noexcept {
        if (req_ == nullptr) {
            return;
        }
        gw_->timers().cancel(req_->wake);
        session_.req = nullptr;
        gw_->requests_.free(req_);
        req_ = nullptr;
    }

    // The worker's clock in the units request_ctx::now_ms()/unix_offset_s() use.
    [[nodiscard]] std::uint64_t unix_now_s() const noexcept {
        return gw_->now_ms() / 1000 + gw_->unix_offset_ms() / 1000;
    }

private:
    static unsigned& serial() {
        static unsigned n = 0;
        return n;
    }

    cp::shm::segment_options opts_;
    std::unique_ptr<cp::shm::config_writer> writer_;
    std::unique_ptr<cp::shm::config_reader> reader_;
    dp::proxy::gateway_services svc_;
    std::unique_ptr<dp::proxy::config_hub> hub_;
    std::unique_ptr<dp::net::stack> ip_;
    std::unique_ptr<dp::net::tcp::tcp_stack> tcp_;
    std::unique_ptr<dp::proxy::gateway> gw_;
    dp::proxy::http_session session_;
    dp::proxy::request* req_ = nullptr;
};

}  // namespace sluice::test
