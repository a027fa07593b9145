"""L2/L3 reachability of the dataplane from a Linux peer, on net_af_packet and net_af_xdp.

Each test builds its own namespaces and veth pair (tests/tools/testbed.py), starts
sluice-dataplane on the dataplane end with --no-pci, talks to it with Linux ping, arping and
scapy from the peer namespace, and removes everything afterwards, even on failure.
"""
import os
import shutil
import stat
import tempfile
import subprocess
import sys

import pytest

from testbed import Dataplane, port_totals, wait_for

MODES = ["af_packet", "af_xdp"]


@pytest.mark.parametrize("mode", MODES)
def test_linux_ping_and_arping_get_answers(bed, mode):
    dp = Dataplane(bed, mode).start()
    sent, received = bed.ping(count=5)
    assert (sent, received) == (5, 5), dp.log()
    replies, out = bed.arping(count=3)
    assert replies == 3, out + dp.log()
    # The peer's neighbour entry carries the MAC of the interface the dataplane owns.
    neigh = bed.peer("ip", "neigh", "show", bed.dp_ip()).stdout
    assert bed.dp_mac() in neigh.lower(), neigh
    t = port_totals(dp.stats())
    assert t["events"]["icmp_echo_request"] == 5
    assert t["events"]["icmp_echo_reply_tx"] == 5
    assert t["events"]["arp_reply_tx"] >= 3
    assert t["drops"]["icmp_bad_checksum"] == 0
    assert dp.stop() == 0, dp.log()


@pytest.mark.parametrize("mode", MODES)
def test_dataplane_resolves_the_peer_mac_to_answer(bed, mode):
    dp = Dataplane(bed, mode).start()
    # The peer knows our MAC statically, so it never asks: the dataplane must resolve the
    # peer's MAC itself before it can send the echo replies.
    bed.peer("ip", "neigh", "replace", bed.dp_ip(), "lladdr", bed.dp_mac(), "nud", "permanent",
             "dev", bed.peer_if(), check=True)
    sent, received = bed.ping(count=3)
    assert received == 3, dp.log()
    t = port_totals(dp.stats())
    assert t["events"]["arp_request_rx"] == 0
    assert t["events"]["arp_request_tx"] >= 1
    assert t["events"]["arp_reply_rx"] >= 1
    assert t["events"]["arp_learned"] >= 1
    assert t["events"]["icmp_echo_reply_tx"] == 3
    assert dp.stop() == 0, dp.log()


SCAPY_FLOOD = r"""
import sys
from scapy.all import Ether, IP, ICMP, UDP, Dot1Q, IPv6, Raw, ARP, sendp, conf
conf.verb = 0
iface, dst_mac, src_ip, dst_ip = sys.argv[1:5]
src_mac = open(f"/sys/class/net/{iface}/address").read().strip()
e = Ether(dst=dst_mac, src=src_mac)
frames = []
frames += [e / IP(src=src_ip, dst=dst_ip, chksum=0x1234) / ICMP()] * 7            # bad IP checksum
frames += [e / IP(src=src_ip, dst=dst_ip) / ICMP(chksum=0x4321) / Raw(b"x" * 20)] * 5  # bad ICMP
frames += [e / Dot1Q(vlan=7) / IP(src=src_ip, dst=dst_ip) / ICMP()] * 4            # VLAN tagged
frames += [e / IPv6(dst="fe80::1") / Raw(b"y" * 8)] * 3                             # IPv6
frames += [e / IP(src=src_ip, dst=dst_ip, flags="MF") / ICMP()] * 6                 # fragment
frames += [e / IP(src=src_ip, dst=dst_ip) / UDP(dport=9) / Raw(b"z")] * 2           # no UDP yet
frames += [Ether(dst="02:00:00:00:00:99", src=src_mac) / IP(src=src_ip, dst=dst_ip) / ICMP()] * 8
sendp(frames, iface=iface)
print(len(frames))
"""


