// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Sluice XDP program: steers service traffic to the AF_XDP socket bound on the
 * receiving queue, passes everything else to the kernel, and drops abusive
 * traffic early. Runs in the driver's (or generic XDP's) RX softirq, on
 * whichever CPU services the queue.
 *
 * Verdict order (docs/xdp.md has the reasoning):
 *   1. parse; a truncated frame -> PASS (the kernel decides), a header the
 *      kernel would discard anyway -> DROP_MALFORMED
 *   2. ARP whose target is a service address -> XSK; other non-IP -> PASS
 *   3. source in the block list -> DROP_BLOCKLIST (pre-filter bitmaps first,
 *      then the exact host table of a partly blocked IPv4 /24; the LPM trie
 *      only where neither can decide)
 *   4. fragment / not TCP-UDP -> PASS; no service entry -> STEER_RETURN if it
 *      is TCP to a service address in the return port range, else PASS
 *      (services: the inlined ARRAY fast tables; past SLUICE_XDP_FAST_ADDRS(6)
 *      addresses of a family: the sl_services hash)
 *   5. active gateway verdict on the source -> DROP_GATEWAY_VERDICT
 *      (an expired one is deleted and ignored)
 *   6. TCP SYN without ACK over the source's token bucket -> DROP_SYN_LIMIT
 *   7. bpf_redirect_map(xsks_map, rx_queue_index, XDP_PASS): XSK, or PASS
 *      when no socket is bound on that queue
 *
 * The object holds exactly one program: DPDK's af_xdp PMD attaches the first
 * program it finds in the file passed as xdp_prog=.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"
#include "maps.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Per-CPU slot of this CPU: no other CPU writes it, a plain increment is enough. The
 * program looks the slot up once per packet (an inlined PERCPU_ARRAY lookup) and every
 * counter is a field of it, instead of one lookup per counter moved. */
static __always_inline void count(struct sluice_xdp_stats *st, __u32 idx)
{
	if (idx < SLUICE_CNT_MAX) /* constant after inlining; keeps the verifier's bounds */
		st->counters[idx] += 1;
}

static __always_inline int verdict(struct sluice_xdp_stats *st, __u32 verdict_idx,
				   __u32 reason_idx, int action)
{
	count(st, verdict_idx);
	count(st, reason_idx); /* SLUICE_CNT_MAX: none */
	return action;
}

static __always_inline int steer(struct sluice_xdp_stats *st, struct xdp_md *ctx,
				 __u32 reason_idx)
{
	count(st, reason_idx);
	/* With XDP_PASS in the low bits of flags, the helper returns XDP_PASS
	 * instead of XDP_ABORTED when no socket sits at this queue's slot. */
	long act = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);

	if (act == XDP_REDIRECT)
		return verdict(st, SLUICE_CNT_REDIRECT, SLUICE_CNT_MAX, XDP_REDIRECT);
	return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK, XDP_PASS);
}

/* Is host (0..255) of the /24 idx24 in sl_blk4_hosts? 1 = blocked, 0 = not blocked,
 * -1 = the /24 is not in the table (its bucket was full): ask the trie. An inlined ARRAY
 * lookup and at most SLUICE_XDP_HOSTS4_SLOTS compares, returning at the first match for the
 * same verifier reason as fast_match. */
static __always_inline int hosts4_lookup(__u32 idx24, __u32 host)
{
	const struct sluice_xdp_hosts4_bucket *b;
	__u32 bucket = sluice_xdp_hosts4_bucket_of(idx24);
	__u32 key = idx24 + 1;

	b = bpf_map_lookup_elem(&sl_blk4_hosts, &bucket);
	if (!b) /* bucket < SLUICE_XDP_HOSTS4_BUCKETS by construction; the verifier insists */
		return -1;
#pragma unroll
	for (int i = 0; i < SLUICE_XDP_HOSTS4_SLOTS; i++)
		if (b->key[i] == key)
			return (b->bits[i][(host >> 6) & 3] >> (host & 63)) & 1;
	return -1;
}

