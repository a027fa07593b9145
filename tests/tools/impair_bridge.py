"""An impaired path between the testbed's dataplane and its Linux peer: the peer's veth moves
into a middle namespace, a second veth pair joins that namespace to the peer namespace, and
impair_bridge (tests/tools/impair_bridge.cc) forwards frames between the two with loss, delay,
reordering and duplication. Used by tests/integration/test_tcp_bulk.py and
bench/tcp/loss_bench.py.

    sl-dp-T:  slTd0 (dataplane, or Linux in the benchmark's baseline)
    sl-mi-T:  slTp0 <- impair_bridge -> slTm0        (no addresses)
    sl-pe-T:  slTl0 198.18.0.1/24 (Linux peer)

The peer address moves to slTl0, so bed.peer_ip() and bed.dp_ip() keep working. Linux's
transmit offloads are turned off on slTl0: with them, Linux hands veth 64 KB GSO frames that the
bridge cannot forward (it counts them as `oversize`). The middle namespace is removed by close(),
also when setup fails half way; the testbed removes the other two.
"""
import json
import os
import queue
import subprocess
import threading

from testbed import build_dir, sh


def bridge_binary():
    return os.environ.get("SLUICE_IMPAIR_BRIDGE",
                          os.path.join(build_dir(), "tests", "tools", "impair_bridge"))


class ImpairedPath:
    def __init__(self, bed, delay_ms=0.0, loss=0.0, reorder=0.0, dup=0.0, seed=1,
                 reorder_gap=3):
        self.bed = bed
        self.mid_ns = f"sl-mi-{bed.tag}"
        self.a_if = bed.peer_if()           # faces the dataplane
        self.b_if = f"sl{bed.tag}m0"        # faces Linux
        self.linux_if = f"sl{bed.tag}l0"    # Linux's new interface, in the peer namespace
        self.args = ["--delay-ms", str(delay_ms), "--loss", str(loss), "--reorder", str(reorder),
                     "--dup", str(dup), "--seed", str(seed), "--reorder-gap", str(reorder_gap)]
        self.proc = None
        self.counters = None
        self._q = queue.Queue()

    def __enter__(self):
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def open(self):
        bed, mid = self.bed, self.mid_ns
        if os.path.exists(f"/var/run/netns/{mid}"):
            sh("ip", "netns", "del", mid, check=False)  # a crashed run with the same tag
        sh("ip", "netns", "add", mid)
        sh("ip", "-n", mid, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", mid, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "netns", "exec", mid, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "-n", bed.peer_ns, "link", "set", self.a_if, "netns", mid)
        sh("ip", "link", "add", self.b_if, "netns", mid, "type", "veth", "peer", "name",
           self.linux_if, "netns", bed.peer_ns)
        sh("ip", "-n", bed.peer_ns, "addr", "add", f"{bed.peer_ip()}/24", "dev", self.linux_if)
        sh("ip", "netns", "exec", bed.peer_ns, "ethtool", "-K", self.linux_if, "tx", "off",
           "tso", "off", "gso", "off", check=False)
        for dev in (self.a_if, self.b_if):
            sh("ip", "netns", "exec", mid, "ethtool", "-K", dev, "gro", "off", check=False)
            sh("ip", "-n", mid, "link", "set", dev, "up")
        sh("ip", "-n", bed.peer_ns, "link", "set", self.linux_if, "up")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", mid, bridge_binary(), "--a", self.a_if, "--b", self.b_if]
            + self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self._q.get(timeout=10)
        except queue.Empty:
            line = None
        if line != "impair_bridge: ready":
            raise RuntimeError(f"impair_bridge did not start: {line!r} "
                               f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}")
        return self

    def _read(self):
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def stop(self):
        """Stops the bridge; returns its counters {"a_to_b": {...}, "b_to_a": {...}}
        (a_to_b = dataplane to Linux)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.counters is None and self.proc is not None:
            self.counters = {}
            while True:
                try:
                    line = self._q.get(timeout=5)
                except queue.Empty:
                    break
                if line is None:
                    break
                if line.startswith("{"):
                    d = json.loads(line)
                    self.counters[d.pop("dir")] = d
        return self.counters

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.path.exists(f"/var/run/netns/{self.mid_ns}"):
            sh("ip", "netns", "del", self.mid_ns, check=False)
