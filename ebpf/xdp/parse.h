/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Header parsing for the Sluice XDP program: Ethernet, up to two VLAN tags,
 * ARP, IPv4 (with options), IPv6 (fixed header), TCP and UDP.
 *
 * Every access is preceded by a "header end <= data_end" comparison: the
 * verifier tracks packet pointers and rejects any load it cannot prove is in
 * bounds, so each helper checks the full header before touching a field.
 * Helpers are __always_inline so the verifier sees the packet pointers' ranges
 * in one function (BPF-to-BPF calls would lose them for pointer arguments).
 */
#ifndef SLUICE_XDP_PARSE_H
#define SLUICE_XDP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sluice_xdp_abi.h"

/* IEEE 802.1Q and 802.1ad (QinQ): one outer and one inner tag are enough for
 * every deployment we know; a third tag is passed to the kernel unparsed. */
#define SLUICE_VLAN_MAX 2

/* RFC 791 §3.1: flags field, MF bit and 13-bit fragment offset. */
#define SLUICE_IP_MF 0x2000
#define SLUICE_IP_OFFSET 0x1fff

/* RFC 8200 §4.5: IPv6 Fragment header. */
#define SLUICE_IPPROTO_FRAGMENT 44

/* RFC 826 and IANA ARP parameters: hardware type 1 = Ethernet, opcodes 1/2. */
#define SLUICE_ARPHRD_ETHER 1

/* RFC 9293 §3.1: control bits, byte 13 of the TCP header. */
#define SLUICE_TCP_FLAG_SYN 0x02
#define SLUICE_TCP_FLAG_ACK 0x10

struct sluice_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* RFC 826 packet for Ethernet/IPv4 (hln = 6, pln = 4). */
struct sluice_arp_eth {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

struct hdr_cursor {
	void *pos;
	void *end;
};

enum parse_result {
	PARSE_L4,        /* IP + TCP/UDP parsed: addresses, ports, proto valid */
	PARSE_FRAGMENT,  /* IP parsed, addresses valid, no L4 header to look at */
	PARSE_OTHER_L4,  /* IP parsed, addresses valid, not TCP/UDP */
	PARSE_ARP,       /* ARP for IPv4 over Ethernet: arp_target valid */
	PARSE_OTHER_L3,  /* not IPv4, IPv6 or Ethernet/IPv4 ARP */
	PARSE_TRUNCATED, /* frame ended inside a header */
	PARSE_MALFORMED, /* a header the kernel's own input path would discard */
};

/* 8-aligned: the 16-byte addresses are read as u64 words (fast_match6). */
struct __attribute__((aligned(8))) pkt_info {
	struct sluice_xdp_addr src;
	struct sluice_xdp_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 is_v4;
	__u8 pad;
	__u32 arp_target; /* network order */
};

static __always_inline void addr_from_v4(struct sluice_xdp_addr *a, __be32 v4)
{
	/* RFC 4291 §2.5.5.2 IPv4-mapped: 80 zero bits, 16 one bits, then v4. */
	__builtin_memset(a->bytes, 0, 10);
	a->bytes[10] = 0xff;
	a->bytes[11] = 0xff;
	__builtin_memcpy(&a->bytes[12], &v4, 4);
}

/* Advances past Ethernet and up to SLUICE_VLAN_MAX tags; *proto gets the inner
 * EtherType (network order). Returns 0, or -1 if the frame is too short. */
static __always_inline int parse_eth(struct hdr_cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	*proto = eth->h_proto;

	/* A constant trip count lets clang unroll this; the verifier then sees
	 * straight-line code with one bounds check per tag. */
#pragma unroll
	for (i = 0; i < SLUICE_VLAN_MAX; i++) {
		struct sluice_vlan_hdr *vh = c->pos;

		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > c->end)
			return -1;
		c->pos = vh + 1;
		*proto = vh->encap_proto;
	}
	return 0;
}

