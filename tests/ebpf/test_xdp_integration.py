"""Integration test of the Sluice XDP program on a real veth pair.

Two network namespaces (sl-*), joined by a veth; sluice-xdp attaches to the receiving end
inside its namespace. Checks that kernel traffic (ping, TCP to a non-service port) still
passes, that a blocked CIDR is dropped and unblocking restores it, that detach leaves no
program, and that a SIGKILLed holder leaves a stale program which the next start replaces.
`sluicectl xdp` (SLUICECTL) edits the same pinned maps: its block list drops the peer and
its removal restores it, its stats and status report what the kernel did, and a gateway
verdict drops the peer's service traffic until it expires.

Every resource (namespaces, veth, pins, processes) is created per test and removed in a
finally block, even on failure. Traffic stays inside the test's namespaces. Run as root:
    SLUICE_XDP_TOOL=build/ebpf/cli/sluice-xdp SLUICECTL=build/ctrlplane/cli/sluicectl \
        /usr/bin/python3 -m pytest tests/ebpf/test_xdp_integration.py
"""
import itertools
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import time

import pytest

TOOL = os.environ.get("SLUICE_XDP_TOOL", "")
SLUICECTL = os.environ.get("SLUICECTL", "")
needs_sluicectl = pytest.mark.skipif(not SLUICECTL or not os.access(SLUICECTL, os.X_OK),
                                     reason="SLUICECTL must point at the built sluicectl")
_seq = itertools.count()

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: netns, veth, XDP attach, bpffs"),
    pytest.mark.skipif(not TOOL or not os.access(TOOL, os.X_OK),
                       reason="SLUICE_XDP_TOOL must point at the built sluice-xdp"),
    pytest.mark.skipif(shutil.which("ping") is None, reason="ping (iputils-ping) not installed"),
    pytest.mark.skipif(not os.path.ismount("/sys/fs/bpf"), reason="bpffs not mounted at /sys/fs/bpf"),
]

CMD_TIMEOUT_S = 20  # upper bound for any single command; they normally take milliseconds


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True,
                          timeout=CMD_TIMEOUT_S)


