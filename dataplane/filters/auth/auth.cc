// See auth.hh.
#include "filters/auth/auth.hh"

#include <cctype>

namespace sluice::dp::filters {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// RFC 9110 §5.6.2 tchar.
bool is_token(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) {
            return false;
        }
    }
    return true;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Decimal unix seconds, 1..20 digits, no sign, no overflow.
bool parse_seconds(std::string_view s, std::uint64_t& out) noexcept {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    out = v;
    return true;
}

auth_result check_api_key(std::string_view key, const std::vector<sha256_digest>& digests,
                          auth_counters& c) noexcept {
    sha256_digest d;
    const std::string_view one[] = {key};
    sha256(one, d);
    // Every digest is compared, whatever the earlier ones gave: the time says nothing about
    // which key matched.
    unsigned match = 0;
    for (const auto& k : digests) {
        match |= digest_equal(d, k) ? 1U : 0U;
    }
    if (match == 0) {
        ++c.denied_key;
        return auth_result::denied;
    }
    ++c.ok;
    return auth_result::ok;
}

}  // namespace

result<auth_mode> parse_auth_mode(std::string_view s) {
    if (s == "api_key") {
        return auth_mode::api_key;
    }
    if (s == "hmac") {
        return auth_mode::hmac;
    }
    return error{"auth mode '" + std::string(s) + "' is not one of api_key, hmac"};
}

result<auth_policy> auth_policy::build(const auth_settings& s) {
    auth_policy p;
    p.mode_ = s.mode;
    std::string_view header = trim(s.header);
    if (header.empty()) {
        header = s.mode == auth_mode::api_key ? "x-api-key" : "x-signature";
    }
    if (!is_token(header)) {
        return error{"auth header '" + std::string(s.header) + "' is not an HTTP field name"};
    }
    p.header_.reserve(header.size());
    for (char c : header) {
        p.header_.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (s.mode == auth_mode::api_key) {
        std::string_view rest = s.keys;
        while (true) {
            const auto comma = rest.find(',');
            const std::string_view k = trim(rest.substr(0, comma));
            if (!k.empty()) {
                sha256_digest d;
                const std::string_view one[] = {k};
                sha256(one, d);
                p.key_digests_.push_back(d);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
        if (p.key_digests_.empty()) {
            return error{"auth mode api_key needs at least one key in 'keys' (comma-separated)"};
        }
        p.challenge_ = "ApiKey header=\"" + p.header_ + "\"";
    } else {
        if (s.secret.empty()) {
            return error{"auth mode hmac needs a non-empty 'secret'"};
        }
        if (p.header_ == timestamp_header) {
            return error{"auth mode hmac: the signature header cannot be x-timestamp"};
        }
        p.hmac_.emplace_back(s.secret);
        p.max_skew_s_ = s.max_skew_s;
        p.challenge_ = "HMAC-SHA256 header=\"" + p.header_ + "\"";
    }
    return p;
}

auth_result check(const auth_policy& p, const auth_request& req, std::uint64_t now_s,
                  auth_counters& c) noexcept {
    const std::string_view cred = req.header(req.ctx, p.header_);
    if (p.mode_ == auth_mode::api_key) {
        if (cred.empty()) {
            ++c.missing;
            return auth_result::missing;
        }
        return check_api_key(cred, p.key_digests_, c);
    }
    const std::string_view ts = req.header(req.ctx, timestamp_header);
    if (cred.empty() || ts.empty()) {
        ++c.missing;
        return auth_result::missing;
    }
    std::uint64_t t = 0;
    sha256_digest sent;
    bool well_formed = parse_seconds(ts, t) && cred.size() == 2 * sha256_len;
    for (std::size_t i = 0; well_formed && i < sha256_len; ++i) {
        const int hi = hex_value(cred[2 * i]);
        const int lo = hex_value(cred[2 * i + 1]);
        well_formed = (hi | lo) >= 0;
        sent[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    if (!well_formed) {
        ++c.denied_malformed;
        return auth_result::denied;
    }
    // Skew before the MAC: cheaper, and an expired request is refused whatever it carries.
    const std::uint64_t skew = now_s > t ? now_s - t : t - now_s;
    if (skew > p.max_skew_s_) {
        ++c.denied_expired;
        return auth_result::denied;
    }
    const std::string_view msg[] = {req.method, "\n", req.path_query, "\n", ts};
    sha256_digest expect;
    p.hmac_.front().mac(msg, expect);
    if (!digest_equal(expect, sent)) {
        ++c.denied_signature;
        return auth_result::denied;
    }
    ++c.ok;
    return auth_result::ok;
}

}  // namespace sluice::dp::filters
