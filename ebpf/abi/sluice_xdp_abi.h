/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types shared by the XDP program (ebpf/xdp/sluice_xdp.bpf.c) and its C++ loader
 * (ebpf/loader/). Both sides compile this exact header, so every struct is pinned
 * with _Static_assert: a silent layout change would make the loader write map
 * entries the program misreads. Bump SLUICE_XDP_ABI_VERSION on any change; the
 * maps are pinned by name, and libbpf refuses to reuse a pinned map whose key or
 * value size differs, which turns most mismatches into a load error.
 *
 * Byte order: addresses and ports are stored in network byte order, exactly as
 * they appear on the wire, so the program compares them without swapping.
 * IPv4 addresses are stored as IPv4-mapped IPv6 (RFC 4291 §2.5.5.2,
 * ::ffff:a.b.c.d) wherever a key holds either family.
 */
#ifndef SLUICE_XDP_ABI_H
#define SLUICE_XDP_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define SLUICE_STATIC_ASSERT static_assert
#else
#define SLUICE_STATIC_ASSERT _Static_assert
#endif

/* 2: sl_svc_fast + sl_svc_ports (IPv4 service fast path).
 * 3: block-list pre-filters (sl_blk4_pf, sl_blk6_pf), IPv6 fast table (sl_svc_fast6, 8-byte
 *    sluice_xdp_port_slots), return-traffic port range in sluice_xdp_config (24 bytes),
 *    counter SLUICE_CNT_STEER_RETURN, sl_stats one per-CPU struct sluice_xdp_stats.
 * 4: exact host table for partly blocked IPv4 /24s (sl_blk4_hosts); PART now means "ask the
 *    host table, and the trie only if the /24 is not in it". Exact IPv6 /48 and /64 prefix
 *    table (sl_blk6_pfx) and its per-bucket switch (sl_blk6_exact). */
#define SLUICE_XDP_ABI_VERSION 4

/* Program name as the kernel reports it (BPF_OBJ_NAME_LEN = 16, so at most 15
 * characters). The loader identifies a stale Sluice program by this name. */
#define SLUICE_XDP_PROG_NAME "sluice_xdp"

/* Map capacities. Each is sized for a single host, not measured; raise with care,
 * LPM tries and hash maps preallocate (except LPM) their entries in kernel memory. */
#define SLUICE_XDP_MAX_QUEUES 64         /* xsks_map: one AF_XDP socket per RX queue */
#define SLUICE_XDP_MAX_SERVICES 4096     /* {addr, port, proto} tuples */
#define SLUICE_XDP_MAX_SERVICE_ADDRS 1024 /* distinct IPv4 service addresses (ARP) */
#define SLUICE_XDP_MAX_BLOCKS 16384      /* CIDRs per family */
#define SLUICE_XDP_MAX_SYN_SOURCES 65536 /* LRU: sources with a live SYN bucket */
#define SLUICE_XDP_MAX_GW_VERDICTS 65536 /* LRU: sources with a gateway verdict */
/* IPv4 service addresses the program matches without a hash lookup (sl_svc_fast). One
 * bit each in a u16 port mask. A host with more falls back to sl_services (SVC_HASH). */
#define SLUICE_XDP_FAST_ADDRS 16
/* The same for IPv6 service addresses (sl_svc_fast6); past it, SLUICE_XDP_F_SVC6_HASH. */
#define SLUICE_XDP_FAST_ADDRS6 8

/* Token-bucket limits the loader enforces so the program's fixed-point arithmetic
 * cannot overflow a u64: burst * 1e9 <= 1e15 and elapsed * rate stays below it. */
#define SLUICE_XDP_SYN_RATE_MAX 100000000u /* new connections per second per source */
#define SLUICE_XDP_SYN_BURST_MAX 1000000u
#define SLUICE_XDP_NS_PER_TOKEN 1000000000ull /* one token = one SYN = 1e9 nano-tokens */

/* Per-CPU counters: sl_stats is a one-entry PERCPU_ARRAY whose value is struct
 * sluice_xdp_stats, counters[] indexed by this enum (ABI 1-2: one map slot per counter).
 * Every packet moves exactly one *verdict* counter (PASS, REDIRECT or a DROP_*).
 * The *reason* counters from SLUICE_CNT_VERDICTS_END on move in addition: why a
 * packet was passed, or that it was steered (STEER_*), which is then followed by
 * REDIRECT, or by PASS + PASS_NO_XSK when no AF_XDP socket is bound on the queue. */