@pytest.mark.parametrize("mode", MODES)
def test_counters_match_what_was_sent(bed, mode):
    dp = Dataplane(bed, mode).start()
    # Resolve first, so that no ARP traffic overlaps the crafted frames.
    assert bed.ping(count=1) == (1, 1), dp.log()
    before = port_totals(dp.stats())
    r = bed.peer(sys.executable, "-c", SCAPY_FLOOD, bed.peer_if(), bed.dp_mac(), bed.peer_ip(),
                 bed.dp_ip(), timeout=60, check=True)
    assert r.stdout.strip() == "35"
    # The ping after the flood is answered, and since frames on a veth arrive in order, its reply
    # proves every crafted frame before it was processed.
    assert bed.ping(count=1) == (1, 1), dp.log()
    after = port_totals(dp.stats())
    d = {k: after["drops"][k] - before["drops"][k] for k in after["drops"]}
    # net_af_packet joins a PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG, so the kernel
    # reassembles fragments before the PMD sees them and keeps lone first fragments to itself.
    frags = 6 if mode == "af_xdp" else 0
    assert d["ipv4_bad_checksum"] == 7
    assert d["icmp_bad_checksum"] == 5
    assert d["eth_vlan_unsupported"] == 4
    assert d["eth_ipv6_unsupported"] == 3
    assert d["ipv4_fragment"] == frags, d
    assert d["ipv4_proto_unhandled"] == 2
    assert d["eth_not_for_us"] == 8
    assert sum(d.values()) == 29 + frags, d
    assert after["rx_packets"] - before["rx_packets"] == 29 + frags + 1
    stats = dp.stats()
    assert stats["ports"][0]["ethdev"]["ipackets"] == stats["ports"][0]["totals"]["rx_packets"]
    assert dp.stop() == 0, dp.log()


def hugepage_files():
    return sorted(os.listdir("/dev/hugepages")) if os.path.isdir("/dev/hugepages") else []


def free_hugepages():
    with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
        return int(f.read())


@pytest.mark.parametrize("mode", MODES)
def test_repeated_start_stop_leaks_nothing(bed, mode):
    files, free = hugepage_files(), free_hugepages()
    for _ in range(3):
        dp = Dataplane(bed, mode).start()
        assert bed.ping(count=2, interval=0.1)[1] == 2, dp.log()
        assert dp.stop() == 0, dp.log()
        log = dp.log()
        assert "mbuf leak" not in log
        assert "all" in log and "mbufs returned" in log
        # Nothing left behind: hugepage files, reserved pages, the interface, XDP programs.
        assert hugepage_files() == files
        # The kernel releases an AF_XDP UMEM's pinned pages from a workqueue after the socket
        # closes (xdp_umem_release_deferred), so give it a bounded moment.
        wait_for(lambda: free_hugepages() == free, 10, f"hugepages back to {free}")
        link = subprocess.run(["ip", "-n", bed.dp_ns, "link", "show", bed.dp_if()],
                              capture_output=True, text=True, check=True).stdout
        assert "xdp" not in link, link
    assert not os.path.exists("/var/run/dpdk/rte/config")


def test_sigint_also_shuts_down_cleanly(bed):
    dp = Dataplane(bed, "af_packet").start()
    dp.proc.send_signal(2)
    dp.proc.wait(timeout=30)
    assert dp.stop() == 0, dp.log()
    assert "mbufs returned" in dp.log()
    # The final stats were written on the way out.
    assert dp.final_stats is not None and "ports" in dp.final_stats


def test_single_lcore_runs_worker_and_housekeeping_on_main(bed):
    dp = Dataplane(bed, "af_packet", lcores="0").start()
    assert bed.ping(count=3)[1] == 3, dp.log()
    s = dp.stats()
    assert s["lcores"][0]["lcore"] == 0
    assert s["lcores"][0]["busy_cycles"] > 0
    assert dp.stop() == 0, dp.log()


