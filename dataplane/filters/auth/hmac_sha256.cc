// See hmac_sha256.hh. OpenSSL 3 marks the SHA256_* calls deprecated; we use them on purpose
// (no allocation per call), so the deprecation warnings are suppressed for this file only.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "filters/auth/hmac_sha256.hh"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace sluice::dp::filters {

namespace detail {
struct hmac_state {
    SHA256_CTX inner;  // after K0 ⊕ ipad
    SHA256_CTX outer;  // after K0 ⊕ opad
};
}  // namespace detail

void sha256(std::span<const std::string_view> pieces, sha256_digest& out) noexcept {
    SHA256_CTX c;
    SHA256_Init(&c);
    for (auto p : pieces) {
        SHA256_Update(&c, p.data(), p.size());
    }
    SHA256_Final(out.data(), &c);
    OPENSSL_cleanse(&c, sizeof(c));
}

hmac_sha256::hmac_sha256(std::string_view key) : s_(std::make_unique<detail::hmac_state>()) {
    constexpr std::size_t block = 64;  // SHA-256 block size (FIPS 180-4 §1)
    std::uint8_t k0[block] = {};
    if (key.size() > block) {
        sha256_digest d;
        const std::string_view one[] = {key};
        sha256(one, d);
        std::memcpy(k0, d.data(), d.size());
    } else if (!key.empty()) {
        std::memcpy(k0, key.data(), key.size());
    }
    std::uint8_t pad[block];
    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k0[i] ^ 0x36;  // RFC 2104 §2: ipad
    }
    SHA256_Init(&s_->inner);
    SHA256_Update(&s_->inner, pad, block);
    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k0[i] ^ 0x5C;  // opad
    }
    SHA256_Init(&s_->outer);
    SHA256_Update(&s_->outer, pad, block);
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(pad, sizeof(pad));
}

hmac_sha256::~hmac_sha256() {
    if (s_) {
        OPENSSL_cleanse(s_.get(), sizeof(*s_));
    }
}
hmac_sha256::hmac_sha256(hmac_sha256&&) noexcept = default;
hmac_sha256& hmac_sha256::operator=(hmac_sha256&&) noexcept = default;

void hmac_sha256::mac(std::span<const std::string_view> pieces, sha256_digest& out) const noexcept {
    SHA256_CTX c = s_->inner;
    for (auto p : pieces) {
        SHA256_Update(&c, p.data(), p.size());
    }
    sha256_digest inner;
    SHA256_Final(inner.data(), &c);
    c = s_->outer;
    SHA256_Update(&c, inner.data(), inner.size());
    SHA256_Final(out.data(), &c);
}

bool digest_equal(const sha256_digest& a, const sha256_digest& b) noexcept {
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sluice::dp::filters