def read_line(proc, timeout_s=CMD_TIMEOUT_S):
    """First stdout line of proc, or fail after timeout_s (no sleeping)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout_s):
            pytest.fail(f"no output from {proc.args} within {timeout_s}s")
        return proc.stdout.readline()
    finally:
        sel.close()


class Topology:
    """sl-a<N> (198.19.K.1) <-veth-> sl-b<N> (198.19.K.2); XDP goes on the b side."""

    def __init__(self):
        n = f"{os.getpid() % 100000}{next(_seq)}"
        self.ns_a, self.ns_b = f"sl-xa{n}", f"sl-xb{n}"
        self.if_a, self.if_b = f"sl-a{n}"[:15], f"sl-b{n}"[:15]
        k = (os.getpid() + int(n[-1])) % 250 + 1
        self.ip_a, self.ip_b, self.net = f"198.19.{k}.1", f"198.19.{k}.2", f"198.19.{k}.0/24"
        self.pin_root = f"/sys/fs/bpf/sl-it-{n}"
        self.procs = []

    def up(self):
        sh("ip", "netns", "add", self.ns_a)
        sh("ip", "netns", "add", self.ns_b)
        sh("ip", "link", "add", self.if_a, "netns", self.ns_a, "type", "veth",
           "peer", "name", self.if_b, "netns", self.ns_b)
        for ns, ifname, ip in ((self.ns_a, self.if_a, self.ip_a), (self.ns_b, self.if_b, self.ip_b)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=CMD_TIMEOUT_S)
        # Deleting the namespace deletes the veth pair and with it any attached program.
        for ns in (self.ns_a, self.ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=CMD_TIMEOUT_S)
        if os.path.isdir(self.pin_root):
            subprocess.run([TOOL, "--pin-root", self.pin_root, "unpin"], capture_output=True,
                           timeout=CMD_TIMEOUT_S)
            os.rmdir(self.pin_root)

    def tool(self, *args, check=True):
        return sh(TOOL, "--pin-root", self.pin_root, "--netns", self.ns_b, *args, check=check)

    def hold(self):
        """Starts `sluice-xdp attach --hold`; returns (process, its 'attached ...' line)."""
        p = subprocess.Popen([TOOL, "--pin-root", self.pin_root, "--netns", self.ns_b,
                              "attach", self.if_b, "--hold"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = read_line(p)
        assert line.startswith("attached"), f"attach failed: {line!r} {p.stderr.read() if p.poll() is not None else ''}"
        return p, line

    def ctl(self, *args, check=True):
        """sluicectl xdp on this topology's pins. Runs in the host's mount namespace, where
        bpffs is visible; --netns only matters for `status` (interface discovery)."""
        return sh(SLUICECTL, "xdp", "--pin-root", self.pin_root, "--netns", self.ns_b, *args,
                  check=check)

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "-o", "json").stdout)

    def stats(self):
        out = self.tool("stats").stdout
        return {k: int(v) for k, v in (l.split() for l in out.splitlines())}

    def xdp_prog_id(self):
        out = sh("ip", "-n", self.ns_b, "link", "show", self.if_b).stdout
        m = re.search(r"prog/xdp id (\d+)", out)
        return int(m.group(1)) if m else None

    def ping(self, count=3):
        return subprocess.run(["ip", "netns", "exec", self.ns_a, "ping", "-c", str(count),
                               "-W", "1", "-i", "0.2", self.ip_b],
                              capture_output=True, text=True, timeout=CMD_TIMEOUT_S).returncode == 0


@pytest.fixture
def topo():
    t = Topology()
    try:
        t.up()
        yield t
    finally:
        t.down()


SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5555)); s.listen(1); s.settimeout(15)
print("ready", flush=True)
c, _ = s.accept(); c.sendall(b"hello"); c.close()
"""
CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], 5555), timeout=10); print(c.recv(5).decode())
"""


def test_kernel_traffic_passes_and_blocked_cidr_is_dropped_until_unblocked(topo):
    topo.hold()
    before = topo.stats()
    assert topo.ping(), "ping must reach the kernel through XDP_PASS"

    server = subprocess.Popen(["ip", "netns", "exec", topo.ns_b, "/usr/bin/python3", "-c", SERVER,
                               topo.ip_b], stdout=subprocess.PIPE, text=True)
    topo.procs.append(server)
    assert read_line(server).strip() == "ready"
    client = sh("ip", "netns", "exec", topo.ns_a, "/usr/bin/python3", "-c", CLIENT, topo.ip_b)
    assert client.stdout.strip() == "hello"
    assert server.wait(timeout=CMD_TIMEOUT_S) == 0
    passed = topo.stats()
    assert passed["pass"] - before["pass"] >= 6, "XDP must have seen (and passed) the traffic"
    assert passed["drop_blocklist"] == before["drop_blocklist"]

    topo.tool("block", topo.net)
    assert topo.net in topo.tool("blocks").stdout
    assert not topo.ping(), "pings from a blocked CIDR must be dropped"
    blocked = topo.stats()
    assert blocked["drop_blocklist"] - passed["drop_blocklist"] >= 3

    topo.tool("unblock", topo.net)
    assert topo.ping(), "unblocking must restore pings"
    assert topo.stats()["drop_blocklist"] == blocked["drop_blocklist"]


def test_detach_leaves_no_program(topo):
    holder, _ = topo.hold()
    assert topo.xdp_prog_id() is not None
    holder.send_signal(signal.SIGTERM)
    assert holder.wait(timeout=CMD_TIMEOUT_S) == 0, holder.stderr.read()
    assert topo.xdp_prog_id() is None
    assert "xdp" not in sh("ip", "-n", topo.ns_b, "link", "show", topo.if_b).stdout
    assert topo.ping()


def test_next_start_replaces_program_left_by_sigkilled_process(topo):
    holder, _ = topo.hold()
    stale = topo.xdp_prog_id()
    holder.kill()
    holder.wait(timeout=CMD_TIMEOUT_S)
    assert topo.xdp_prog_id() == stale, "SIGKILL leaves the program attached"

    fresh, line = topo.hold()
    assert f"replaced={stale}" in line, line
    new_id = topo.xdp_prog_id()
    assert new_id not in (None, stale)
    assert topo.ping()
    assert "sluice=yes" in topo.tool("status", topo.if_b).stdout

    fresh.send_signal(signal.SIGTERM)
    assert fresh.wait(timeout=CMD_TIMEOUT_S) == 0, fresh.stderr.read()
    assert topo.xdp_prog_id() is None


def test_cli_detach_removes_program_left_by_exited_attach(topo):
    out = topo.tool("attach", topo.if_b).stdout  # exits, leaving the program attached
    assert out.startswith("attached")
    assert topo.xdp_prog_id() is not None
    topo.tool("detach", topo.if_b)
    assert topo.xdp_prog_id() is None


def test_skb_mode_and_mode_switch_over_a_stale_program(topo):
    out = topo.tool("attach", topo.if_b, "skb").stdout
    assert "mode=skb" in out, out
    assert "xdpgeneric" in sh("ip", "-n", topo.ns_b, "link", "show", topo.if_b).stdout
    stale = topo.xdp_prog_id()
    # Insisting on native over a stale skb-mode program: detach it, then attach afresh.
    out = topo.tool("attach", topo.if_b, "native").stdout
    assert "mode=native" in out and f"replaced={stale}" in out, out
    link = sh("ip", "-n", topo.ns_b, "link", "show", topo.if_b).stdout
    assert "xdpgeneric" not in link and "prog/xdp id" in link
    assert topo.ping()
    topo.tool("detach", topo.if_b)
    assert topo.xdp_prog_id() is None


def test_cli_rejects_bad_numbers_and_leaves_config_alone(topo):
    topo.tool("attach", topo.if_b)
    bad = topo.tool("syn-limit", "ten", "5", check=False)
    assert bad.returncode == 2 and "RATE 'ten'" in bad.stderr, bad.stderr
    bad = topo.tool("syn-limit", "10", "0", check=False)
    assert bad.returncode == 1 and "limit unchanged" in bad.stderr, bad.stderr
    topo.tool("detach", topo.if_b)


SERVICE_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5555)); s.listen(4096); s.settimeout(30)
print("ready", flush=True)
c, peer = s.accept(); c.sendall(b"hello"); c.close()
print(peer[0], flush=True)
"""


