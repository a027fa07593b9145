// See frame.hh.
#include "proxy/binary/frame.hh"

#include <cstring>

#include "proxy/binary/crc32.hh"

namespace sluice::dp::proxy::binary {

std::string_view to_string(frame_error e) noexcept {
    switch (e) {
        case frame_error::none:
            return "none";
        case frame_error::bad_magic:
            return "bad_magic";
        case frame_error::unsupported_version:
            return "unsupported_version";
        case frame_error::length_over_max:
            return "length_over_max";
        case frame_error::crc_mismatch:
            return "crc_mismatch";
        case frame_error::no_route:
            return "no_route";
        case frame_error::upstream_unavailable:
            return "upstream_unavailable";
        case frame_error::internal:
            return "internal";
    }
    return "unknown";
}

void encode_header(std::uint8_t command, std::uint32_t length,
                   std::span<std::uint8_t, header_size> out) noexcept {
    store_be32(out.data(), frame_magic);
    out[4] = protocol_version;
    out[5] = command;
    store_be32(out.data() + 6, length);
}

void encode_trailer(std::uint32_t crc, std::span<std::uint8_t, trailer_size> out) noexcept {
    store_be32(out.data(), crc);
}

std::size_t encode_frame(std::uint8_t command, std::span<const std::uint8_t> payload,
                         std::span<std::uint8_t> out) noexcept {
    const std::size_t total = payload.size() + frame_overhead;
    if (out.size() < total || payload.size() > UINT32_MAX) {
        return 0;
    }
    encode_header(command, static_cast<std::uint32_t>(payload.size()), out.first<header_size>());
    if (!payload.empty()) {
        std::memcpy(out.data() + header_size, payload.data(), payload.size());
    }
    encode_trailer(crc32(payload), out.subspan(header_size + payload.size()).first<trailer_size>());
    return total;
}

std::size_t encode_error_frame(frame_error code, std::string_view reason,
                               std::span<std::uint8_t> out) noexcept {
    std::size_t n = reason.size();
    if (n > max_error_reason) {
        n = max_error_reason;
        // Back up over UTF-8 continuation bytes (10xxxxxx) so we never split a character.
        while (n > 0 && (static_cast<std::uint8_t>(reason[n]) & 0xC0) == 0x80) {
            --n;
        }
    }
    const std::size_t payload_len = 1 + n;
    const std::size_t total = payload_len + frame_overhead;
    if (out.size() < total) {
        return 0;
    }
    encode_header(error_command, static_cast<std::uint32_t>(payload_len), out.first<header_size>());
    std::uint8_t* p = out.data() + header_size;
    p[0] = static_cast<std::uint8_t>(code);
    if (n > 0) {
        std::memcpy(p + 1, reason.data(), n);
    }
    encode_trailer(crc32(p, payload_len),
                   out.subspan(header_size + payload_len).first<trailer_size>());
    return total;
}

}  // namespace sluice::dp::proxy::binary