enum sluice_xdp_counter {
	/* verdicts */
	SLUICE_CNT_PASS = 0,
	SLUICE_CNT_REDIRECT,
	SLUICE_CNT_DROP_BLOCKLIST,
	SLUICE_CNT_DROP_SYN_LIMIT,
	SLUICE_CNT_DROP_GATEWAY_VERDICT,
	SLUICE_CNT_DROP_MALFORMED,
	SLUICE_CNT_VERDICTS_END,
	/* reasons (move together with PASS or REDIRECT) */
	SLUICE_CNT_PASS_TRUNCATED = SLUICE_CNT_VERDICTS_END, /* frame ended inside a header */
	SLUICE_CNT_PASS_FRAGMENT,      /* IPv4 fragment or IPv6 fragment header */
	SLUICE_CNT_PASS_NO_XSK,        /* steered, but no socket bound on this queue */
	SLUICE_CNT_PASS_NOT_SERVICE,   /* well-formed IP, no service entry */
	SLUICE_CNT_PASS_OTHER_L3,      /* neither IPv4, IPv6 nor ARP */
	SLUICE_CNT_PASS_OTHER_L4,      /* IP but not TCP/UDP (ICMP, IPv6 ext headers) */
	SLUICE_CNT_STEER_SERVICE,      /* IP packet to a service: sent to xsks_map */
	SLUICE_CNT_STEER_ARP,          /* ARP whose target is a service address: sent to xsks_map */
	SLUICE_CNT_GATEWAY_EXPIRED,    /* expired gateway verdict found and deleted */
	SLUICE_CNT_STEER_RETURN,       /* TCP to a service address, dport in the return range:
					* a reply to the dataplane's own outgoing connection */
	SLUICE_CNT_MAX,
};

struct sluice_xdp_stats {
	__u64 counters[SLUICE_CNT_MAX];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_stats) == 8 * SLUICE_CNT_MAX, "stats layout");

/* sluice_xdp_config.flags: which optional lookups can match at all. The loader sets
 * a bit after inserting the first entry and clears it when the map becomes empty,
 * so a host with no block list or gateway verdicts skips those lookups (an LPM
 * lookup costs about 18 ns per packet, measured in bench/ebpf). */
#define SLUICE_XDP_F_BLOCK_V4 (1u << 0)
#define SLUICE_XDP_F_BLOCK_V6 (1u << 1)
#define SLUICE_XDP_F_GW_VERDICTS (1u << 2)
/* Set: IPv4 services are looked up in the sl_services hash (and ARP/ICMP targets in
 * sl_svc_addr4), because the fast tables could not hold them all (more than
 * SLUICE_XDP_FAST_ADDRS addresses, or 0.0.0.0). Clear: sl_svc_fast + sl_svc_ports are
 * authoritative for IPv4. A hash lookup is a helper call: about 20-30 ns per packet on a
 * kernel with SRSO "safe RET" (measured in bench/ebpf, docs/performance.md); the fast
 * tables are ARRAY maps, whose lookups the verifier inlines. */
#define SLUICE_XDP_F_SVC_HASH (1u << 3)
/* The same for IPv6 services: set when sl_svc_fast6 could not hold every IPv6 service
 * address (more than SLUICE_XDP_FAST_ADDRS6, or ::). */
#define SLUICE_XDP_F_SVC6_HASH (1u << 4)

/* Config slot 0 of the sl_config ARRAY map. Zero means "disabled". */
struct sluice_xdp_config {
	__u32 syn_rate;  /* SYN (without ACK) per second per source address */
	__u32 syn_burst; /* bucket depth, in SYNs */
	__u32 abi_version;
	__u32 flags;     /* SLUICE_XDP_F_* */
	/* Return traffic (docs/xdp.md, "Return traffic of outgoing connections"): TCP to a
	 * service address with a destination port in [min, max] (host order) is steered to
	 * the dataplane, whose stack picks the source ports of its active opens from exactly
	 * this range. min = 0 disables. */
	__u16 return_port_min;
	__u16 return_port_max;
	__u32 reserved; /* zero */
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_config) == 24, "sluice_xdp_config layout");

/* An address of either family: IPv4 is IPv4-mapped (::ffff:a.b.c.d). */
struct sluice_xdp_addr {
	__u8 bytes[16];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_addr) == 16, "sluice_xdp_addr layout");

/* sl_services key: destination address, destination port, IP protocol. */
struct sluice_xdp_service_key {
	struct sluice_xdp_addr addr;
	__be16 port;  /* network byte order */
	__u8 proto;   /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 pad;     /* must be zero: hash keys compare all bytes */
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_service_key) == 20, "service key layout");

