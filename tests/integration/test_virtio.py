"""The virtio PMD path: sluice-dataplane on net_virtio_user against dpdk-testpmd's net_vhost
(vhost-user over a unix socket in /tmp), testpmd in icmpecho mode.

The dataplane announces its address with a gratuitous ARP request at start; testpmd's icmpecho
answers every ARP request, so the dataplane receives an ARP reply claiming its own address
(counted as arp_reply_rx and arp_conflict). One frame each way proves that virtio rings and
vhost-user memory sharing work end to end. Both processes use --no-pci, their own
--file-prefix with --in-memory (nothing left in /dev/hugepages), and lcores 0-1. Everything is
bounded in time and removed afterwards.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

import testbed
from testbed import Dataplane, port_totals

TESTPMD = shutil.which("dpdk-testpmd")

pytestmark = pytest.mark.skipif(TESTPMD is None, reason="dpdk-testpmd (Debian: dpdk) missing")


class VirtioDataplane(Dataplane):
    def __init__(self, bed, sock):
        super().__init__(bed, mode="virtio", links=0)
        self.sock = sock

    def command(self):
        # --single-file-segments: vhost-user maps guest memory region by region, and
        # DPDK's per-page segments overflow its limit ("Too many memory regions").
        return [self.binary, "-l", "0-1", "--no-pci", "--log-level=lib.eal:warning",
                f"--file-prefix=sl-vdp-{self.bed.tag}", "--in-memory", "--single-file-segments",
                "-m", "256", f"--vdev=net_virtio_user0,path={self.sock},queues=1", "--",
                "--port", "dev=net_virtio_user0,addr=198.18.0.2/24",
                "--stats-file", self.stats_file]


def test_virtio_user_against_vhost_testpmd_exchanges_frames():
    tag = f"v{os.getpid() % 10000}"
    sock = f"/tmp/sl-vhost-{tag}.sock"
    pmd = None
    with testbed.Testbed(tag=tag, links=0) as bed:
        try:
            if os.path.exists(sock):
                os.remove(sock)
            pmd = subprocess.Popen(
                [TESTPMD, "-l", "0-1", "--no-pci", f"--file-prefix=sl-tpmd-{tag}", "--in-memory",
                 "-m", "256", f"--vdev=net_vhost0,iface={sock},queues=1",
                 "--log-level=lib.eal:warning", "--", "--forward-mode=icmpecho", "--auto-start",
                 "--nb-cores=1", "--stats-period=0"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            deadline = time.monotonic() + 30
            while not os.path.exists(sock):
                assert pmd.poll() is None, pmd.stdout.read()
                assert time.monotonic() < deadline, "testpmd did not create its vhost socket"
                time.sleep(0.1)
            dp = VirtioDataplane(bed, sock).start()
            t = {}
            for _ in range(50):  # the announce goes out at start; the reply follows quickly
                t = port_totals(dp.stats())
                if t["events"].get("arp_reply_rx", 0) >= 1:
                    break
                time.sleep(0.1)
            assert "driver net_virtio_user" in dp.log(), dp.log()
            assert t["events"]["arp_gratuitous_tx"] >= 1, t
            assert t["events"]["arp_reply_rx"] >= 1, (t, dp.log())
            assert t["rx_packets"] >= 1, t
            assert dp.stop() == 0, dp.log()
            out, _ = pmd.communicate("\n", timeout=30)  # "Press enter to exit"
            rx = re.search(r"RX-packets: (\d+)", out)
            tx = re.search(r"TX-packets: (\d+)", out)
            assert rx and int(rx.group(1)) >= 1, out
            assert tx and int(tx.group(1)) >= 1, out
        finally:
            if pmd is not None and pmd.poll() is None:
                pmd.kill()
                pmd.wait(timeout=10)
            for p in (sock, f"/var/run/dpdk/sl-tpmd-{tag}", f"/var/run/dpdk/sl-vdp-{tag}"):
                if os.path.isdir(p):
                    shutil.rmtree(p, ignore_errors=True)
                elif os.path.exists(p):
                    os.remove(p)
