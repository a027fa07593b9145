// The built-in HTTP filters (docs/filters.md): thin http_filter adapters over the building
// blocks in dataplane/filters/<name>/ (token buckets, breakers, trace context, auth, access
// log). Factories run on the config builder thread (they may allocate); the filter callbacks
// run per request on worker lcores (no allocation, no locks).
//
// Adding a filter: implement http_filter, write a factory, add one line to `table` below, and
// add the name and its settings to ctrlplane/model/filters.hh so the control plane accepts it.
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "../proxy/filter.hh"
#include "../proxy/gateway_config.hh"
#include "../proxy/request_ctx.hh"
#include "../proxy/services.hh"
#include "auth/auth.hh"
#include "trace/trace_context.hh"

namespace sluice::dp::proxy {

namespace {

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// "250ms", "5s", "2m", "1h" (docs/config.md durations; validated by the control plane).
std::uint64_t duration_ms(std::string_view s) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    (void)ec;
    const std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
    if (unit == "s") {
        return v * 1000;
    }
    if (unit == "m") {
        return v * 60'000;
    }
    if (unit == "h") {
        return v * 3'600'000;
    }
    return v;  // "ms" or bare
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// "a: 1; b: 2" → pairs; "a; b" → names (value empty).
std::vector<std::pair<std::string, std::string>> split_fields(std::string_view text,
                                                              bool with_values) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!text.empty()) {
        const auto semi = text.find(';');
        std::string_view item = trim(text.substr(0, semi));
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
        if (item.empty()) {
            continue;
        }
        if (with_values) {
            const auto colon = item.find(':');
            if (colon == std::string_view::npos) {
                continue;
            }
            out.emplace_back(std::string(trim(item.substr(0, colon))),
                             std::string(trim(item.substr(colon + 1))));
        } else {
            out.emplace_back(std::string(item), std::string());
        }
    }
    return out;
}

// --- rate_limit -------------------------------------------------------------------------------

