#!/usr/bin/env python3
"""Side by side: the Sluice gateway against nginx as an HTTP/1.1 keep-alive reverse proxy, in one
invocation and one testbed, taking turns each round; requests/s, p50/p99 latency and the proxy's
CPU cycles per request, medians over the rounds, and the ratios.

Topology (tests/tools/testbed.py with a backend namespace, as tests/integration/test_gateway.py):
    sl-pe-T  wrk (198.18.0.1)            --veth--  sl-dp-T  the proxy (198.18.0.2:8080 and
    sl-be-T  nginx backend 198.18.1.1:9020 --veth--          198.18.1.2 towards the backend)
The backend is one nginx worker answering `return 200` with a fixed 17-byte body. In turn:
  sluice  sluice-dataplane (-l 0-1: main lcore 0, one polling worker on lcore 1) owns both dp
          veths through DPDK (af_packet by default), config from sluice-ctrlplane: one http
          listener on :8080, one route, one cluster with the backend (upstream keep-alive is the
          gateway's default pool), no filters.
  nginx   the dataplane stopped, the same two addresses put on the dp veths in the kernel, and
          nginx (1 worker process, pinned to CPU 1) proxying :8080 to `upstream { keepalive 32; }`
          with proxy_http_version 1.1 and `Connection ""`: the same place in the topology.
Load: wrk -t1 -cC -dD --latency with percentiles.lua, pinned to CPU 0 (taskset), after a 2 s
warm-up run (ARP, upstream connections). The backend and the control plane also sit on CPU 0.
Scheduling: everything runs in a session (scheduler autogroup) of its own at --nice (default
-20), and each proxy in a second one, so that other work on a shared machine does not preempt
the proxy under test; "worker on CPU" in the output says how far that held.

CPU per request:
  sluice  busy cycles: the worker lcore's busy_cycles delta (rte_rdtsc around poll iterations
          that received packets; dataplane/core/worker.cc) over the run / requests. Total cycles:
          busy + idle delta (the worker polls, so this is the whole core) / requests. Process
          CPU: utime+stime of the whole dataplane process (/proc/PID/stat) × TSC Hz / requests.
  nginx   utime+stime of master and worker (/proc/PID/stat, delta over the run) in seconds ×
          TSC Hz / requests. TSC Hz: the dataplane's own rte_get_tsc_hz() from its stats JSON
          (the same clock its cycle counters use); /proc/cpuinfo "cpu MHz" if no Sluice run
          succeeded. On the project VM (constant_tsc, tsc_known_freq): 2600 and 2596 MHz.
Busy cycles include the kernel time of the PMD's transmit kicks (sendto), in which veth runs the
receiving namespace's TCP/IP input; nginx's stime includes the same for its writes. What each
figure does and does not contain: docs/performance.md, section "Gateway against nginx".
--peer-napi moves the receivers' side out of the proxies' transmit calls: the client's and the
backend's veth get GRO (which turns on veth's NAPI receive) and threaded NAPI, the proxy's veths
lose TSO (veth uses the receiver's NAPI only for frames from a device without it), so a frame either
proxy transmits is queued to a kernel thread (napi/<veth>-N, pinned to CPU 0 with the load)
that runs wrk's or the backend's TCP/IP input, instead of that input running inside the proxy's
sendto/writev. This models a real NIC, where the receiver is another machine; both proxies get
the same treatment, and the threads' CPU per request is printed as "peer NAPI". The proxies'
own receive path is unchanged (it runs in the sender's context, counted for neither).
Also printed per run: packets per request on each link, the worker thread's user/sys split and
its share of the window on a CPU; --syscalls adds system calls per request (perf stat on
tracepoints), --capture a tcpdump sample of both links.

Run as root from the repository after `ninja -C build` (SLUICE_BUILD picks another build dir):
    /usr/bin/python3 bench/gateway/nginx_side_by_side.py [--rounds 3] [--duration 10]
        [--connections 4] [--mode af_packet|af_xdp] [--csv FILE] [--svg FILE] [--json FILE]
        [--nice N] [--syscalls] [--capture PREFIX] [--peer-napi]
Only namespaces this script creates are used; they, the processes and the temp files are removed
on every exit path.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import testbed  # noqa: E402
from testbed import Dataplane, sh, wait_for  # noqa: E402
from cp_harness import ControlPlane  # noqa: E402
import gateway_plot  # noqa: E402  (bench/gateway/gateway_plot.py, same directory)

LUA = os.path.join(HERE, "percentiles.lua")
GW = "198.18.0.2"
GW_UP = "198.18.1.2"
BE = "198.18.1.1"
BE_PORT = 9020
PORT = 8080
BODY = "sluice-bench-ok\\n"  # 16 bytes + newline in nginx's string syntax
CPU_LOAD, CPU_PROXY = "0", "1"

SLUICE_CONFIG = f"""
listeners:
  - {{ name: web, address: 0.0.0.0, port: {PORT}, protocol: http }}
