// Zero-copy slices of mbuf chains, for forwarding a decoded frame (sluice::dp::proxy::binary).
//
// The decoder reports a frame as a byte range of the connection's stream; the gateway holds the
// received chains and must send exactly that range upstream. slice_chain() builds a new chain of
// indirect mbufs (rte_pktmbuf_attach) over the range: no byte is copied, each source segment
// touched gets one more reference, and the source chain stays the caller's (it may hold the next
// frame's first bytes, which go elsewhere).
//
// Threading: the calling lcore; `pool` should be that lcore's (indirect mbufs need no data room:
// a pool created with data_room_size 0 is enough). No heap allocation: one mbuf from `pool` per
// source segment the range touches.
#pragma once

#include <cstdint>

struct rte_mbuf;
struct rte_mempool;

namespace sluice::dp::proxy::binary {

// A chain over `len` bytes starting `off` bytes into chain `m`, or nullptr when `pool` ran out
// (nothing is leaked) or len is 0. Precondition: m holds at least off + len bytes. The caller owns
// the returned chain (tcp_stack::send_mbuf takes it); `m` is not modified except for its
// segments' reference counts.
[[nodiscard]] rte_mbuf* slice_chain(rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                                    rte_mempool* pool) noexcept;

}  // namespace sluice::dp::proxy::binary