class ratelimit_filter final : public http_filter {
public:
    ratelimit_filter(filters::limiter* l, gateway_services& svc, std::uint8_t key,
                     std::string key_header, std::uint32_t xdp_block_ms, std::uint32_t max_delay_ms)
        : l_(l),
          reg_(svc.limiters),
          svc_(svc),
          key_(key),
          key_header_(std::move(key_header)),
          xdp_block_ms_(xdp_block_ms),
          max_delay_ns_(std::uint64_t{max_delay_ms} * 1'000'000) {}
    ~ratelimit_filter() override { reg_.release(l_); }
    std::uint32_t state_size() const noexcept override { return sizeof(filters::decision); }

    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        std::uint64_t h = 0;
        switch (static_cast<filters::rl_key>(key_)) {
            case filters::rl_key::route:
                break;
            case filters::rl_key::client_ip:
                h = filters::key_hash_ipv4(r.client_addr());
                break;
            case filters::rl_key::header: {
                const auto v = r.header(key_header_);
                // No header: one shared bucket for "absent" (documented).
                h = filters::key_hash_bytes(v.data() != nullptr ? v : std::string_view{"\0", 1});
                break;
            }
        }
        auto& d = *static_cast<filters::decision*>(state);
        d = filters::check_delay(*l_, h, r.now_ns(), max_delay_ns_);
        put_headers(r, d);
        if (d.delay_ns != 0) {
            // Delay mode: the token is ours but due later; wait for it on this lcore's timer
            // wheel (1 ms ticks, rounded up so the request never leaves before its token).
            r.count_rate_limit_delayed();
            r.resume_after(static_cast<std::uint32_t>((d.delay_ns + 999'999) / 1'000'000));
            return filter_status::pause;
        }
        if (!d.allowed) {
            r.count_rate_limited();
            if (xdp_block_ms_ != 0) {
                // Push the refusal down: the client's packets are dropped in XDP for a while
                // (the builder thread dedups and writes the verdict map).
                svc_.request_verdict(r.client_addr(), xdp_block_ms_);
            }
            r.respond(429, "rate limited\n");
            return filter_status::respond;
        }
        if (d.shadow_denied) {
            r.count_rate_limited_shadow();
        }
        return filter_status::proceed;
    }

private:
    static void put_headers(request_ctx& r, const filters::decision& d) noexcept {
        char num[24];
        auto put = [&](std::string_view name, std::uint64_t v) {
            auto [p, ec] = std::to_chars(num, num + sizeof(num), v);
            (void)ec;
            r.edit_response(edit_op::set, name, {num, static_cast<std::size_t>(p - num)});
        };
        put("x-ratelimit-limit", d.limit);
        put("x-ratelimit-remaining", d.remaining);
        put("x-ratelimit-reset", d.reset_s);
        if (!d.allowed) {
            put("retry-after", d.retry_after_s);  // RFC 9110 §10.2.3, delay-seconds
        }
    }

    filters::limiter* l_;
    filters::limiter_registry& reg_;
    gateway_services& svc_;
    std::uint8_t key_;
    std::string key_header_;
    std::uint32_t xdp_block_ms_;
    std::uint64_t max_delay_ns_;  // 0: no delay mode (over the limit is 429 at once)
};

result<std::unique_ptr<http_filter>> make_ratelimit(const filter_settings& s,
                                                    gateway_services& svc) {
    filters::limit_def d;
    d.identity = to_u64(s.get("@identity"));
    d.rate_milli = to_u64(s.get("@rate_milli"));
    d.burst = to_u64(s.get("@burst"));
    d.key = static_cast<std::uint8_t>(to_u64(s.get("@key")));
    d.mode = static_cast<std::uint8_t>(to_u64(s.get("@mode")));
    filters::limiter* l = svc.limiters.acquire(d);
    if (l == nullptr) {
        return error{fmt::format("limit '{}' could not be created (registry full or invalid)",
                                 s.get("limit"))};
    }
    std::string hdr(s.get("@key_header"));
    for (auto& c : hdr) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const std::uint32_t xdp_ms = static_cast<std::uint32_t>(duration_ms(s.get("xdp_block")));
    const std::uint32_t delay_ms = static_cast<std::uint32_t>(duration_ms(s.get("max_delay")));
    return std::unique_ptr<http_filter>(
        new ratelimit_filter(l, svc, d.key, std::move(hdr), xdp_ms, delay_ms));
}

// --- headers, request_headers, response_headers -----------------------------------------------

class headers_filter final : public http_filter {
public:
    struct op {
        bool response;
        edit_op kind;
        std::string name, value;
    };
    explicit headers_filter(std::vector<op> ops) : ops_(std::move(ops)) {}
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        for (const auto& o : ops_) {
            if (!o.response) {
                r.edit_request(o.kind, o.name, o.value);
            }
        }
        return filter_status::proceed;
    }
    void on_response_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        for (const auto& o : ops_) {
            if (o.response) {
                r.edit_response(o.kind, o.name, o.value);
            }
        }
    }

private:
    std::vector<op> ops_;
};

result<std::unique_ptr<http_filter>> make_headers(const filter_settings& s,
                                                  gateway_services& svc) {
    (void)svc;
    std::vector<headers_filter::op> ops;
    auto add = [&](std::string_view key, bool response, edit_op kind) {
        const bool values = kind != edit_op::remove;
        for (auto& [n, v] : split_fields(s.get(key), values)) {
            ops.push_back({response, kind, n, v});
        }
    };
    add("request_remove", false, edit_op::remove);
    add("request_set", false, edit_op::set);
    add("request_add", false, edit_op::add);
    add("response_remove", true, edit_op::remove);
    add("response_set", true, edit_op::set);
    add("response_add", true, edit_op::add);
    return std::unique_ptr<http_filter>(new headers_filter(std::move(ops)));
}

result<std::unique_ptr<http_filter>> make_set_headers(const filter_settings& s, bool response) {
    std::vector<headers_filter::op> ops;
    for (const auto& [k, v] : s.values) {
        ops.push_back({response, edit_op::set, k, v});
    }
    return std::unique_ptr<http_filter>(new headers_filter(std::move(ops)));
}

// --- cors -------------------------------------------------------------------------------------

class cors_filter final : public http_filter {
public:
    cors_filter(std::string origin, std::string methods, std::string headers, std::string max_age)
        : origin_(std::move(origin)),
          methods_(std::move(methods)),
          headers_(std::move(headers)),
          max_age_(std::move(max_age)) {}
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        if (r.header("origin").data() == nullptr) {
            return filter_status::proceed;
        }
        r.edit_response(edit_op::set, "access-control-allow-origin", origin_);
        // A preflight (OPTIONS with Access-Control-Request-Method) is answered here.
        if (r.method() == http::method::options &&
            r.header("access-control-request-method").data() != nullptr) {
            if (!methods_.empty()) {
                r.edit_response(edit_op::set, "access-control-allow-methods", methods_);
            }
            if (!headers_.empty()) {
                r.edit_response(edit_op::set, "access-control-allow-headers", headers_);
            }
            if (!max_age_.empty()) {
                r.edit_response(edit_op::set, "access-control-max-age", max_age_);
            }
            r.respond(204);
            return filter_status::respond;
        }
        return filter_status::proceed;
    }

