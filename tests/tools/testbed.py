"""The built-in virtual testbed: network namespaces joined by veth pairs, with the dataplane on
one side and Linux peers on the other. Used by the integration tests and by scripts/demo.

Layout for a testbed with tag T and N links:
    namespace sl-dp-T  holds veth slTd<i> (no address: the dataplane owns it through DPDK)
    namespace sl-pe-T  holds veth slTp<i> with 198.18.<i>.1/24 (RFC 2544 benchmarking range)
    the dataplane serves 198.18.<i>.2/24 on link i

Nothing is created in the root namespace, so the machine's own interfaces are never touched, and
all test traffic stays on the veth pairs. Everything is removed by down(), which is idempotent
and also runs from the context manager's exit and from atexit, whatever happened.
"""
import atexit
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sh(*args, check=True, timeout=30, capture=True):
    """Runs a command (a list); returns CompletedProcess. Raises with stderr on failure."""
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def wait_for(cond, timeout, what="condition"):
    """Polls cond() every 20 ms until it returns something truthy, which it returns; raises
    AssertionError after `timeout` seconds. For conditions nothing signals (kernel releases,
    another process's state), never as a stand-in for a signal we could wait on."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def build_dir():
    return os.environ.get("SLUICE_BUILD", os.path.join(REPO, "build"))


def dataplane_binary():
    return os.path.join(build_dir(), "dataplane", "sluice-dataplane")


class Testbed:
    __test__ = False  # a helper, not a pytest test class (its name starts with "Test")

    def __init__(self, tag=None, links=1, backend=False):
        """`backend`: the last link's peer side goes into a third namespace (sl-be-<tag>),
        where the gateway tests run their backends; clients stay in the peer namespace."""
        self.tag = str(tag if tag is not None else os.getpid() % 100000)
        self.links = links
        self.dp_ns = f"sl-dp-{self.tag}"
        self.peer_ns = f"sl-pe-{self.tag}"
        self.backend_ns = f"sl-be-{self.tag}" if backend else None
        self._up = False
        self.dataplanes = []
        self._workdir = None

    def workdir(self):
        """A private temporary directory for logs and stats files, removed by down()."""
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix=f"sluice-bed-{self.tag}-")
        return self._workdir

    # Names and addresses of link i.
    def dp_if(self, i=0):
        return f"sl{self.tag}d{i}"

    def peer_if(self, i=0):
        return f"sl{self.tag}p{i}"

    @staticmethod
    def peer_ip(i=0):
        return f"198.18.{i}.1"

    @staticmethod
    def dp_ip(i=0):
        return f"198.18.{i}.2"

    def dp_mac(self, i=0):
        out = sh("ip", "-n", self.dp_ns, "-j", "link", "show", self.dp_if(i)).stdout
        return json.loads(out)[0]["address"]

    def up(self):
        self.down()  # leftovers of a crashed run with the same tag
        atexit.register(self.down)
        for ns in self._namespaces():
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # Quiet links: no IPv6 autoconfiguration, router solicitations or MLD reports.
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        for i in range(self.links):
            d, p = self.dp_if(i), self.peer_if(i)
            ns = self.ns_of_link(i)
            sh("ip", "link", "add", d, "netns", self.dp_ns, "type", "veth", "peer", "name", p,
               "netns", ns)
            sh("ip", "-n", ns, "addr", "add", f"{self.peer_ip(i)}/24", "dev", p)
            # veth leaves checksums to the receiver's stack; ours is not the kernel's.
            sh("ip", "netns", "exec", ns, "ethtool", "-K", p, "tx", "off", check=False)
            sh("ip", "-n", self.dp_ns, "link", "set", d, "up")
            sh("ip", "-n", ns, "link", "set", p, "up")
        if self.backend_ns is not None and self.links >= 2:
            # Clients and backends reach each other's subnet only through the dataplane.
            sh("ip", "-n", self.peer_ns, "route", "add", "198.18.0.0/16", "via",
               self.dp_ip(0), check=False)
            sh("ip", "-n", self.backend_ns, "route", "add", "198.18.0.0/16", "via",
               self.dp_ip(self.links - 1), check=False)
        self._up = True
        return self

    def down(self):
        for d in list(self.dataplanes):
            d.kill()
        for ns in (self.dp_ns, self.peer_ns, f"sl-be-{self.tag}"):
            if os.path.exists(f"/var/run/netns/{ns}"):
                sh("ip", "netns", "del", ns, check=False)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._up = False

    def _namespaces(self):
        return [self.dp_ns, self.peer_ns] + ([self.backend_ns] if self.backend_ns else [])

    def ns_of_link(self, i):
        """The namespace holding the peer side of link i."""
        if self.backend_ns is not None and i == self.links - 1 and self.links >= 2:
            return self.backend_ns
        return self.peer_ns

    def backend(self, *args, timeout=30, check=False):
        return sh("ip", "netns", "exec", self.backend_ns, *args, timeout=timeout, check=check)

    def backend_popen(self, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.backend_ns, *args], **kw)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    def peer(self, *args, timeout=30, check=False):
        return sh("ip", "netns", "exec", self.peer_ns, *args, timeout=timeout, check=check)

    def peer_popen(self, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.peer_ns, *args], **kw)

    def ping(self, count=5, interval=0.2, size=56, i=0):
        r = self.peer("ping", "-c", str(count), "-i", str(interval), "-W", "2", "-s", str(size),
                      self.dp_ip(i), timeout=count * interval + 10)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
        return (int(m.group(1)), int(m.group(2))) if m else (count, 0)

    def arping(self, count=3, i=0):
        r = self.peer("arping", "-c", str(count), "-w", str(count + 3), "-I", self.peer_if(i),
                      self.dp_ip(i), timeout=count + 10)
        return len(re.findall(r"bytes from", r.stdout)), r.stdout


class Dataplane:
    """sluice-dataplane running in the testbed's dataplane namespace."""

    def __init__(self, bed, mode="af_packet", lcores="0-1", extra_eal=(), extra=(), links=None,
                 binary=None):
        self.bed = bed
        self.mode = mode
        self.lcores = lcores
        self.extra_eal = list(extra_eal)
        self.extra = list(extra)
        self.links = bed.links if links is None else links
        self.binary = binary or dataplane_binary()
        self.stats_file = os.path.join(bed.workdir(), f"stats-{len(bed.dataplanes)}.json")
        self.proc = None
        self.lines = []
        self._q = queue.Queue()
        self.stderr_path = os.path.join(bed.workdir(), f"dataplane-{id(self)}.log")
        self.returncode = None
        self.vdev_extra = ""  # appended to every --vdev, e.g. ",qpairs=2"
        # Appended to every --port, e.g. ",services=80" for the "xdp" and "auto" modes, in
        # which the dataplane creates its own device (dev=afxdp:IF / dev=auto:IF, no --vdev).
        self.port_extra = ""

    # Modes in which the dataplane creates the device itself from --port dev=<prefix>:IFACE.
    SELF_CREATED = {"xdp": "afxdp", "auto": "auto"}

    def vdev(self, i):
        if self.mode in self.SELF_CREATED:
            return None
        if self.mode == "af_packet":
            return f"net_af_packet{i},iface={self.bed.dp_if(i)}"
        if self.mode == "af_xdp":
            return f"net_af_xdp{i},iface={self.bed.dp_if(i)},start_queue=0,queue_count=1"
        if self.mode == "tap":
            # DPDK creates the tap interface in the dataplane namespace; its kernel side is the
            # peer (tests give it the peer address themselves).
            return f"net_tap{i},iface={self.tap_if(i)}"
        raise ValueError(self.mode)

    def tap_if(self, i=0):
        return f"sl{self.bed.tag}t{i}"

    def command(self):
        cmd = [self.binary] + (["-l", self.lcores] if self.lcores else [])
        cmd += ["--no-pci", "--log-level=lib.eal:warning"]
        cmd += [f"--vdev={self.vdev(i)}" + self.vdev_extra for i in range(self.links)
                if self.vdev(i) is not None]
        cmd += self.extra_eal + ["--"]
        for i in range(self.links):
            if self.mode in self.SELF_CREATED:
                dev = f"{self.SELF_CREATED[self.mode]}:{self.bed.dp_if(i)}"
            else:
                dev = f"net_{self.mode}{i}"
            cmd += ["--port", f"dev={dev},addr={self.bed.dp_ip(i)}/24,gw={self.bed.peer_ip(i)}"
                    + self.port_extra]
        cmd += ["--stats-file", self.stats_file] + self.extra
        return cmd

    def start(self, timeout=60, expect_ready=True):
        self.err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.bed.dp_ns] + self.command(),
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.bed.dataplanes.append(self)
        threading.Thread(target=self._read, daemon=True).start()
        if expect_ready:
            self.wait_for(r"^sluice-dataplane: ready", timeout)
        return self

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern, timeout=30):
        """Waits for a stdout line matching pattern; raises with the log if the process exits."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line matching {pattern!r} within {timeout}s\n{self.log()}")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait()
                raise RuntimeError(f"dataplane exited ({self.proc.returncode}) before "
                                   f"{pattern!r}\n{self.log()}")
            m = rx.search(line)
            if m:
                return m

    def log(self):
        try:
            with open(self.stderr_path) as f:
                err = f.read()
        except OSError:
            err = ""
        return "--- stdout\n" + "\n".join(self.lines[-60:]) + "\n--- stderr\n" + err[-6000:]

    def stats(self, timeout=15):
        """Asks for a stats dump (SIGUSR1), waits until it is written, and returns it parsed."""
        self.proc.send_signal(signal.SIGUSR1)
        self.wait_for(r"^sluice-dataplane: stats seq=\d+", timeout)
        with open(self.stats_file) as f:
            return json.load(f)

    def in_ns(self, *args, timeout=30, check=False):
        """Runs a command in the dataplane's network *and mount* namespace (nsenter): under
        `ip netns exec` the dataplane mounts its own bpffs, so sluice-xdp finds the XDP
        program's pins only there."""
        return sh("nsenter", "-t", str(self.proc.pid), "-m", "-n", *args, timeout=timeout,
                  check=check)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"dataplane did not stop within {timeout}s\n{self.log()}")
        self._finish()
        return self.proc.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._finish()

    def _finish(self):
        if self in self.bed.dataplanes:
            self.bed.dataplanes.remove(self)
        if getattr(self, "err", None):
            self.err.close()
        self.returncode = self.proc.returncode if self.proc else None
        self.final_stats = None
        try:
            with open(self.stats_file) as f:
                self.final_stats = json.load(f)  # written at shutdown
        except (OSError, ValueError):
            pass
        for p in (self.stats_file, self.stats_file + ".tmp"):
            if os.path.exists(p):
                os.remove(p)


def port_totals(stats, port=0):
    return stats["ports"][port]["totals"]