@pytest.mark.skipif(shutil.which("hping3") is None, reason="hping3 not installed")
def test_syn_flood_is_limited_per_source_while_another_source_connects(topo):
    # Port 5555 on the b side is a service: SYNs to it pass the per-source token bucket. No
    # AF_XDP socket is bound, so admitted SYNs fall back to the kernel's listener.
    topo.hold()
    topo.tool("service", "add", topo.ip_b, "5555", "tcp")
    topo.tool("syn-limit", "20", "20")  # 20 SYN/s per source, burst 20
    flooder = topo.ip_a
    other = topo.ip_a.rsplit(".", 1)[0] + ".3"
    sh("ip", "-n", topo.ns_a, "addr", "add", f"{other}/24", "dev", topo.if_a)
    server = subprocess.Popen(["ip", "netns", "exec", topo.ns_b, "/usr/bin/python3", "-c",
                               SERVICE_SERVER, topo.ip_b], stdout=subprocess.PIPE, text=True)
    topo.procs.append(server)
    assert read_line(server).strip() == "ready"
    before = topo.stats()

    # A bounded flood: 3000 SYNs from one source as fast as hping3 goes (-i u100 = 10 kpps).
    sh("ip", "netns", "exec", topo.ns_a, "hping3", "-q", "-S", "-p", "5555", "-c", "3000",
       "-i", "u100", "-a", flooder, topo.ip_b, check=False)
    mid = topo.stats()
    limited = mid["drop_syn_limit"] - before["drop_syn_limit"]
    # Within the ~0.3 s of the flood the bucket admits its burst plus a few refills.
    assert limited >= 2500, mid

    # Meanwhile a different source is not held back by the flooder's bucket.
    client = sh("ip", "netns", "exec", topo.ns_a, "/usr/bin/python3", "-c",
                "import socket,sys\n"
                "s=socket.socket(); s.bind((sys.argv[2],0)); s.settimeout(10)\n"
                "s.connect((sys.argv[1],5555)); print(s.recv(5).decode())",
                topo.ip_b, other)
    assert client.stdout.strip() == "hello"
    assert read_line(server).strip() == other
    assert topo.stats()["drop_syn_limit"] == mid["drop_syn_limit"]


@needs_sluicectl
def test_sluicectl_block_add_drops_the_peer_and_block_del_restores_it(topo):
    topo.hold()
    status = topo.ctl_json("status")
    assert status["ok"] and len(status["attached"]) == 1, status
    att = status["attached"][0]
    assert att["interface"] == topo.if_b and att["prog_id"] == topo.xdp_prog_id(), status
    assert att["mode"] in ("native", "skb") and att["uses_pinned_maps"], status
    assert topo.ping()

    before = topo.ctl_json("stats")
    assert before["verdicts"]["pass"] >= 3, before
    added = topo.ctl_json("block", "add", topo.net)
    assert added == {"ok": True, "cidr": topo.net, "blocked": True}, added
    assert {"cidr": topo.net, "family": "ipv4"} in topo.ctl_json("block", "list")
    assert topo.ctl_json("status")["block_list"] == {"ipv4": 1, "ipv6": 0}
    assert not topo.ping(), "pings from a CIDR blocked with sluicectl must be dropped"
    blocked = topo.ctl_json("stats")
    assert blocked["verdicts"]["drop_blocklist"] - before["verdicts"]["drop_blocklist"] >= 3
    # Both tools read the same counters.
    assert topo.stats()["drop_blocklist"] == blocked["verdicts"]["drop_blocklist"]

    out = topo.ctl("block", "del", topo.net).stdout
    assert out.strip() == f"unblocked {topo.net}", out
    assert topo.ctl_json("block", "list") == []
    assert topo.ping(), "block del must restore pings"
    assert topo.ctl_json("stats")["verdicts"]["drop_blocklist"] == blocked["verdicts"]["drop_blocklist"]


