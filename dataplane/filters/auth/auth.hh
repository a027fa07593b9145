// Request authentication for the gateway's auth filter (sluice::dp::filters): API keys and
// HMAC-signed requests.
//
// Modes (filter settings, docs/filters.md):
//   api_key  the client sends one of the configured keys in `header` (default x-api-key).
//            We store SHA-256 digests of the keys, hash the presented value and compare it with
//            every digest in constant time (CRYPTO_memcmp, no early exit), so neither the
//            position of a mismatch nor the keys' lengths nor which key matched leak through
//            timing; only the number of configured keys does.
//   hmac     the client sends `x-timestamp: <unix seconds>` and
//            `<header, default x-signature>: hex(HMAC-SHA256(secret,
//                METHOD "\n" PATH_WITH_QUERY "\n" TIMESTAMP))`, TIMESTAMP being the
//            x-timestamp value exactly as sent. Rejected when |now − ts| > max_skew (default
//            300 s; equal is accepted) or when the MAC differs (constant-time comparison).
// Outcomes: ok; missing (absent or empty credentials) → 401 with WWW-Authenticate; denied
// (wrong key, malformed/expired/mismatched signature) → 403.
//
// Threading: auth_policy::build runs on the config builder thread (allocates, copies every
// string: nothing points into the snapshot). check() runs per request on a worker lcore: no
// allocation, no exceptions, no syscalls; the policy is immutable and shared by all lcores;
// counters are the calling lcore's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hh"
#include "filters/auth/hmac_sha256.hh"

namespace sluice::dp::filters {

enum class auth_mode : std::uint8_t { api_key, hmac };
enum class auth_result : std::uint8_t { ok, missing /* 401 */, denied /* 403 */ };

// "api_key" / "hmac"; anything else is an error naming the value.
[[nodiscard]] result<auth_mode> parse_auth_mode(std::string_view s);

// The filter's settings as the control plane's filter registry carries them.
struct auth_settings {
    auth_mode mode = auth_mode::api_key;
    std::string keys;    // api_key: "k1,k2" (comma-separated; spaces around keys are trimmed)
    std::string header;  // empty: x-api-key (api_key) or x-signature (hmac)
    std::string secret;  // hmac
    std::uint64_t max_skew_s = 300;  // hmac; issue 6 default
};

// Per-lcore counters (plain integers, summed by the stats reader).
struct auth_counters {
    std::uint64_t ok = 0;
    std::uint64_t missing = 0;
    std::uint64_t denied_key = 0;        // api_key: no key matched
    std::uint64_t denied_malformed = 0;  // hmac: timestamp not decimal / signature not 64 hex
    std::uint64_t denied_expired = 0;    // hmac: outside max_skew
    std::uint64_t denied_signature = 0;  // hmac: MAC mismatch
};

// What check() needs from the request, without tying it to one HTTP codec: a plain function
// pointer and its context (no std::function). `header` (required, non-null) returns the value
// of the first header with that (lower-case) name, or an empty view when absent; the views must
// stay valid for the duration of check().
struct auth_request {
    std::string_view method;      // e.g. "GET"
    std::string_view path_query;  // request-target in origin-form: "/a/b?x=1"
    std::string_view (*header)(const void* ctx, std::string_view name) noexcept = nullptr;
    const void* ctx = nullptr;
};

class auth_policy {
public:
    // Validates and compiles the settings: api_key needs at least one non-empty key; hmac a
    // non-empty secret; the header name must be a non-empty HTTP token (stored lower-case).
    [[nodiscard]] static result<auth_policy> build(const auth_settings& s);

    [[nodiscard]] auth_mode mode() const noexcept { return mode_; }
    // Lower-case header carrying the key or the signature.
    [[nodiscard]] std::string_view header() const noexcept { return header_; }
    // Value for WWW-Authenticate on 401 (RFC 9110 §11.6.1): `ApiKey header="x-api-key"` or
    // `HMAC-SHA256 header="x-signature"`.
    [[nodiscard]] std::string_view challenge() const noexcept { return challenge_; }
    [[nodiscard]] std::uint64_t max_skew_s() const noexcept { return max_skew_s_; }

private:
    friend auth_result check(const auth_policy&, const auth_request&, std::uint64_t,
                             auth_counters&) noexcept;
    auth_policy() = default;

    auth_mode mode_ = auth_mode::api_key;
    std::string header_;
    std::string challenge_;
    std::vector<sha256_digest> key_digests_;
    std::vector<hmac_sha256> hmac_;  // 0 or 1 element (hmac_sha256 has no empty state)
    std::uint64_t max_skew_s_ = 300;
};

// Checks one request at `now_s` (unix seconds, from the lcore's clock). No allocation.
[[nodiscard]] auth_result check(const auth_policy& p, const auth_request& req, std::uint64_t now_s,
                                auth_counters& counters) noexcept;

inline constexpr std::string_view timestamp_header = "x-timestamp";

}  // namespace sluice::dp::filters