/* Is the IPv6 prefix p of length len (48 or 64) listed in sl_blk6_pfx? Inlined ARRAY
 * lookup, at most SLUICE_XDP_P6_SLOTS compares, first match returns (verifier, as above). */
static __always_inline bool prefix6_listed(__u64 p, __u32 len)
{
	const struct sluice_xdp_prefix6_bucket *b;
	__u32 bucket = sluice_xdp_prefix6_bucket_of(p, len);

	b = bpf_map_lookup_elem(&sl_blk6_pfx, &bucket);
	if (!b) /* bucket < SLUICE_XDP_P6_BUCKETS by construction; the verifier insists */
		return false;
#pragma unroll
	for (int i = 0; i < SLUICE_XDP_P6_SLOTS; i++)
		if (b->slot[i].len == len && b->slot[i].prefix == p)
			return true;
	return false;
}

/* Block list: the pre-filter bitmaps (inlined ARRAY lookups, layout in the ABI header)
 * answer for every source no entry can match, and for IPv4 sources whose whole /24 is
 * blocked; a partly blocked IPv4 /24 is decided by its exact host set (sl_blk4_hosts,
 * inlined too), an IPv6 bucket whose entries are all /40../48 or /56../64 by the exact
 * prefix table (sl_blk6_pfx). Only the rest pays the LPM lookup (a helper call plus a
 * trie walk, 15-25 ns on this kernel: docs/performance.md). The flags skip even the
 * bitmap while a family's list is empty. */
static __always_inline bool is_blocked(const struct pkt_info *pi, __u32 flags)
{
	if (pi->is_v4) {
		struct sluice_xdp_lpm_v4 k = { .prefixlen = 32 };
		const __u64 *w;
		__u32 a, src, idx, st;
		int hit;

		if (!(flags & SLUICE_XDP_F_BLOCK_V4))
			return false;
		__builtin_memcpy(&a, &pi->src.bytes[12], 4);
		src = bpf_ntohl(a);
		idx = src >> 8; /* the /24 */
		a = idx >> 5;   /* its word: 32 two-bit states each */
		w = bpf_map_lookup_elem(&sl_blk4_pf, &a);
		if (!w) /* idx < 2^24 always fits; the verifier insists */
			return false;
		st = (*w >> ((idx & 31) * 2)) & 3;
		if (!st)
			return false;
		if (st & SLUICE_XDP_PF4_FULL)
			return true;
		hit = hosts4_lookup(idx, src & 0xff);
		if (hit >= 0)
			return hit;
		__builtin_memcpy(k.addr, &pi->src.bytes[12], 4);
		return bpf_map_lookup_elem(&sl_block_v4, &k) != NULL;
	} else {
		struct sluice_xdp_lpm_v6 k = { .prefixlen = 128 };
		const __u64 *w;
		__u64 top;
		__u32 idx, word;

		if (!(flags & SLUICE_XDP_F_BLOCK_V6))
			return false;
		__builtin_memcpy(&top, pi->src.bytes, 8);
		idx = sluice_xdp_pf6_index(bpf_be64_to_cpu(top) >> (64 - SLUICE_XDP_PF6_PREFIX));
		word = idx >> 6;
		w = bpf_map_lookup_elem(&sl_blk6_pf, &word);
		if (!w || !((*w >> (idx & 63)) & 1))
			return false;
		/* Every entry of this bucket is an exact /48 or /64: no trie. The address is
		 * read again here rather than kept live from above, which cost the common
		 * (bucket clear) path spills. */
		w = bpf_map_lookup_elem(&sl_blk6_exact, &word);
		if (w && ((*w >> (idx & 63)) & 1)) {
			__builtin_memcpy(&top, pi->src.bytes, 8);
			top = bpf_be64_to_cpu(top);
			return prefix6_listed(top >> 16, 48) || prefix6_listed(top, 64);
		}
		__builtin_memcpy(k.addr, pi->src.bytes, 16);
		return bpf_map_lookup_elem(&sl_block_v6, &k) != NULL;
	}
}

