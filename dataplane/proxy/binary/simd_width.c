/* EAL's SIMD width limit for crc32.cc. rte_vect_get_max_simd_bitwidth() is experimental in
 * DPDK 22.11 and its header declares it without extern "C", so C++ cannot link to it: this C
 * shim calls it. Any thread, after rte_eal_init(). */
#define ALLOW_EXPERIMENTAL_API 1
#include <rte_vect.h>

#include <stdint.h>

uint16_t sluice_binary_max_simd_bitwidth(void);

uint16_t sluice_binary_max_simd_bitwidth(void) { return rte_vect_get_max_simd_bitwidth(); }
