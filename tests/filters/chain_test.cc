// The built-in filters through the real chain runner (dataplane/proxy/filter_chain.hh) on a
// real, traffic-less gateway worker whose config the real config_hub compiled from YAML
// (tests/filters/chain_harness.hh): header edits both ways, HMAC auth answers, and rate_limit's
// delay mode pausing the chain on the worker's timer wheel and resuming after the filter.
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <string>

#include "chain_harness.hh"

namespace sluice::dp::proxy {
namespace {

const std::string yaml = R"(listeners:
  - { name: web, address: 0.0.0.0, port: 8080, filters: [ { name: trace } ] }
clusters:
  - name: c
    endpoints: [ { address: 198.18.1.1, port: 9001 } ]
rate_limits:
  - { name: wide, rate: 1000, burst: 1000, key: client_ip }
  - { name: queue, rate: 10, burst: 1, key: route }
routes:
  - name: plain
    match: { path: { prefix: /plain } }
    action:
      cluster: c
      filters:
        - { name: rate_limit, settings: { limit: wide } }
        - { name: headers, settings: { request_set: "x-gw: sluice", response_set: "x-by: s" } }
  - name: signed
    match: { path: { prefix: /signed } }
    action:
      cluster: c
      filters: [ { name: auth, settings: { mode: hmac, secret: k, max_skew: 1h } } ]
  - name: delayed
    match: { path: { prefix: /delayed } }
    action:
      cluster: c
      filters:
        - { name: rate_limit, settings: { limit: queue, max_delay: 250ms } }
        - { name: headers, settings: { request_set: "x-after: yes" } }
)";

test::chain_harness& harness() {
    static test::chain_harness h(yaml);
    return h;
}

bool has_edit(const request& r, bool response, std::string_view name, std::string_view value) {
    for (const auto& e : response ? r.response_edits() : r.request_edits()) {
        if (r.edit_text(e.name_off, e.name_len) == name &&
            r.edit_text(e.value_off, e.value_len) == value) {
            return true;
        }
    }
    return false;
}

std::string sign(std::string_view msg) {
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), "k", 1, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac,
         &len);
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += "0123456789abcdef"[mac[i] >> 4];
        out += "0123456789abcdef"[mac[i] & 15];
    }
    return out;
}

TEST(filter_chain, listener_then_route_filters_run_and_edit_both_ways) {
    auto& h = harness();
    h.parse("GET /plain/x HTTP/1.1\r\nHost: a\r\n\r\n");
    request& r = h.start("plain");
    EXPECT_EQ(run_request_chain(r), chain_status::proceed);
    EXPECT_EQ(r.filters_run, 3);  // trace (listener), rate_limit, headers
    EXPECT_TRUE(has_edit(r, false, "x-gw", "sluice"));
    EXPECT_NE(r.trace_id[0], 0);
    r.status_ = 200;
    run_response_chain(r);
    EXPECT_TRUE(has_edit(r, true, "x-by", "s"));
    EXPECT_TRUE(has_edit(r, true, "x-ratelimit-limit", "1000"));
    run_complete_chain(r);
    h.finish();
}

TEST(filter_chain, hmac_auth_answers_401_403_or_proceeds) {
    auto& h = harness();
    const std::string ts = std::to_string(h.unix_now_s());
    struct row {
        std::string extra;
        chain_status want;
        std::uint16_t status;
    };
    const row rows[] = {
        {"", chain_status::respond, 401},
        {"x-timestamp: " + ts + "\r\nx-signature: " + std::string(64, '0') + "\r\n",
         chain_status::respond, 403},
        {"x-timestamp: " + ts + "\r\nx-signature: " + sign("GET\n/signed?a=1\n" + ts) + "\r\n",
         chain_status::proceed, 0},
    };
    for (const auto& w : rows) {
        SCOPED_TRACE(w.extra);
        h.parse("GET /signed?a=1 HTTP/1.1\r\nHost: a\r\n" + w.extra + "\r\n");
        request& r = h.start("signed");
        EXPECT_EQ(run_request_chain(r), w.want);
        EXPECT_EQ(r.local_status_, w.status);
        run_complete_chain(r);
        h.finish();
    }
}

TEST(filter_chain, rate_limit_delay_mode_pauses_on_the_wheel_and_resumes_after_the_filter) {
    auto& h = harness();
    auto& wheel = h.gw().timers();
    h.parse("GET /delayed HTTP/1.1\r\nHost: a\r\n\r\n");
    // 10/s, burst 1, max_delay 250 ms: the first passes, the next two wait ~100 and ~200 ms for
    // their tokens, the fourth (300 ms away) is refused.
    const std::uint64_t want_wait[] = {0, 100, 200};
    for (std::uint64_t wait : want_wait) {
        SCOPED_TRACE(wait);
        request& r = h.start("delayed");
        const chain_status st = run_request_chain(r);
        if (wait == 0) {
            EXPECT_EQ(st, chain_status::proceed);
            h.finish();
            continue;
        }
        ASSERT_EQ(st, chain_status::pause);
        EXPECT_TRUE(r.paused);
        EXPECT_EQ(r.filters_run, 2);  // trace, rate_limit; headers has not run yet
        EXPECT_FALSE(has_edit(r, false, "x-after", "yes"));
        ASSERT_TRUE(r.wake.armed());
        const std::uint64_t in = r.wake.expiry() - wheel.now();
        EXPECT_GE(in, wait - 5);  // ms ticks; the test itself takes some time
        EXPECT_LE(in, wait + 1);
        // What request_ctx::resume() does when the timer fires: the chain goes on after the
        // filter that paused (the token is already taken; it is not checked again).
        r.paused = false;
        EXPECT_EQ(run_request_chain(r), chain_status::proceed);
        EXPECT_EQ(r.filters_run, 3);
        EXPECT_TRUE(has_edit(r, false, "x-after", "yes"));
        h.finish();  // cancels the wake timer
        EXPECT_FALSE(r.wake.armed());
    }
    request& r = h.start("delayed");
    EXPECT_EQ(run_request_chain(r), chain_status::respond);
    EXPECT_EQ(r.local_status_, 429);
    EXPECT_FALSE(r.wake.armed());
    h.finish();
}

}  // namespace
}  // namespace sluice::dp::proxy