private:
    std::string origin_, methods_, headers_, max_age_;
};

result<std::unique_ptr<http_filter>> make_cors(const filter_settings& s, gateway_services& svc) {
    (void)svc;
    return std::unique_ptr<http_filter>(
        new cors_filter(std::string(s.get("allow_origin")), std::string(s.get("allow_methods")),
                        std::string(s.get("allow_headers")), std::string(s.get("max_age"))));
}

// --- breaker ----------------------------------------------------------------------------------

// Concurrency caps of the chosen cluster (Envoy's circuit breakers): over max_requests (or
// max_pending_requests while the request waits for a connection) the answer is 503 at once.
class breaker_filter final : public http_filter {
public:
    std::uint32_t state_size() const noexcept override { return 1; }
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        auto* held = static_cast<std::uint8_t*>(state);
        const cluster_rt* c = r.cluster();
        if (c == nullptr || c->breaker == nullptr) {
            return filter_status::proceed;
        }
        if (!c->breaker->try_acquire(filters::cb_kind::requests)) {
            r.count_breaker_rejected();
            r.edit_response(edit_op::set, "x-sluice-breaker", "open");
            r.respond(503, "circuit breaker open\n");
            return filter_status::respond;
        }
        *held = 1;
        return filter_status::proceed;
    }
    void on_complete(request_ctx& r, void* state) noexcept override {
        auto* held = static_cast<std::uint8_t*>(state);
        if (*held != 0 && r.cluster() != nullptr && r.cluster()->breaker != nullptr) {
            r.cluster()->breaker->release(filters::cb_kind::requests);
            *held = 0;
        }
    }
};

result<std::unique_ptr<http_filter>> make_breaker(const filter_settings& s,
                                                  gateway_services& svc) {
    (void)s, (void)svc;
    return std::unique_ptr<http_filter>(new breaker_filter());
}

// --- trace ------------------------------------------------------------------------------------

// W3C Trace Context: keeps a valid incoming trace id (a new span id becomes the parent for the
// upstream), starts a trace when there is none or it is invalid, and always sets x-request-id
// (kept when valid, else a new UUID v4) on the upstream request and the response.
class trace_filter final : public http_filter {
public:
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        filters::fast_rng& rng = r.rng();
        filters::traceparent tp;
        const auto incoming = r.header("traceparent");
        const auto st = filters::propagate(incoming.data() != nullptr ? incoming : "", rng, tp);
        (void)st;
        char buf[filters::traceparent_len];
        filters::format_traceparent(tp, std::span<char, filters::traceparent_len>(buf));
        r.edit_request(edit_op::set, "traceparent", {buf, sizeof(buf)});
        // The trace id is characters 3..34 of the header.
        std::memcpy(r.trace_id, buf + 3, 32);
        r.trace_id[32] = 0;
        const auto ts = r.header("tracestate");
        if (ts.data() != nullptr) {
            const auto keep = filters::tracestate_to_forward(ts);
            if (keep.empty()) {
                r.edit_request(edit_op::remove, "tracestate");
            }
        }
        const auto rid = r.header("x-request-id");
        if (rid.data() != nullptr && filters::request_id_valid(rid)) {
            const std::size_t n = std::min(rid.size(), sizeof(r.request_id));
            std::memcpy(r.request_id, rid.data(), n);
            r.request_id_len = static_cast<std::uint8_t>(n);
        } else {
            filters::format_uuid_v4(rng, std::span<char, filters::uuid_len>(r.request_id,
                                                                              filters::uuid_len));
            r.request_id_len = filters::uuid_len;
            r.edit_request(edit_op::set, "x-request-id", {r.request_id, r.request_id_len});
        }
        return filter_status::proceed;
    }
    void on_response_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        if (r.request_id_len != 0 && !r.local_reply()) {
            r.edit_response(edit_op::set, "x-request-id", {r.request_id, r.request_id_len});
        }
    }
};

