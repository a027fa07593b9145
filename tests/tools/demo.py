"""The demo behind scripts/demo: the dataplane on the virtual testbed, reached by a Linux peer."""
import argparse
import sys

from testbed import Dataplane, Testbed, port_totals


def say(text):
    print(f"\n== {text}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=["af_packet", "af_xdp"], default="af_packet",
                    help="how the dataplane attaches to its veth (default af_packet)")
    args = ap.parse_args()

    with Testbed(tag="demo") as bed:
        say(f"testbed: namespace {bed.dp_ns} ({bed.dp_if()}, owned by the dataplane) <-> "
            f"namespace {bed.peer_ns} ({bed.peer_if()}, {bed.peer_ip()}/24, a Linux peer)")
        dp = Dataplane(bed, args.mode)
        print("$ " + " ".join(dp.command()))
        dp.start()
        say(f"dataplane up on {args.mode}, serving {bed.dp_ip()}/24 with mac {bed.dp_mac()}")

        say(f"peer: arping {bed.dp_ip()}")
        replies, out = bed.arping(count=3)
        print(out.strip())
        say(f"peer: ping {bed.dp_ip()}")
        print(bed.peer("ping", "-c", "5", "-i", "0.2", bed.dp_ip()).stdout.strip())
        say("peer: neighbour table")
        print(bed.peer("ip", "neigh", "show", "dev", bed.peer_if()).stdout.strip())

        say("dataplane statistics (SIGUSR1)")
        stats = dp.stats()
        start = next(i for i, line in reversed(list(enumerate(dp.lines)))
                     if line.startswith("port 0"))
        print("\n".join(dp.lines[start:-1]))
        t = port_totals(stats)

        say("stopping the dataplane (SIGTERM)")
        rc = dp.stop()
        for line in dp.log().splitlines():
            if "mempool" in line and "returned" in line:
                print(line)

    say("summary")
    ok = rc == 0 and replies == 3 and t["events"]["icmp_echo_reply_tx"] >= 5
    print(f"arp replies sent: {t['events']['arp_reply_tx']}, echo replies sent: "
          f"{t['events']['icmp_echo_reply_tx']}, packets received: {t['rx_packets']}, "
          f"dropped: {t['dropped']}, exit code: {rc}")
    print("testbed removed; demo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
