// HMAC-SHA256 (RFC 2104, FIPS 180-4) with the key's pads hashed once, for the auth filter
// (sluice::dp::filters).
//
// Why not EVP_MAC or HMAC_CTX: in OpenSSL 3 both go through providers; EVP_MAC_init with a key
// re-fetches and re-keys, EVP_MAC_CTX_dup and HMAC_CTX_copy allocate, and the one-shot SHA256()
// allocates an EVP_MD_CTX (EVP_Q_digest). Per request we want no allocation, so the builder
// hashes K0 ⊕ ipad and K0 ⊕ opad into two SHA256_CTX states once (RFC 2104 §4 "Implementation
// Note": precomputed intermediate results), and mac() copies those plain structs onto the stack
// and continues them with the low-level SHA256_Update/SHA256_Final. Those calls are deprecated
// in OpenSSL 3.0 but present (they are what the provider uses underneath, same SHA-NI/AVX2
// assembly), and they never allocate. Only this file's .cc includes OpenSSL.
//
// Threading: built on the config builder thread (allocates once); mac() is const, reentrant,
// callable from any lcore at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace sluice::dp::filters {

inline constexpr std::size_t sha256_len = 32;
using sha256_digest = std::array<std::uint8_t, sha256_len>;

// SHA-256 of the concatenation of `pieces` (low-level API: no allocation).
void sha256(std::span<const std::string_view> pieces, sha256_digest& out) noexcept;

namespace detail {
struct hmac_state;
}

class hmac_sha256 {
public:
    // Hashes the key's pads (a key longer than the 64-byte block is first hashed, RFC 2104 §2).
    explicit hmac_sha256(std::string_view key);
    ~hmac_sha256();
    hmac_sha256(hmac_sha256&&) noexcept;
    hmac_sha256& operator=(hmac_sha256&&) noexcept;

    // HMAC of the concatenation of `pieces`. No allocation.
    void mac(std::span<const std::string_view> pieces, sha256_digest& out) const noexcept;

private:
    std::unique_ptr<detail::hmac_state> s_;
};

// Constant-time equality of two digests (CRYPTO_memcmp): the time does not depend on where
// they differ.
[[nodiscard]] bool digest_equal(const sha256_digest& a, const sha256_digest& b) noexcept;

}  // namespace sluice::dp::filters
