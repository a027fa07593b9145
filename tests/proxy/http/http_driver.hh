// Drives the Sluice parsers over a message cut into spans, the way the gateway feeds mbuf
// segments: head first, then the body reader, stopping at the end of the first message. Shared
// by the unit tests, the differential test and the fuzz targets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/body_reader.hh"
#include "proxy/http/request_parser.hh"
#include "proxy/http/response_parser.hh"

namespace sluice::test::http {

namespace h = sluice::dp::proxy::http;

struct outcome {
    bool complete = false;  // head and body ended without error
    bool head_done = false;
    h::error err = h::error::none;
    std::uint32_t consumed = 0;  // bytes of the message (through its end, or up to the error)
    std::string payload;
    bool operator==(const outcome&) const = default;
};

// Feeds `raw` cut at `cuts` (ascending offsets) and returns what happened. `P` is
// request_parser or response_parser (already reset).
template <typename P>
outcome drive(P& parser, h::body_reader& body, std::string_view raw,
              const std::vector<std::uint32_t>& cuts) {
    outcome o;
    std::uint32_t start = 0;
    bool in_body = false;
    auto feed_span = [&](std::uint32_t from, std::uint32_t to) {
        if (o.complete || o.err != h::error::none) {
            return;  // the message ended or failed in an earlier span
        }
        std::uint32_t at = from;
        while (at < to && !o.complete && o.err == h::error::none) {
            if (!in_body) {
                const std::uint32_t k = parser.feed_head(raw.data() + at, to - at);
                at += k;
                if (parser.head_state() == P::state::error) {
                    o.err = parser.err();
                } else if (parser.head_state() == P::state::done) {
                    o.head_done = true;
                    in_body = true;
                    body.start(parser.head().body, parser.head().content_length);
                    if (body.done()) {
                        o.complete = true;
                    }
                }
            } else {
                const auto s = body.feed(raw.data() + at, to - at);
                o.payload.append(raw.data() + at + s.payload_off, s.payload_len);
                at += s.consumed;
                if (s.err != h::error::none) {
                    o.err = s.err;
                } else if (s.done) {
                    o.complete = true;
                }
            }
        }
        o.consumed = at;
    };
    for (std::uint32_t cut : cuts) {
        feed_span(start, cut);
        start = cut;
    }
    feed_span(start, static_cast<std::uint32_t>(raw.size()));
    // A body read until close ends with the input.
    if (!o.complete && o.err == h::error::none && in_body &&
        parser.head().body == h::body_kind::until_close) {
        o.complete = true;
    }
    return o;
}

inline std::vector<std::uint32_t> every_byte(std::size_t n) {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = 1; i < n; ++i) {
        v.push_back(i);
    }
    return v;
}

}  // namespace sluice::test::http