/* Does a slot whose bit is set in `slots` hold a4 (network order)? 0.0.0.0 never
 * matches: free slots hold 0, and the loader sends a 0.0.0.0 service to the hash path.
 * An inlined ARRAY lookup and at most 16 compares: no helper call (docs/xdp.md, "Service
 * lookup"). Shaped by the verifier: returning at the first match keeps the explored paths
 * linear; OR-ing matches into a mask made it walk 2^16 branch combinations (E2BIG). */
static __always_inline bool fast_match(__u32 a4, __u32 slots)
{
	const struct sluice_xdp_svc_fast *f;
	__u32 zero = 0;

	if (a4 == 0)
		return false;
	f = bpf_map_lookup_elem(&sl_svc_fast, &zero);
	if (!f) /* cannot happen for ARRAY index 0; the verifier insists */
		return false;
#pragma unroll
	for (int i = 0; i < SLUICE_XDP_FAST_ADDRS; i++)
		if ((slots & (1u << i)) && f->addr4[i] == a4)
			return true;
	return false;
}

/* Is a4 (network order) an IPv4 service address? Drives ARP and ICMP steering. */
static __always_inline bool is_service_addr4(__u32 a4, __u32 flags)
{
	if (flags & SLUICE_XDP_F_SVC_HASH)
		return bpf_map_lookup_elem(&sl_svc_addr4, &a4) != NULL;
	return fast_match(a4, (1u << SLUICE_XDP_FAST_ADDRS) - 1);
}

/* Does a slot of sl_svc_fast6 whose bit is set in `slots` hold a? :: never matches (free
 * slots are zero). Same shape as fast_match, for the same verifier reason; two 64-bit
 * compares per slot. */
static __always_inline bool fast_match6(const struct sluice_xdp_addr *a, __u32 slots)
{
	const struct sluice_xdp_svc_fast6 *f;
	__u64 w0, w1;
	__u32 zero = 0;

	__builtin_memcpy(&w0, &a->bytes[0], 8);
	__builtin_memcpy(&w1, &a->bytes[8], 8);
	if ((w0 | w1) == 0)
		return false;
	f = bpf_map_lookup_elem(&sl_svc_fast6, &zero);
	if (!f) /* cannot happen for ARRAY index 0; the verifier insists */
		return false;
#pragma unroll
	for (int i = 0; i < SLUICE_XDP_FAST_ADDRS6; i++)
		if ((slots & (1u << i)) && f->addr6[i][0] == w0 && f->addr6[i][1] == w1)
			return true;
	return false;
}

/* Is {destination, port, proto} a service? Each family goes through its fast tables unless
 * they overflowed (SLUICE_XDP_F_SVC_HASH, SLUICE_XDP_F_SVC6_HASH), else the sl_services
 * hash. */
static __always_inline bool is_service(const struct pkt_info *pi, __u32 flags)
{
	struct sluice_xdp_service_key key;
	__u32 hash_flag = pi->is_v4 ? SLUICE_XDP_F_SVC_HASH : SLUICE_XDP_F_SVC6_HASH;

	if (!(flags & hash_flag)) {
		const struct sluice_xdp_port_slots *ps;
		__u32 port = bpf_ntohs(pi->dport);
		__u32 dst4, mask;

		/* Port first: traffic to ports no service uses (SSH, the host's own
		 * services) leaves after one inlined lookup. */
		ps = bpf_map_lookup_elem(&sl_svc_ports, &port);
		if (!ps)
			return false;
		if (pi->is_v4) {
			mask = pi->proto == IPPROTO_TCP ? ps->tcp : ps->udp;
			if (!mask)
				return false;
			__builtin_memcpy(&dst4, &pi->dst.bytes[12], 4);
			return fast_match(dst4, mask);
		}
		mask = pi->proto == IPPROTO_TCP ? ps->tcp6 : ps->udp6;
		if (!mask)
			return false;
		return fast_match6(&pi->dst, mask);
	}
	__builtin_memset(&key, 0, sizeof(key));
	key.addr = pi->dst;
	key.port = pi->dport;
	key.proto = pi->proto;
	return bpf_map_lookup_elem(&sl_services, &key) != NULL;
}

