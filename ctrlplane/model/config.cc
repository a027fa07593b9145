// Small helpers over the config value types (control plane).
#include "ctrlplane/model/config.hh"

#include "ctrlplane/shm/contract.hh"

namespace sluice::cp::model {

namespace {
// FNV-1a continued over more bytes (shm::fnv1a64 starts from the offset basis).
std::uint64_t mix(std::uint64_t h, const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;  // FNV prime
    }
    return h;
}
template <typename T>
std::uint64_t mix_value(std::uint64_t h, const T& v) noexcept {
    return mix(h, &v, sizeof v);
}
std::uint64_t mix_string(std::uint64_t h, const std::string& s) noexcept {
    h = mix_value(h, s.size());  // length first: "ab"+"c" differs from "a"+"bc"
    return mix(h, s.data(), s.size());
}
}  // namespace

std::uint64_t rate_limit_identity(const rate_limit& l) noexcept {
    std::uint64_t h = shm::fnv1a64("sluice.rate_limit.v1", 20);
    h = mix_string(h, l.name);
    h = mix_value(h, l.rate);
    h = mix_value(h, l.burst);
    h = mix_value(h, static_cast<std::uint8_t>(l.key));
    h = mix_string(h, l.key_header);
    h = mix_value(h, static_cast<std::uint8_t>(l.mode));
    return h == 0 ? 1 : h;  // 0 is reserved for "no limit"
}

std::string_view to_string(protocol p) noexcept {
    switch (p) {
        case protocol::http:
            return "http";
        case protocol::tcp:
            return "tcp";
        case protocol::binary:
            return "binary";
    }
    return "?";
}

std::string_view to_string(lb_policy p) noexcept {
    switch (p) {
        case lb_policy::round_robin:
            return "round_robin";
        case lb_policy::least_request:
            return "least_request";
        case lb_policy::maglev:
            return "maglev";
    }
    return "?";
}

}  // namespace sluice::cp::model