def test_unknown_device_fails_with_a_clear_error(bed):
    dp = Dataplane(bed, "af_packet", extra=["--port", "dev=net_nope0,addr=198.18.9.2/24"])
    dp.start(expect_ready=False)
    assert dp.proc.wait(timeout=30) == 1
    dp.stop()
    assert "no DPDK port named 'net_nope0'" in dp.log()


def test_bad_port_option_is_refused_before_eal(bed):
    dp = Dataplane(bed, "af_packet", extra=["--port", "dev=x,addr=198.18.0.2"])
    dp.start(expect_ready=False)
    assert dp.proc.wait(timeout=30) == 2
    dp.stop()
    assert "needs a prefix length" in dp.log()


def test_tap_port_with_checksum_offload_is_reachable_from_its_kernel_side(bed):
    # net_tap offers IPv4 checksum offload, so this exercises the offload path as well.
    dp = Dataplane(bed, "tap").start()
    tap = dp.tap_if()
    ns = ["ip", "netns", "exec", bed.dp_ns]
    subprocess.run(ns + ["ip", "addr", "add", f"{bed.peer_ip()}/24", "dev", tap], check=True)
    subprocess.run(ns + ["ip", "link", "set", tap, "up"], check=True)
    r = subprocess.run(ns + ["ping", "-c", "3", "-i", "0.2", "-W", "2", bed.dp_ip()],
                       capture_output=True, text=True, timeout=30)
    assert "3 received" in r.stdout, r.stdout + dp.log()
    assert "ipv4 checksum offload rx on tx on" in dp.log(), dp.log()
    assert dp.stop() == 0, dp.log()
    # The tap interface goes away with the dataplane.
    links = subprocess.run(["ip", "-n", bed.dp_ns, "link"], capture_output=True, text=True).stdout
    assert tap not in links


def test_two_workers_share_what_they_learn(bed):
    # Two workers on one spare CPU (EAL --lcores maps lcores 1 and 2 onto CPU 1), two af_packet
    # queue pairs spread by fanout hash. Whichever worker receives the ARP reply tells the other
    # through its ring, so both answer pings without asking again.
    dp = Dataplane(bed, "af_packet", lcores="0-2")
    dp.lcores = None
    dp.extra_eal = ["--lcores=0@0,1@1,2@1"]
    dp.vdev_extra = ",qpairs=2"
    dp.start()
    bed.peer("ip", "neigh", "replace", bed.dp_ip(), "lladdr", bed.dp_mac(), "nud", "permanent",
             "dev", bed.peer_if(), check=True)
    # Many flows (one per ping id) so that the fanout hash uses both queues.
    for _ in range(6):
        assert bed.ping(count=2, interval=0.05)[1] == 2, dp.log()
    s = dp.stats()
    queues = s["ports"][0]["queues"]
    assert [q["lcore"] for q in queues] == [1, 2]
    assert sum(q["events"]["arp_learned"] for q in queues) >= 2  # learned, then told
    assert s["ports"][0]["totals"]["events"]["arp_request_tx"] >= 1
    assert all(l["ring_drops"] == 0 for l in s["lcores"])
    assert dp.stop() == 0, dp.log()


def test_control_plane_segments_are_attached_and_released(bed):
    shm = tempfile.mkdtemp(prefix="sluice-shm-", dir="/dev/shm")
    try:
        dp = Dataplane(bed, "af_packet",
                       extra=["--instance", f"it{bed.tag}", "--shm-dir", shm]).start()
        assert "control plane: attached instance" in dp.log()
        assert "1 worker slot(s) registered" in dp.log()
        for seg in ("config", "stats"):
            st = os.stat(os.path.join(shm, f"sluice-it{bed.tag}-{seg}"))
            assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert bed.ping(count=2, interval=0.1)[1] == 2, dp.log()
        assert dp.stop() == 0, dp.log()
    finally:
        shutil.rmtree(shm, ignore_errors=True)