/* A reply to one of the dataplane's own outgoing TCP connections (the gateway's upstream
 * connections open from the service address, source port from the stack's ephemeral
 * range, which the loader copies into sl_config): TCP to a service address with a
 * destination port in [return_port_min, return_port_max]. IPv6 is recognised through the
 * fast table only (the stack opens IPv4 connections today; see docs/xdp.md). */
static __always_inline bool is_return_traffic(const struct pkt_info *pi,
					      const struct sluice_xdp_config *cfg)
{
	__u32 port, dst4;

	if (pi->proto != IPPROTO_TCP || cfg->return_port_min == 0)
		return false;
	port = bpf_ntohs(pi->dport);
	if (port < cfg->return_port_min || port > cfg->return_port_max)
		return false;
	if (pi->is_v4) {
		__builtin_memcpy(&dst4, &pi->dst.bytes[12], 4);
		return is_service_addr4(dst4, cfg->flags);
	}
	if (cfg->flags & SLUICE_XDP_F_SVC6_HASH)
		return false;
	return fast_match6(&pi->dst, (1u << SLUICE_XDP_FAST_ADDRS6) - 1);
}

/* True while userspace's verdict on this source is live. */
static __always_inline bool gateway_verdict_active(struct sluice_xdp_stats *st,
						   const struct sluice_xdp_addr *src, __u32 flags)
{
	struct sluice_xdp_gw_verdict *v;

	if (!(flags & SLUICE_XDP_F_GW_VERDICTS))
		return false;
	v = bpf_map_lookup_elem(&sl_gw_verdict, src);
	if (!v)
		return false;
	if (bpf_ktime_get_ns() < v->expires_ns)
		return true;
	/* Expired: delete so the LRU keeps room for live verdicts. If userspace
	 * rewrote the entry since our lookup, this drops the fresh verdict; the
	 * gateway re-issues it on the client's next offence. */
	bpf_map_delete_elem(&sl_gw_verdict, src);
	count(st, SLUICE_CNT_GATEWAY_EXPIRED);
	return false;
}

/* Token bucket per source address (RFC 2697's single-rate idea, one bucket).
 * Tokens are kept in nano-tokens so the refill, rate tokens per second =
 * rate nano-tokens per ns, needs no division on the common path. */