@needs_sluicectl
def test_sluicectl_refuses_bad_input_with_usage_code_and_missing_program_with_code_3(topo):
    bad = topo.ctl("block", "add", "198.19.0.0/33", check=False)
    assert bad.returncode == 2 and "prefix length must be 0..32" in bad.stderr, bad.stderr
    bad = topo.ctl("block", "add", "198.19.0.300", "-o", "json", check=False)
    assert bad.returncode == 2, bad.stderr
    assert json.loads(bad.stdout)["error"].startswith("CIDR '198.19.0.300'"), bad.stdout
    # Nothing is pinned yet: no program has been loaded with this pin root.
    none = topo.ctl("stats", check=False)
    assert none.returncode == 3 and "no Sluice XDP program is loaded" in none.stderr, none.stderr

    topo.hold()
    absent = topo.ctl("block", "del", "203.0.113.0/24", check=False)
    assert absent.returncode == 1 and "is not in the block list" in absent.stderr, absent.stderr
    assert topo.ctl("limit", "set", "--rate", "100000001", check=False).returncode == 2
    assert topo.ctl_json("limit", "set", "--rate", "20", "--burst", "40")["syn_limit"] == \
        {"rate": 20, "burst": 40}
    assert topo.ctl_json("status")["syn_limit"] == {"rate": 20, "burst": 40}
    assert topo.ctl_json("limit", "set", "--rate", "0")["syn_limit"] == {"rate": 0, "burst": 0}


MULTI_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5555)); s.listen(64); s.settimeout(30)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hello"); c.close()
"""
CONNECT = """
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], 5555), timeout=float(sys.argv[2]))
    print(c.recv(5).decode())
except OSError as e:
    print("failed", e)
"""


@needs_sluicectl
def test_gateway_verdict_drops_service_traffic_until_it_expires(topo):
    topo.hold()
    topo.tool("service", "add", topo.ip_b, "5555", "tcp")  # no XSK: steered SYNs fall back to the kernel
    server = subprocess.Popen(["ip", "netns", "exec", topo.ns_b, "/usr/bin/python3", "-c",
                               MULTI_SERVER, topo.ip_b], stdout=subprocess.PIPE, text=True)
    topo.procs.append(server)
    assert read_line(server).strip() == "ready"

    def connect(timeout_s):
        return sh("ip", "netns", "exec", topo.ns_a, "/usr/bin/python3", "-c", CONNECT,
                  topo.ip_b, str(timeout_s)).stdout.strip()

    assert connect(5) == "hello"
    ttl_ms = 2000
    added = topo.ctl_json("verdict", "add", topo.ip_a, "--ttl", str(ttl_ms), "--reason",
                          "rate_limited")
    set_at = time.monotonic()
    assert added == {"ok": True, "source": topo.ip_a, "reason": "rate_limited", "ttl_ms": ttl_ms}
    before = topo.ctl_json("stats")["verdicts"]["drop_gateway_verdict"]
    listed = topo.ctl_json("verdict", "list")
    assert len(listed) == 1 and listed[0]["source"] == topo.ip_a, listed
    assert 0 < listed[0]["remaining_ms"] <= ttl_ms, listed

    assert connect(0.5).startswith("failed"), "SYNs from a source under a verdict must be dropped"
    assert topo.ctl_json("stats")["verdicts"]["drop_gateway_verdict"] > before
    # Kernel traffic of the same source is not the gateway's business: ping still passes.
    assert topo.ping(count=1)

    time.sleep(max(0.0, set_at + ttl_ms / 1000 + 0.2 - time.monotonic()))
    assert topo.ctl_json("verdict", "list") == []
    assert connect(5) == "hello", "service traffic must pass again once the verdict expired"
