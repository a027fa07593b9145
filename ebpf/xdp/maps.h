/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Maps of the Sluice XDP program. Included only by sluice_xdp.bpf.c.
 *
 * Every map except xsks_map is pinned by name (LIBBPF_PIN_BY_NAME): whoever
 * loads the object (our loader, or DPDK's net_af_xdp PMD via xdp_prog=) reuses
 * the maps already pinned under the pin root (/sys/fs/bpf by default), so the
 * control plane's block list, services and counters survive a dataplane restart
 * and are shared between the loader and a PMD-loaded copy. Names carry the sl_
 * prefix because /sys/fs/bpf is a machine-wide namespace, and stay within
 * BPF_OBJ_NAME_LEN - 1 = 15 characters.
 *
 * xsks_map is deliberately NOT pinned: its entries are AF_XDP socket fds owned
 * by one process, and DPDK's af_xdp PMD looks it up by exactly this name
 * (drivers/net/af_xdp/rte_eth_af_xdp.c, load_custom_xdp_prog) and inserts each
 * socket at key = its queue index.
 */
#ifndef SLUICE_XDP_MAPS_H
#define SLUICE_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SLUICE_XDP_MAX_QUEUES);
	__type(key, __u32);   /* RX queue index */
	__type(value, __u32); /* AF_XDP socket fd (written by userspace) */
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_XDP_MAX_SERVICES);
	__type(key, struct sluice_xdp_service_key);
	__type(value, struct sluice_xdp_service_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_services SEC(".maps");

/* IPv4 service addresses (network order), value = number of services on it.
 * Lets ARP steering ask "is this one of ours?" without knowing a port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_XDP_MAX_SERVICE_ADDRS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_svc_addr4 SEC(".maps");

/* IPv4 service fast path (SLUICE_XDP_F_SVC_HASH clear): ARRAY lookups are inlined by the
 * verifier, so steering a service packet costs no helper call before the redirect. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_xdp_svc_fast);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_svc_fast SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* every port */
	__type(key, __u32);
	__type(value, struct sluice_xdp_port_slots);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_svc_ports SEC(".maps");

/* IPv6 service fast path (SLUICE_XDP_F_SVC6_HASH clear); ports in sl_svc_ports.tcp6/udp6. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_xdp_svc_fast6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_svc_fast6 SEC(".maps");

/* Block-list pre-filters (layout in the ABI header). BPF_F_MMAPABLE so the loader rewrites
 * thousands of words with plain stores instead of one syscall each; ARRAY lookups, mmapable
 * or not, are inlined by the verifier (array_map_gen_lookup). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_XDP_PF4_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_blk4_pf SEC(".maps");

/* Exact host sets of partly blocked IPv4 /24s (ABI 4, layout in the ABI header). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_XDP_HOSTS4_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sluice_xdp_hosts4_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_blk4_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_XDP_PF6_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_blk6_pf SEC(".maps");

/* Exact IPv6 /48 and /64 prefixes and the buckets they decide (ABI 4, layout in the ABI
 * header). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_XDP_PF6_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_blk6_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_XDP_P6_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sluice_xdp_prefix6_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_blk6_pfx SEC(".maps");

/* LPM tries must be created with BPF_F_NO_PREALLOC (kernel/bpf/lpm_trie.c). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_XDP_MAX_BLOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_xdp_lpm_v4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_block_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_XDP_MAX_BLOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_xdp_lpm_v6);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_block_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_XDP_MAX_SYN_SOURCES);
	__type(key, struct sluice_xdp_addr);
	__type(value, struct sluice_xdp_syn_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_syn_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_XDP_MAX_GW_VERDICTS);
	__type(key, struct sluice_xdp_addr);
	__type(value, struct sluice_xdp_gw_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_gw_verdict SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_xdp_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_xdp_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sl_stats SEC(".maps");

#endif /* SLUICE_XDP_MAPS_H */