struct sluice_xdp_service_value {
	__u32 service_id; /* opaque to the program; for the dataplane's bookkeeping */
	__u32 flags;      /* reserved, zero */
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_service_value) == 8, "service value layout");

/* sl_svc_fast slot 0: the IPv4 service addresses, network order; 0 = free slot. A slot
 * keeps its index while the address has services, so port masks never need rewriting. */
struct sluice_xdp_svc_fast {
	__u32 addr4[SLUICE_XDP_FAST_ADDRS];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_svc_fast) == 4 * SLUICE_XDP_FAST_ADDRS,
		     "svc fast layout");

/* sl_svc_fast6 slot 0: the IPv6 service addresses as two u64 words each (network byte
 * order in memory, compared as raw words); all zero = free slot (:: goes to the hash). */
struct sluice_xdp_svc_fast6 {
	__u64 addr6[SLUICE_XDP_FAST_ADDRS6][2];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_svc_fast6) == 16 * SLUICE_XDP_FAST_ADDRS6,
		     "svc fast6 layout");

/* sl_svc_ports, indexed by destination port (host order, 0..65535): bit i set in tcp/udp =
 * addr4[i] has a service on this port and protocol; in tcp6/udp6 = sl_svc_fast6 slot i. */
struct sluice_xdp_port_slots {
	__u16 tcp;
	__u16 udp;
	__u16 tcp6;
	__u16 udp6;
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_port_slots) == 8, "port slots layout");

/* Block-list pre-filters (docs/xdp.md, "Block-list pre-filter"): BPF_F_MMAPABLE ARRAYs of
 * u64 words that the loader derives from the LPM tries and writes through mmap, so that a
 * source no block entry can match costs one inlined ARRAY lookup instead of an LPM helper
 * call.
 *
 * IPv4, sl_blk4_pf: two bits per /24 (2^24 of them, 32 per word), index = source >> 8 in
 * host order, bits (index % 32) * 2 of word index / 32:
 *   SLUICE_XDP_PF4_FULL: an entry of length <= 24 covers the whole /24: drop, no LPM;
 *   SLUICE_XDP_PF4_PART: entries longer than /24 lie inside it (and none of length <= 24
 *     covers it): look the /24 up in sl_blk4_hosts, and ask the LPM trie only if it is
 *     not there (table bucket full);
 *   neither: no entry can match: not blocked.
 * The loader writes FULL or PART, never both (3 is unused; a program reads it as FULL). */
#define SLUICE_XDP_PF4_FULL 1u
#define SLUICE_XDP_PF4_PART 2u
#define SLUICE_XDP_PF4_WORDS (1u << 19) /* 2^24 /24s * 2 bits / 64 */

/* sl_blk4_hosts (ABI 4): for each PART /24, the exact set of its 256 hosts that some entry
 * longer than /24 covers, so the program decides a partly blocked /24 with inlined ARRAY
 * lookups instead of an LPM helper call. A BPF_F_MMAPABLE ARRAY of buckets; /24 index i
 * (source >> 8, host order) lives in bucket sluice_xdp_hosts4_bucket_of(i), in any slot s
 * whose key[s] == i + 1 (0 = free slot); host h (the source's last byte) is blocked iff bit
 * h % 64 of bits[s][h / 64] is set. A /24 that finds its bucket full stays out of the table
 * and is decided by the trie, which is always correct: the table is an exact cache of the
 * trie, never the authority. Capacity: 8 slots x 4096 buckets = 2 x SLUICE_XDP_MAX_BLOCKS;
 * with 2,000 partly blocked /24s a bucket overflows with probability about 1e-9, at the full
 * 16,384 about 2 % of buckets do (Poisson, mean 4). */
#define SLUICE_XDP_HOSTS4_SLOTS 8
#define SLUICE_XDP_HOSTS4_BUCKETS 4096
struct sluice_xdp_hosts4_bucket {
	__u32 key[SLUICE_XDP_HOSTS4_SLOTS];    /* /24 index + 1; 0 = free */
	__u64 bits[SLUICE_XDP_HOSTS4_SLOTS][4]; /* 256 hosts, native byte order */
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_hosts4_bucket) == 288, "hosts4 bucket layout");
/* Multiplicative hash (Knuth, TAOCP vol. 3 §6.4) of the /24 index onto the 4096 buckets:
 * the top 12 bits of the 32-bit product. */
