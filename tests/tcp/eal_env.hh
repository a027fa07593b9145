// Shared by the mbuf tests and eal_main.cc: the pool that eal_main creates after EAL init.
#pragma once

#include <cstdint>

struct rte_mempool;

namespace sluice::dp::test {
inline constexpr unsigned test_pool_size = 1023;  // 2^n - 1: what rte_mempool sizes best
extern rte_mempool* test_pool;
}  // namespace sluice::dp::test