static __always_inline bool syn_admit(const struct sluice_xdp_addr *src,
				      const struct sluice_xdp_config *cfg)
{
	struct sluice_xdp_syn_bucket *b;
	__u64 now, rate, burst, tokens, elapsed;

	if (cfg->syn_rate == 0 || cfg->syn_burst == 0)
		return true;
	rate = cfg->syn_rate;
	burst = (__u64)cfg->syn_burst * SLUICE_XDP_NS_PER_TOKEN;
	now = bpf_ktime_get_ns();

	b = bpf_map_lookup_elem(&sl_syn_bucket, src);
	if (!b) {
		struct sluice_xdp_syn_bucket nb = {
			.tokens = burst - SLUICE_XDP_NS_PER_TOKEN,
			.last_ns = now,
		};

		bpf_map_update_elem(&sl_syn_bucket, src, &nb, BPF_ANY);
		return true;
	}

	tokens = b->tokens;
	/* Another CPU may have stored a later last_ns than our now. */
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (tokens < burst) {
		/* elapsed < (burst - tokens) / rate keeps elapsed * rate below
		 * burst <= 1e15: the loader caps rate and burst (abi header). */
		if (elapsed >= (burst - tokens) / rate)
			tokens = burst;
		else
			tokens += elapsed * rate;
	} else {
		tokens = burst; /* burst was lowered since the last refill */
	}
	b->last_ns = now;
	if (tokens < SLUICE_XDP_NS_PER_TOKEN) {
		b->tokens = tokens;
		return false;
	}
	b->tokens = tokens - SLUICE_XDP_NS_PER_TOKEN;
	return true;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	struct hdr_cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	const struct sluice_xdp_config *cfg;
	struct sluice_xdp_stats *st;
	struct pkt_info pi;
	enum parse_result r;
	__u32 zero = 0;

	/* Index 0 of a one-entry (PERCPU_)ARRAY always exists; the NULL checks
	 * here and for cfg are there because the verifier insists on them. */
	st = bpf_map_lookup_elem(&sl_stats, &zero);
	if (!st)
		return XDP_PASS;

	/* Zeroed whole: its addresses become map keys, and the verifier rejects
	 * map lookups with uninitialised stack bytes. */
	__builtin_memset(&pi, 0, sizeof(pi));
	r = parse_packet(&c, &pi);

	switch (r) {
	case PARSE_TRUNCATED:
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_TRUNCATED, XDP_PASS);
	case PARSE_MALFORMED:
		return verdict(st, SLUICE_CNT_DROP_MALFORMED, SLUICE_CNT_MAX, XDP_DROP);
	case PARSE_OTHER_L3:
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_OTHER_L3, XDP_PASS);
	default:
		break;
	}

	/* One inlined ARRAY lookup per packet. */
	cfg = bpf_map_lookup_elem(&sl_config, &zero);
	if (!cfg)
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_MAX, XDP_PASS);

	if (r == PARSE_ARP) {
		/* The dataplane owns service addresses, so it answers ARP for
		 * them; the kernel does not hold those addresses. */
		if (is_service_addr4(pi.arp_target, cfg->flags))
			return steer(st, ctx, SLUICE_CNT_STEER_ARP);
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE, XDP_PASS);
	}

	if (is_blocked(&pi, cfg->flags))
		return verdict(st, SLUICE_CNT_DROP_BLOCKLIST, SLUICE_CNT_MAX, XDP_DROP);
	if (r == PARSE_FRAGMENT)
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_FRAGMENT, XDP_PASS);
	if (r == PARSE_OTHER_L4) {
		/* ICMPv4 to a service address: the dataplane owns that address, so
		 * only it can answer an echo, and the errors that come back about
		 * its own flows (RFC 1191 fragmentation needed, unreachable) mean
		 * something only to its stack. Counted as steer_service (no
		 * counter of its own, so the stats map keeps its ABI size). */
		if (pi.is_v4 && pi.proto == IPPROTO_ICMP) {
			__u32 dst4;

			__builtin_memcpy(&dst4, &pi.dst.bytes[12], 4);
			if (is_service_addr4(dst4, cfg->flags))
				return steer(st, ctx, SLUICE_CNT_STEER_SERVICE);
		}
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_OTHER_L4, XDP_PASS);
	}

	if (!is_service(&pi, cfg->flags)) {
		/* Not subject to gateway verdicts or the SYN limit: the peer is a backend
		 * answering a connection the dataplane opened. */
		if (is_return_traffic(&pi, cfg))
			return steer(st, ctx, SLUICE_CNT_STEER_RETURN);
		return verdict(st, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE, XDP_PASS);
	}

	if (gateway_verdict_active(st, &pi.src, cfg->flags))
		return verdict(st, SLUICE_CNT_DROP_GATEWAY_VERDICT, SLUICE_CNT_MAX, XDP_DROP);
	if (pi.proto == IPPROTO_TCP &&
	    (pi.tcp_flags & (SLUICE_TCP_FLAG_SYN | SLUICE_TCP_FLAG_ACK)) == SLUICE_TCP_FLAG_SYN &&
	    !syn_admit(&pi.src, cfg))
		return verdict(st, SLUICE_CNT_DROP_SYN_LIMIT, SLUICE_CNT_MAX, XDP_DROP);

	return steer(st, ctx, SLUICE_CNT_STEER_SERVICE);
}