static __always_inline enum parse_result parse_l4(struct hdr_cursor *c, struct pkt_info *pi)
{
	if (pi->proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end)
			return PARSE_TRUNCATED;
		/* RFC 9293 §3.1: data offset counts 32-bit words, minimum 5.
		 * tcp_v4_rcv/tcp_v6_rcv discard doff < 5, so dropping is safe. */
		if (th->doff < 5)
			return PARSE_MALFORMED;
		pi->sport = th->source;
		pi->dport = th->dest;
		/* Byte 13 holds CWR..FIN; read it whole rather than via bitfields. */
		pi->tcp_flags = ((__u8 *)th)[13];
		return PARSE_L4;
	}
	if (pi->proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end)
			return PARSE_TRUNCATED;
		pi->sport = uh->source;
		pi->dport = uh->dest;
		return PARSE_L4;
	}
	return PARSE_OTHER_L4;
}

static __always_inline enum parse_result parse_ipv4(struct hdr_cursor *c, struct pkt_info *pi)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;

	if ((void *)(iph + 1) > c->end)
		return PARSE_TRUNCATED;
	/* ip_rcv_core() discards version != 4, ihl < 5 and tot_len < ihl * 4,
	 * so dropping these here changes nothing for the kernel. */
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	if (bpf_ntohs(iph->tot_len) < hlen)
		return PARSE_MALFORMED;
	/* ihl is a 4-bit field, so the verifier knows hlen <= 60; the check
	 * below then bounds the variable-offset cursor for later accesses. */
	if (c->pos + hlen > c->end)
		return PARSE_TRUNCATED;
	c->pos += hlen;

	pi->is_v4 = 1;
	pi->proto = iph->protocol;
	addr_from_v4(&pi->src, iph->saddr);
	addr_from_v4(&pi->dst, iph->daddr);

	/* RFC 791 §3.2: any fragment (first one included) goes to the kernel,
	 * which reassembles; steering only the first would split the datagram. */
	if (iph->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET))
		return PARSE_FRAGMENT;
	return parse_l4(c, pi);
}

static __always_inline enum parse_result parse_ipv6(struct hdr_cursor *c, struct pkt_info *pi)
{
	struct ipv6hdr *ip6h = c->pos;

	if ((void *)(ip6h + 1) > c->end)
		return PARSE_TRUNCATED;
	/* ipv6_rcv() discards version != 6. */
	if (ip6h->version != 6)
		return PARSE_MALFORMED;
	c->pos = ip6h + 1;

	pi->proto = ip6h->nexthdr;
	__builtin_memcpy(pi->src.bytes, &ip6h->saddr, 16);
	__builtin_memcpy(pi->dst.bytes, &ip6h->daddr, 16);

	if (pi->proto == SLUICE_IPPROTO_FRAGMENT)
		return PARSE_FRAGMENT;
	/* Extension headers other than Fragment are not walked (they cost a
	 * bounded loop per packet for traffic services do not use): such
	 * packets go to the kernel as PARSE_OTHER_L4. */
	return parse_l4(c, pi);
}

static __always_inline enum parse_result parse_arp(struct hdr_cursor *c, struct pkt_info *pi)
{
	struct sluice_arp_eth *arp = c->pos;

	if ((void *)(arp + 1) > c->end)
		return PARSE_TRUNCATED;
	if (arp->hrd != bpf_htons(SLUICE_ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) ||
	    arp->hln != ETH_ALEN || arp->pln != 4)
		return PARSE_OTHER_L3;
	__builtin_memcpy(&pi->arp_target, arp->tpa, 4);
	return PARSE_ARP;
}

/* Fills *pi as far as the frame allows; see enum parse_result for which fields
 * are valid for each result. *pi must be zeroed by the caller (map keys). */
static __always_inline enum parse_result parse_packet(struct hdr_cursor *c, struct pkt_info *pi)
{
	__be16 proto;

	if (parse_eth(c, &proto) < 0)
		return PARSE_TRUNCATED;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(c, pi);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(c, pi);
	if (proto == bpf_htons(ETH_P_ARP))
		return parse_arp(c, pi);
	return PARSE_OTHER_L3;
}

#endif /* SLUICE_XDP_PARSE_H */
