// Resolving parser slices against the mbuf chain the message arrived in (zero-copy): a token that
// lies in one segment is returned as a view into that segment; one that straddles segments (rare:
// only at segment boundaries) is copied into caller-provided scratch.
//
// Threading: any lcore that owns the chain. The view lives as long as the mbufs (or scratch).
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_types.hh"

namespace sluice::dp::proxy::http {

// `head_chain`: the chain holding the message; `chain_off_of_msg_start`: byte offset within the
// chain's data of the message's first byte (slice offset 0). Returns the slice's bytes: a view
// into one segment when it lies in one, else a copy in scratch. Returns an empty view when the
// chain is too short or the copy would not fit in scratch_len (callers size scratch for the
// longest token they resolve, e.g. limits.max_request_line).
std::string_view resolve(const rte_mbuf* head_chain, std::uint32_t chain_off_of_msg_start, slice s,
                         char* scratch, std::size_t scratch_len) noexcept;

}  // namespace sluice::dp::proxy::http
