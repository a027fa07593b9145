#!/usr/bin/env python3
"""Side-by-side: the dataplane's receive (and answer) rate on the veth testbed with
dev=afxdp:IF (net_af_xdp + the Sluice XDP program) against net_af_packet, in one invocation,
alternating the two modes for each round, and their ratio.

Load: bench/ebpf/veth_flood in the peer namespace sends COUNT frames (bounded also by SECONDS)
of ICMP echo requests to the dataplane's address (which it answers: rx and tx) or UDP to a
service port (rx only; the dataplane counts ipv4_proto_unhandled). The rate is the dataplane's
rx/tx counter delta over the flood's duration. Both modes run on the same 2-vCPU machine with
the same lcores (-l 0-1: one polling worker), so the flooder, the kernel's veth softirq and
the worker share CPUs: compare the ratio, not absolute numbers, across machines.

Run as root from the repository (after ninja -C build):
    /usr/bin/python3 bench/ebpf/afxdp_vs_afpacket.py [--rounds 3] [--count 2000000]
        [--seconds 5] [--traffic icmp|udp] [--size 64]
"""
import argparse
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "tools"))
import testbed  # noqa: E402
from testbed import Dataplane, build_dir, port_totals  # noqa: E402

FLOOD = os.path.join(build_dir(), "bench", "ebpf", "veth_flood")
UDP_PORT = 9  # RFC 863 discard


def one(bed, mode, args):
    dp = Dataplane(bed, mode)
    if mode == "xdp":
        dp.port_extra = f",services={UDP_PORT}/udp"
    dp.start()
    try:
        # Warm-up: the dataplane learns the peer's MAC, the peer learns the dataplane's.
        bed.ping(count=2, interval=0.2)
        before = port_totals(dp.stats())
        traffic = "icmp" if args.traffic == "icmp" else f"udp:{UDP_PORT}"
        r = bed.peer(FLOOD, bed.peer_if(), bed.dp_mac(), bed.peer_ip(), bed.dp_ip(),
                     str(args.count), str(args.seconds), traffic, str(args.size),
                     timeout=args.seconds + 30, check=True)
        m = re.search(r"sent (\d+) in ([\d.]+) s", r.stdout)
        sent, secs = int(m.group(1)), float(m.group(2))
        time.sleep(0.5)  # let the worker drain its rings
        after = port_totals(dp.stats())
        rx = after["rx_packets"] - before["rx_packets"]
        tx = after["tx_packets"] - before["tx_packets"]
        assert dp.stop() == 0, dp.log()
        return {"sent": sent, "secs": secs, "offered_pps": sent / secs, "rx_pps": rx / secs,
                "tx_pps": tx / secs, "rx": rx, "tx": tx}
    finally:
        dp.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    ap.add_argument("--count", type=int, default=2_000_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--traffic", choices=["icmp", "udp"], default="icmp")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, XDP)")
    if not os.access(FLOOD, os.X_OK):
        sys.exit(f"{FLOOD} missing: ninja -C {build_dir()}")
    results = {"af_packet": [], "xdp": []}
    with testbed.Testbed(tag=f"b{os.getpid() % 10000}") as bed:
        for rnd in range(args.rounds):
            for mode in ("af_packet", "xdp"):
                r = one(bed, mode, args)
                results[mode].append(r)
                print(f"round {rnd + 1} {mode:9s}: offered {r['offered_pps']:>10,.0f} pps, "
                      f"dataplane rx {r['rx_pps']:>10,.0f} pps, tx {r['tx_pps']:>10,.0f} pps "
                      f"({r['rx']} of {r['sent']} received)", flush=True)
    med = {m: statistics.median(x["rx_pps"] for x in v) for m, v in results.items()}
    medtx = {m: statistics.median(x["tx_pps"] for x in v) for m, v in results.items()}
    print(f"\nmedian over {args.rounds} rounds, {args.traffic} {args.size} B frames:")
    print(f"  af_packet rx {med['af_packet']:>10,.0f} pps  tx {medtx['af_packet']:>10,.0f} pps")
    print(f"  af_xdp    rx {med['xdp']:>10,.0f} pps  tx {medtx['xdp']:>10,.0f} pps")
    if med["af_packet"] > 0:
        print(f"  ratio af_xdp / af_packet (rx): {med['xdp'] / med['af_packet']:.2f}")


if __name__ == "__main__":
    main()
