// See filter_chain.hh. Runs on the worker lcore that owns the request.
#include "filter_chain.hh"

#include <cstring>
#include <vector>

#include "gateway_config.hh"

namespace sluice::dp::proxy {

namespace {

// Calls fn(filter, state) for every filter whose on_request_headers ran, in chain order.
template <typename Fn>
void for_each_run_filter(request& r, Fn&& fn) noexcept {
    std::uint8_t k = 0;
    for (const std::vector<filter_ref>* fs :
         {r.listener() != nullptr ? &r.listener()->filters : nullptr,
          r.route() != nullptr ? &r.route()->filters : nullptr}) {
        if (fs == nullptr) {
            continue;
        }
        for (const auto& f : *fs) {
            if (k++ >= r.filters_run) {
                return;
            }
            fn(*f.filter, r.arena() + f.state_off);
        }
    }
}

}  // namespace

chain_status run_request_chain(request& r) noexcept {
    std::uint8_t k = 0;
    auto run = [&](const std::vector<filter_ref>& fs) -> chain_status {
        for (const auto& f : fs) {
            if (k++ < r.filter_pos) {
                continue;  // ran before a pause
            }
            r.filter_pos = k;
            r.filters_run = k;
            // filter.hh: the state is zeroed before on_request_headers (once per request: a
            // resumed chain continues after the filter that paused).
            if (const std::uint32_t n = f.filter->state_size(); n != 0) {
                std::memset(r.arena() + f.state_off, 0, n);
            }
            const filter_status st = f.filter->on_request_headers(r, r.arena() + f.state_off);
            if (st == filter_status::respond) {
                return chain_status::respond;
            }
            if (st == filter_status::pause) {
                r.paused = true;
                return chain_status::pause;
            }
        }
        return chain_status::proceed;
    };
    chain_status v = r.listener() != nullptr ? run(r.listener()->filters) : chain_status::proceed;
    if (v == chain_status::proceed && r.route() != nullptr) {
        v = run(r.route()->filters);
    }
    return v;
}

void run_response_chain(request& r) noexcept {
    for_each_run_filter(r, [&](http_filter& f, void* st) { f.on_response_headers(r, st); });
}

void run_complete_chain(request& r) noexcept {
    for_each_run_filter(r, [&](http_filter& f, void* st) { f.on_complete(r, st); });
}

}  // namespace sluice::dp::proxy