clusters:
  - name: be
    endpoints: [ {{ address: {BE}, port: {BE_PORT} }} ]
    pool: {{ max_idle_per_endpoint: 64 }}
routes:
  - name: all
    match: {{ listener: web }}
    action: {{ cluster: be }}
"""

COMMON = """
worker_processes 1;
daemon off;
master_process on;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
"""
TEMPS = """
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
"""
BACKEND_CONF = COMMON + """http {{
  access_log off;""" + TEMPS + """
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {{
    listen {be}:{be_port};
    location / {{ return 200 "{body}"; }}
  }}
}}
"""
PROXY_CONF = COMMON + """http {{
  access_log off;""" + TEMPS + """
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  upstream backend {{
    server {be}:{be_port};
    keepalive 32;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
  }}
  server {{
    listen {gw}:{port};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def clk_tck():
    return os.sysconf("SC_CLK_TCK")


def cpu_ticks(path):
    """(utime, stime) in clock ticks from a /proc/.../stat file; (0, 0) if it is gone."""
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), after "pid (comm)"


def proc_cpu_ticks(pid):
    """utime + stime of one process (all its threads), in clock ticks; 0 if it is gone."""
    return sum(cpu_ticks(f"/proc/{pid}/stat"))


def children(pid):
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cpuinfo_hz():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
    return float(m.group(1)) * 1e6


def parse_wrk(out):
    m = re.search(r"^SUMMARY (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    s = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    s["pct"] = [(float(p), int(us)) for p, us in re.findall(r"^PCT (\S+) (\d+)$", out, re.M)]
    pct = dict(s["pct"])
    s["p50_us"], s["p99_us"] = pct[50.0], pct[99.0]
    s["rps"] = s["requests"] / (s["duration_us"] / 1e6)
    s["errors"] = int(s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"])
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    s["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    return s


class NicedDataplane(Dataplane):
    """The testbed's dataplane started under `nice` (EAL pins its lcore threads itself)."""
    nice = 0

    def command(self):
        return ["setsid", "nice", "-n", str(self.nice)] + super().command()


def worker_thread(pid):
    """The tid of the dataplane's polling worker thread (DPDK names it lcore-worker-N)."""
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                if "worker" in f.read():
                    return int(t)
        except OSError:
            pass
    return None


def sched_ns(pid, tid):
    """(ns on a CPU, ns runnable but waiting for one) of one thread, from schedstat."""
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            run, wait, _ = f.read().split()
        return int(run), int(wait)
    except (OSError, ValueError):
        return 0, 0


class Bench:
    def __init__(self, args):
        self.args = args
        self.bed = testbed.Testbed(tag=f"gb{os.getpid() % 1000}", links=2, backend=True)
        self.procs = []
        self.cp = None
        self.tsc_hz = None
        self.dir = None
        self.napi = []  # pids of the peers' NAPI threads (--peer-napi)

    # --- processes ---------------------------------------------------------------------------

    def prefix(self, cpu):
        """taskset and nice exec the command: a Popen's pid stays the program's own."""
        return ["taskset", "-c", cpu, "nice", "-n", str(self.args.nice)]

    def popen_in(self, ns, cpu, *argv, own_group=False, **kw):
        """own_group: the process gets a session, so a scheduler autogroup, of its own (see
        own_autogroup()), at the same nice value; for the proxy under test, which otherwise
        shares one group's weight with wrk and the backend on the other CPU."""
        pre = ["setsid"] if own_group else []  # a Popen child is no group leader: no fork
        p = subprocess.Popen(["ip", "netns", "exec", ns, *pre, *self.prefix(cpu), *argv], **kw)
        self.procs.append(p)
        if own_group:
            set_autogroup_nice(p.pid, self.args.nice)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        """Stops p; nginx's workers too (a killed master leaves its workers running)."""
        kids = children(p.pid) if p.poll() is None else []
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p in self.procs:
            self.procs.remove(p)

    def nginx(self, ns, cpu, name, template, own_group=False, **fmt):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(template.format(dir=d, be=BE, be_port=BE_PORT, gw=GW, port=PORT, body=BODY,
                                    **fmt))
        # `ip netns exec` and taskset exec: the Popen pid is nginx's master.
        return self.popen_in(ns, cpu, "nginx", "-c", conf, own_group=own_group,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wrk(self, duration, latency=True):
        argv = ["ip", "netns", "exec", self.bed.peer_ns, *self.prefix(CPU_LOAD), "wrk",
                "-t1", f"-c{self.args.connections}", f"-d{duration}s", "-s", LUA]
        if latency:
            argv.append("--latency")
        argv.append(f"http://{GW}:{PORT}/")
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        if r.returncode != 0:
            raise RuntimeError(f"wrk failed ({r.returncode}): {r.stderr}{r.stdout}")
        return parse_wrk(r.stdout)

    def curl_ok(self):
        r = self.bed.peer("curl", "-s", "-m", "1", f"http://{GW}:{PORT}/", timeout=5)
        return r.returncode == 0 and r.stdout.startswith("sluice-bench-ok")

    # --- setup -------------------------------------------------------------------------------

    def up(self):
        self.bed.up()
        if self.args.peer_napi:
            self.napi = self.threaded_napi()
        self.dir = tempfile.mkdtemp(prefix="sluice-gwbench-")
        os.chmod(self.dir, 0o755)
        self.backend = self.nginx(self.bed.backend_ns, CPU_LOAD, "backend", BACKEND_CONF)
        wait_for(lambda: self.bed.backend("curl", "-s", "-m", "1",
                                          f"http://{BE}:{BE_PORT}/").returncode == 0, 10,
                 "the backend nginx to listen")
        cfg = os.path.join(self.dir, "gateway.yaml")
        with open(cfg, "w") as f:
            f.write(SLUICE_CONFIG)
        self.cp = ControlPlane(self.bed.tag, cfg).start()
        for tid in os.listdir(f"/proc/{self.cp.proc.pid}/task"):
            os.sched_setaffinity(int(tid), {int(CPU_LOAD)})
            os.setpriority(os.PRIO_PROCESS, int(tid), self.args.nice)

    def threaded_napi(self):
        """GRO (so veth receives through NAPI) and threaded NAPI on the two peer-side veths;
        returns the new napi/ kernel threads, pinned to the load CPU."""
        before = set(napi_threads())
        # veth hands a frame to the receiver's NAPI only if the sending device has no TSO
        # (veth_skb_is_eligible_for_gro()); the proxies send MTU-sized frames or less anyway.
        for i in (0, 1):
            sh("ip", "netns", "exec", self.bed.dp_ns, "ethtool", "-K", self.bed.dp_if(i),
               "tso", "off")
        for ns, iface in ((self.bed.peer_ns, self.bed.peer_if(0)),
                          (self.bed.backend_ns, self.bed.peer_if(1))):
            sh("ip", "netns", "exec", ns, "ethtool", "-K", iface, "gro", "on")
            sh("ip", "netns", "exec", ns, "sh", "-c", f"echo 1 > /sys/class/net/{iface}/threaded")
        new = [p for p in napi_threads() if p not in before]
        if not new:
            raise RuntimeError("--peer-napi: no napi/ kernel thread appeared (kernel without "
                               "threaded NAPI or veth NAPI?)")
        for p in new:
            os.sched_setaffinity(p, {int(CPU_LOAD)})
        return new

    def napi_ticks(self):
        return sum(proc_cpu_ticks(p) for p in self.napi)

    def down(self):
        try:
            for p in list(self.procs):
                self.stop(p)
            if self.cp is not None:
                self.cp.cleanup()
        finally:
            self.bed.down()
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    # --- one run of each ---------------------------------------------------------------------

    def run_sluice(self):
        dp = NicedDataplane(self.bed, self.args.mode, lcores=f"{CPU_LOAD}-{CPU_PROXY}",
                            extra=self.cp.dataplane_args())
        dp.nice = self.args.nice
        dp.start(expect_ready=False)
        set_autogroup_nice(dp.proc.pid, self.args.nice)
        dp.wait_for(r"^sluice-dataplane: ready", 60)
        try:
            self.cp.wait_applied(timeout=20)
            wait_for(self.curl_ok, 15, "the gateway to answer")
            self.wrk(2, latency=False)  # warm-up: ARP, upstream keep-alive connections
            tid = worker_thread(dp.proc.pid)
            s0 = dp.stats()
            c0 = proc_cpu_ticks(dp.proc.pid)
            n0 = self.napi_ticks()
            r0, q0 = sched_ns(dp.proc.pid, tid)
            u0, k0 = cpu_ticks(f"/proc/{dp.proc.pid}/task/{tid}/stat")
            t0 = time.monotonic_ns()
            perf = self.start_count([dp.proc.pid])
            caps = self.start_capture()
            w = self.wrk(self.args.duration)
            self.stop_capture(caps, "sluice")
            t1 = time.monotonic_ns()
            r1, q1 = sched_ns(dp.proc.pid, tid)
            u1, k1 = cpu_ticks(f"/proc/{dp.proc.pid}/task/{tid}/stat")
            c1 = proc_cpu_ticks(dp.proc.pid)
            n1 = self.napi_ticks()
            s1 = dp.stats()
            self.stop_count(perf, w)
            self.tsc_hz = s1["tsc_hz"]
            worker = [l["lcore"] for l in s1["lcores"]]
            lc0 = {l["lcore"]: l for l in s0["lcores"]}
            lc1 = {l["lcore"]: l for l in s1["lcores"]}
            busy = sum(lc1[k]["busy_cycles"] - lc0[k]["busy_cycles"] for k in worker)
            idle = sum(lc1[k]["idle_cycles"] - lc0[k]["idle_cycles"] for k in worker)
            iters = sum(lc1[k]["iterations"] - lc0[k]["iterations"] for k in worker)
            busy_iters = sum(lc1[k].get("busy_iterations", 0) - lc0[k].get("busy_iterations", 0)
                             for k in worker)
            rx = sum(lc1[k]["rx_packets"] - lc0[k]["rx_packets"] for k in worker)
            n = max(1, w["requests"])
            for port in (0, 1):  # 0: the clients' link, 1: the backend's
                a, b = s0["ports"][port]["totals"], s1["ports"][port]["totals"]
                for k in ("rx_packets", "tx_packets"):
                    w[f"port{port}_{k}_per_req"] = (b.get(k, 0) - a.get(k, 0)) / n
            w.update(busy_cycles=busy, idle_cycles=idle,
                     busy_per_req=busy / n, total_per_req=(busy + idle) / n,
                     proc_per_req=(c1 - c0) / clk_tck() * self.tsc_hz / n,
                     peer_napi_per_req=(n1 - n0) / clk_tck() * self.tsc_hz / n,
                     busy_pct=100.0 * busy / max(1, busy + idle),
                     iterations=iters, busy_iterations=busy_iters, rx_packets=rx,
                     pkts_per_busy_iter=rx / max(1, busy_iters), worker_lcores=worker,
                     # Share of the window the worker thread was on a CPU: below ~95 % other
                     # work preempted it and the TSC-based busy cycles include that time.
                     worker_oncpu_pct=100.0 * (r1 - r0) / max(1, t1 - t0),
                     worker_wait_pct=100.0 * (q1 - q0) / max(1, t1 - t0),
                     # The worker thread's user/kernel split (kernel: the af_packet/af_xdp
                     # send kicks, and whatever veth and the peers' stacks do inside them).
                     worker_user_per_req=(u1 - u0) / clk_tck() * self.tsc_hz / n,
                     worker_sys_per_req=(k1 - k0) / clk_tck() * self.tsc_hz / n)
            rc = dp.stop()
            if rc != 0:
                raise RuntimeError(f"dataplane exited {rc}\n{dp.log()}")
            return w
        finally:
            dp.kill()

    def run_nginx(self):
        ns = self.bed.dp_ns
        for i, ip in ((0, GW), (1, GW_UP)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", self.bed.dp_if(i))
        try:
            proxy = self.nginx(ns, CPU_PROXY, "proxy", PROXY_CONF, own_group=True)
            try:
                wait_for(self.curl_ok, 10, "the nginx proxy to answer")
                self.wrk(2, latency=False)
                pids = [proxy.pid] + children(proxy.pid)
                c0 = sum(proc_cpu_ticks(p) for p in pids)
                n0 = self.napi_ticks()
                u0, k0 = cpu_ticks(f"/proc/{pids[-1]}/stat")
                r0, q0 = sched_ns(pids[-1], pids[-1])
                t0 = time.monotonic_ns()
                perf = self.start_count(pids)
                caps = self.start_capture()
                w = self.wrk(self.args.duration)
                self.stop_capture(caps, "nginx")
                t1 = time.monotonic_ns()
                r1, q1 = sched_ns(pids[-1], pids[-1])
                u1, k1 = cpu_ticks(f"/proc/{pids[-1]}/stat")
                c1 = sum(proc_cpu_ticks(p) for p in pids)
                n1 = self.napi_ticks()
                hz = self.tsc_hz or cpuinfo_hz()
                n = max(1, w["requests"])
                w.update(cpu_s=(c1 - c0) / clk_tck(), proc_per_req=(c1 - c0) / clk_tck() * hz / n,
                         peer_napi_per_req=(n1 - n0) / clk_tck() * hz / n,
                         workers=len(pids) - 1,
                         worker_oncpu_pct=100.0 * (r1 - r0) / max(1, t1 - t0),
                         worker_wait_pct=100.0 * (q1 - q0) / max(1, t1 - t0),
                         worker_user_per_req=(u1 - u0) / clk_tck() * hz / n,
                         worker_sys_per_req=(k1 - k0) / clk_tck() * hz / n)
                self.stop_count(perf, w)
                return w
            finally:
                self.stop(proxy, signal.SIGQUIT)  # graceful: workers finish, master exits
        finally:
            for i in (0, 1):
                sh("ip", "-n", ns, "addr", "flush", "dev", self.bed.dp_if(i), check=False)

    # --- optional packet sample on both links (tcpdump in the peer namespaces) ---------------

    def start_capture(self):
        if not self.args.capture:
            return []
        out = []
        for ns, iface in ((self.bed.peer_ns, self.bed.peer_if(0)),
                          (self.bed.backend_ns, self.bed.peer_if(1))):
            p = subprocess.Popen(["ip", "netns", "exec", ns, "timeout", str(self.args.duration),
                                  "tcpdump", "-nn", "-tt", "-i", iface, "-c", "40", "tcp"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.procs.append(p)
            out.append(p)
        return out

    def stop_capture(self, caps, name):
        if not caps:
            return
        with open(f"{self.args.capture}.{name}", "a") as f:
            for link, p in zip(("client link", "backend link"), caps):
                text, _ = p.communicate(timeout=self.args.duration + 30)
                self.procs.remove(p)
                f.write(f"--- {name}, {link}\n{text}")

    # --- optional syscall counts (perf stat on tracepoints: no hardware counters needed) ----

    EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_sendto",
              "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_epoll_wait",
              "syscalls:sys_enter_writev", "syscalls:sys_enter_read", "syscalls:sys_enter_write",
              "context-switches"]

    def start_count(self, pids):
        if not self.args.syscalls:
            return None
        p = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(self.EVENTS),
                              "-p", ",".join(str(x) for x in pids), "--",
                              "sleep", str(self.args.duration)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def stop_count(self, p, w):
        """Adds '<event>_per_req' for each counted event to the run's figures."""
        if p is None:
            return
        _, err = p.communicate(timeout=60)
        self.procs.remove(p)
        n = max(1, w["requests"])
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[2] in self.EVENTS and f[0].isdigit():
                w[f[2].split(":")[-1].replace("sys_enter_", "").replace("sys_enter", "syscalls")
                  + "_per_req"] = int(f[0]) / n


def napi_threads():
    """pids of the kernel's threaded-NAPI threads (comm "napi/<dev>-<id>")."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().startswith("napi/"):
                        out.append(int(d))
            except OSError:
                pass
    return out


def set_autogroup_nice(pid, nice):
    """Sets the nice value of pid's autogroup once pid has become a session leader (setsid
    execs the program in place: the pid stays)."""
    path = f"/proc/{pid}/autogroup"
    if not os.path.exists("/proc/self/autogroup"):
        return
    wait_for(lambda: os.getsid(pid) == pid, 10, f"process {pid} to lead its own session")
    with open(path, "w") as f:
        f.write(str(nice))


def own_autogroup(nice):
    """Runs the benchmark in a session of its own whose scheduler autogroup has the given nice
    value. With CONFIG_SCHED_AUTOGROUP (sched_autogroup_enabled=1) a process's nice only weighs
    against its own session: on a machine shared with other sessions' builds, `nice -20` alone
    left the proxy about 40 % of its CPU. Every process started below inherits the session."""
    if not os.path.exists("/proc/self/autogroup"):
        return
    if os.getsid(0) != os.getpid():
        try:
            os.setsid()
        except PermissionError:  # a process-group leader: start again under setsid(1)
            os.execvp("setsid", ["setsid", "--wait", sys.executable] + sys.argv)
    with open("/proc/self/autogroup", "w") as f:
        f.write(str(nice))


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    ap.add_argument("--duration", type=int, default=10, choices=range(2, 61))
    ap.add_argument("--connections", type=int, default=4, choices=range(1, 257))
    ap.add_argument("--mode", choices=["af_packet", "af_xdp"], default="af_packet")
    ap.add_argument("--csv", default=os.path.join(HERE, "results", "latency.csv"),
                    help="raw latency percentiles of every run")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "runs.json"),
                    help="every run's figures")
    ap.add_argument("--svg", default=os.path.join(REPO, "docs", "img", "gateway_vs_nginx.svg"))
    ap.add_argument("--nice", type=int, default=-20, choices=range(-20, 20),
                    help="nice value of every process of the benchmark (default -20: on a "
                         "shared machine other work must not preempt the proxy under test)")
    ap.add_argument("--capture", default=None, metavar="PREFIX",
                    help="tcpdump the first 40 TCP packets of each measured run on both links "
                         "into PREFIX.sluice / PREFIX.nginx (diagnosis: who sends what)")
    ap.add_argument("--syscalls", action="store_true",
                    help="count each proxy's system calls and context switches during its "
                         "runs (perf stat on tracepoints; adds a little overhead: a diagnosis "
                         "run, not the one to quote)")
    ap.add_argument("--peer-napi", action="store_true",
                    help="threaded NAPI on the client's and the backend's veth: their TCP/IP "
                         "input runs in kernel threads on CPU 0, not inside the proxy's "
                         "transmit calls (see the module docstring)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces)")
    for tool in ("wrk", "nginx", "taskset", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} missing (scripts/setup installs it)")
    if not os.access(testbed.dataplane_binary(), os.X_OK):
        sys.exit(f"{testbed.dataplane_binary()} missing: ninja -C {testbed.build_dir()}")

    own_autogroup(args.nice)
    b = Bench(args)
    res = {"sluice": [], "nginx": []}
    try:
        b.up()
        for rnd in range(args.rounds):
            for name, fn in (("sluice", b.run_sluice), ("nginx", b.run_nginx)):
                w = fn()
                w["round"] = rnd + 1
                res[name].append(w)
                extra = (f"busy {w['busy_per_req']:,.0f} / total {w['total_per_req']:,.0f} cyc/req, "
                         f"packets/req client rx {w['port0_rx_packets_per_req']:.2f} tx "
                         f"{w['port0_tx_packets_per_req']:.2f}, backend rx "
                         f"{w['port1_rx_packets_per_req']:.2f} tx "
                         f"{w['port1_tx_packets_per_req']:.2f}, "
                         f"{w['pkts_per_busy_iter']:.1f} pkts/busy iter, worker on CPU "
                         f"{w['worker_oncpu_pct']:.0f} %, "
                         if name == "sluice" else "")
                if name == "nginx":
                    extra = (f"worker on CPU {w['worker_oncpu_pct']:.0f} %, waiting "
                             f"{w['worker_wait_pct']:.0f} %, ")
                if "syscalls_per_req" in w:
                    extra += ", ".join(f"{k[:-8]} {v:.2f}" for k, v in w.items()
                                       if k.endswith("_per_req") and k[:-8] in
                                       ("syscalls", "sendto", "recvfrom", "epoll_wait", "writev",
                                        "read", "write", "context-switches")) + " per req, "
                extra += (f"worker user {w['worker_user_per_req']:,.0f} / sys "
                          f"{w['worker_sys_per_req']:,.0f} cyc/req, ")
                if args.peer_napi:
                    extra += f"peer NAPI {w['peer_napi_per_req']:,.0f} cyc/req, "
                print(f"round {rnd + 1} {name:6s}: {w['rps']:>9,.0f} req/s  p50 {w['p50_us']:>6} us"
                      f"  p99 {w['p99_us']:>6} us  {extra}process "
                      f"{w['proc_per_req']:,.0f} cyc/req  errors {w['errors']} non-2xx "
                      f"{w['non2xx']}", flush=True)
    finally:
        b.down()

    hz = b.tsc_hz or cpuinfo_hz()
    s, n = res["sluice"], res["nginx"]
    print(f"\nmedians over {args.rounds} rounds: wrk -t1 -c{args.connections} -d{args.duration}s, "
          f"dataplane {args.mode}, TSC {hz / 1e6:.0f} MHz, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"| proxy | requests/s | p50 µs | p99 µs | cycles/request |")
    print(f"|---|---|---|---|---|")
    print(f"| Sluice | {med(s, 'rps'):,.0f} | {med(s, 'p50_us'):.0f} | {med(s, 'p99_us'):.0f} | "
          f"busy {med(s, 'busy_per_req'):,.0f}; total incl. idle polling "
          f"{med(s, 'total_per_req'):,.0f}; process utime+stime {med(s, 'proc_per_req'):,.0f} |")
    print(f"| nginx | {med(n, 'rps'):,.0f} | {med(n, 'p50_us'):.0f} | {med(n, 'p99_us'):.0f} | "
          f"utime+stime (master+worker) {med(n, 'proc_per_req'):,.0f} |")
    if args.peer_napi:
        print(f"peer NAPI threads (wrk's and the backend's TCP/IP input, not either proxy's): "
              f"Sluice runs {med(s, 'peer_napi_per_req'):,.0f}, nginx runs "
              f"{med(n, 'peer_napi_per_req'):,.0f} cycles/request")
    ratio_rps = med(s, "rps") / med(n, "rps")
    ratio_busy = med(n, "proc_per_req") / med(s, "busy_per_req")
    ratio_total = med(n, "proc_per_req") / med(s, "total_per_req")
    print(f"\nSluice rps / nginx rps: {ratio_rps:.2f}")
    print(f"nginx cycles/req / Sluice busy cycles/req: {ratio_busy:.2f}")
    print(f"nginx cycles/req / Sluice total cycles/req (incl. idle polling): {ratio_total:.2f}")

    for path in (args.csv, args.json, args.svg):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(args.csv, "w") as f:
        f.write("proxy,round,percentile,latency_us\n")
        for name, rows in res.items():
            for r in rows:
                for p, us in r["pct"]:
                    f.write(f"{name},{r['round']},{p:g},{us}\n")
    meta = {"connections": args.connections, "duration_s": args.duration, "mode": args.mode,
            "peer_napi": args.peer_napi,
            "rounds": args.rounds, "tsc_hz": hz, "loadavg": os.getloadavg(),
            "medians": {k: {m: med(v, m) for m in ("rps", "p50_us", "p99_us", "proc_per_req")}
                        for k, v in res.items()},
            "ratios": {"rps": ratio_rps, "cycles_busy": ratio_busy, "cycles_total": ratio_total}}
    meta["medians"]["sluice"].update(busy_per_req=med(s, "busy_per_req"),
                                     total_per_req=med(s, "total_per_req"))
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "runs": res}, f, indent=1)
    gateway_plot.write_svg(args.svg, res, meta)
    print(f"wrote {args.csv}, {args.json}, {args.svg}")


if __name__ == "__main__":
    main()