result<std::unique_ptr<http_filter>> make_trace(const filter_settings& s, gateway_services& svc) {
    (void)s, (void)svc;
    return std::unique_ptr<http_filter>(new trace_filter());
}

// --- auth -------------------------------------------------------------------------------------

class auth_filter final : public http_filter {
public:
    explicit auth_filter(filters::auth_policy p) : p_(std::move(p)) {}
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        (void)state;
        filters::auth_request q;
        q.method = r.method_name();
        q.path_query = r.path_query();
        q.ctx = &r;
        q.header = [](const void* ctx, std::string_view name) noexcept {
            return static_cast<const request_ctx*>(ctx)->header(name);
        };
        const auto res = filters::check(p_, q, r.now_ms() / 1000 + r.unix_offset_s(),
                                        r.auth_counters());
        switch (res) {
            case filters::auth_result::ok:
                return filter_status::proceed;
            case filters::auth_result::missing:
                r.edit_response(edit_op::set, "www-authenticate", p_.challenge());
                r.respond(401, "credentials required\n");
                return filter_status::respond;
            case filters::auth_result::denied:
                r.respond(403, "forbidden\n");
                return filter_status::respond;
        }
        return filter_status::proceed;
    }

private:
    filters::auth_policy p_;
};

result<std::unique_ptr<http_filter>> make_auth(const filter_settings& s, gateway_services& svc) {
    (void)svc;
    auto mode = filters::parse_auth_mode(s.get("mode"));
    if (!mode) {
        return error{mode.message()};
    }
    filters::auth_settings as;
    as.mode = mode.value();
    as.keys = std::string(s.get("keys"));
    as.header = std::string(s.get("header"));
    as.secret = std::string(s.get("secret"));
    if (const auto skew = s.get("max_skew"); !skew.empty()) {
        as.max_skew_s = duration_ms(skew) / 1000;
    }
    auto p = filters::auth_policy::build(as);
    if (!p) {
        return error{p.message()};
    }
    return std::unique_ptr<http_filter>(new auth_filter(std::move(p).value()));
}

// --- accesslog --------------------------------------------------------------------------------

class accesslog_filter final : public http_filter {
public:
    explicit accesslog_filter(filters::access_log* log) : log_(log) {}
    void on_complete(request_ctx& r, void* state) noexcept override {
        (void)state;
        if (log_ == nullptr) {
            r.count_log_dropped();
            return;
        }
        filters::access_record rec;
        rec.unix_ns = r.start_unix_ns();
        rec.bytes_in = r.bytes_in();
        rec.bytes_out = r.bytes_out();
        rec.latency_us = static_cast<std::uint32_t>(r.elapsed_us());
        rec.client_ip_be = r.client_addr();
        rec.client_port = r.client_port();
        rec.upstream_ip_be = r.upstream_addr();
        rec.upstream_port = r.upstream_port();
        rec.status = r.status();
        rec.set_method(r.method_name());
        rec.set_path(r.path());
        rec.set_trace_id({r.trace_id, std::strlen(r.trace_id)});
        rec.set_request_id({r.request_id, r.request_id_len});
        if (r.route() != nullptr) {
            rec.set_route(r.route()->name);
        }
        if (!log_->submit(rec)) {
            r.count_log_dropped();
        }
    }
    filter_status on_request_headers(request_ctx& r, void* state) noexcept override {
        (void)r, (void)state;
        return filter_status::proceed;
    }

private:
    filters::access_log* log_;
};

result<std::unique_ptr<http_filter>> make_accesslog(const filter_settings& s,
                                                    gateway_services& svc) {
    (void)s;
    return std::unique_ptr<http_filter>(new accesslog_filter(svc.access_log.get()));
}

const std::array<filter_factory, 9> table{{
    {"rate_limit", &make_ratelimit},
    {"request_headers",
     [](const filter_settings& s, gateway_services&) { return make_set_headers(s, false); }},
    {"response_headers",
     [](const filter_settings& s, gateway_services&) { return make_set_headers(s, true); }},
    {"cors", &make_cors},
    {"trace", &make_trace},
    {"auth", &make_auth},
    {"headers", &make_headers},
    {"breaker", &make_breaker},
    {"accesslog", &make_accesslog},
}};

}  // namespace

std::span<const filter_factory> builtin_filters() noexcept { return table; }

}  // namespace sluice::dp::proxy