static inline __u32 sluice_xdp_hosts4_bucket_of(__u32 idx24)
{
	return (__u32)(idx24 * 0x9e3779b1u) >> 20;
}
/* IPv6, sl_blk6_pf: one bit per value of sluice_xdp_pf6_index(top 48 bits of the source):
 * set = some entry may cover an address in that /48: ask the LPM trie. An entry of length
 * L >= 48 sets one bit; 24 <= L < 48 sets the bits of its 2^(48 - L) /48s; L < 24 sets
 * every bit (such an entry sends all IPv6 to the trie). The index is a multiplicative hash
 * (Knuth, TAOCP vol. 3 §6.4) folding 48 bits to 24, not one-to-one: a collision costs an
 * LPM lookup, never a wrong verdict. /48 because that is the usual end-site assignment
 * (RFC 6177), so one customer's entries do not send a whole /32's traffic to the trie. */
#define SLUICE_XDP_PF6_PREFIX 48
#define SLUICE_XDP_PF6_BITS (1u << 24)
#define SLUICE_XDP_PF6_WORDS (SLUICE_XDP_PF6_BITS / 64)
static inline __u32 sluice_xdp_pf6_index(__u64 top48)
{
	return (__u32)((top48 * 0x9e3779b97f4a7c15ull) >> 40);
}

/* IPv6 exact prefixes (ABI 4). sl_blk6_exact has one bit per sl_blk6_pf bucket (same index
 * and layout): set = every block entry that covers an address of this bucket's /48s is
 * listed in sl_blk6_pfx, so the program decides without the trie: blocked iff the
 * source's /48 or its /64 is listed. Clear = ask the trie. The loader sets it only when all
 * such entries are representable: length 40..48 (listed as their 2^(48 - L) /48s), 56..64
 * (their 2^(64 - L) /64s), and every listed prefix found a slot. Longer entries (a /128),
 * shorter ones and lengths 49..55 leave their buckets to the trie.
 *
 * sl_blk6_pfx: a BPF_F_MMAPABLE ARRAY of buckets of SLUICE_XDP_P6_SLOTS slots; prefix p
 * of length len (the address's top len bits, right-aligned, host order) lives in bucket
 * sluice_xdp_prefix6_bucket_of(p, len), in a slot with that prefix and len (len 0 = free).
 * 8 slots x 8192 buckets = 65,536 prefixes. */
#define SLUICE_XDP_P6_SLOTS 8
#define SLUICE_XDP_P6_BUCKETS 8192
#define SLUICE_XDP_P6_EXPAND_MAX 256 /* prefixes one entry may list: 2^8 */
struct sluice_xdp_prefix6_slot {
	__u64 prefix;
	__u32 len; /* 48 or 64; 0 = free */
	__u32 pad;
};
struct sluice_xdp_prefix6_bucket {
	struct sluice_xdp_prefix6_slot slot[SLUICE_XDP_P6_SLOTS];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_prefix6_bucket) == 128, "prefix6 bucket layout");
/* Top 13 bits of a multiplicative hash (Knuth, as above) of the prefix and its length. */
static inline __u32 sluice_xdp_prefix6_bucket_of(__u64 prefix, __u32 len)
{
	return (__u32)(((prefix ^ len) * 0x9e3779b97f4a7c15ull) >> 51);
}

/* LPM trie keys: prefixlen first, as BPF_MAP_TYPE_LPM_TRIE requires
 * (struct bpf_lpm_trie_key in linux/bpf.h). Value is a __u32 (reserved, 1). */
struct sluice_xdp_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_lpm_v4) == 8, "lpm v4 key layout");

struct sluice_xdp_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_lpm_v6) == 20, "lpm v6 key layout");

/* sl_syn_bucket value, keyed by sluice_xdp_addr (source). Written only by the
 * program; updates from two CPUs may race, which at worst admits a few extra SYNs. */
struct sluice_xdp_syn_bucket {
	__u64 tokens;  /* nano-tokens, SLUICE_XDP_NS_PER_TOKEN per SYN */
	__u64 last_ns; /* bpf_ktime_get_ns() at the last refill */
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_syn_bucket) == 16, "syn bucket layout");

enum sluice_xdp_gateway_reason {
	SLUICE_GW_RATE_LIMITED = 1,
	SLUICE_GW_BLOCKED = 2,
};

/* sl_gw_verdict value, keyed by sluice_xdp_addr (source). expires_ns is on the
 * CLOCK_MONOTONIC timeline, which bpf_ktime_get_ns() reads too. */
struct sluice_xdp_gw_verdict {
	__u64 expires_ns;
	__u32 reason; /* enum sluice_xdp_gateway_reason */
	__u32 pad;
};
SLUICE_STATIC_ASSERT(sizeof(struct sluice_xdp_gw_verdict) == 16, "gateway verdict layout");

#endif /* SLUICE_XDP_ABI_H */
