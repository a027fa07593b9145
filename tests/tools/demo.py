"""The demo behind scripts/demo: Sluice's main job on the virtual testbed.

A Linux client (curl, wrk) in one namespace goes through the Sluice gateway (sluice-dataplane
with its own TCP stack, configured by sluice-ctrlplane) to real backends (Python http.server)
in another. Routes and limits are changed live with sluicectl, and the demo prints what
happened: which backend answered, trace ids, 429s, the load run's error count, and what every
lcore applied.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

from cp_harness import REPO, ControlPlane
from testbed import Dataplane, Testbed, port_totals, wait_for

GW = "198.18.0.2"
BE = "198.18.1.1"
TOOLS = os.path.join(REPO, "tests", "tools")

CONFIG = f"""
listeners:
  - name: web
    address: 0.0.0.0
    port: 8080
    filters: [ {{ name: trace }}, {{ name: accesslog }} ]
clusters:
  - name: blue
    endpoints: [ {{ address: {BE}, port: 9001 }} ]
  - name: green
    endpoints: [ {{ address: {BE}, port: 9002 }} ]
routes:
  - name: all
    action: {{ cluster: blue }}
"""


def say(text):
    print(f"\n== {text}", flush=True)


def run(cp, *args):
    """sluicectl with table output, echoed like a shell session."""
    print("$ sluicectl " + " ".join(args))
    r = cp.ctl_raw(*args, json_out=False)
    out = (r.stdout + r.stderr).strip()
    if out:
        print(out)
    if r.returncode != 0:
        raise RuntimeError(f"sluicectl {' '.join(args)} failed ({r.returncode})")
    cp.wait_applied()


def get(bed, path, *extra):
    r = bed.peer("curl", "-s", "-m", "5", "-o", "/dev/stdout", "-w", "\n%{http_code}",
                 *extra, f"http://{GW}:8080{path}")
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def tally(bed, path, n):
    code = ("import http.client, json, collections\n"
            f"c = http.client.HTTPConnection('{GW}', 8080, timeout=5)\n"
            "n = collections.Counter()\n"
            f"for i in range({n}):\n"
            f"    c.request('GET', '{path}'); r = c.getresponse(); b = r.read()\n"
            "    n[json.loads(b)['backend'] if r.status == 200 else str(r.status)] += 1\n"
            "print(json.dumps(n))\n")
    r = bed.peer("python3", "-c", code, timeout=60)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["af_packet", "af_xdp"], default="af_packet",
                    help="how the dataplane attaches to its veths (default af_packet)")
    args = ap.parse_args()
    checks = collections.OrderedDict()
    procs = []
    cp = None
    with Testbed(tag="demo", links=2, backend=True) as bed:
        try:
            say(f"testbed: client namespace {bed.peer_ns} ({bed.peer_ip(0)}) -> dataplane "
                f"namespace {bed.dp_ns} ({bed.dp_ip(0)} and {bed.dp_ip(1)}) -> backend "
                f"namespace {bed.backend_ns} ({BE})")
            for name, port in (("blue", 9001), ("green", 9002)):
                p = bed.backend_popen("python3", os.path.join(TOOLS, "http_backend.py"), "--addr",
                                      BE, "--port", str(port), "--name", name,
                                      stdout=subprocess.PIPE, text=True)
                p.stdout.readline()
                procs.append(p)
                print(f"backend {name}: python http.server on {BE}:{port}")
            cfg = os.path.join(bed.workdir(), "sluice.yaml")
            with open(cfg, "w") as f:
                f.write(CONFIG)
            cp = ControlPlane("demo", cfg).start()
            print(f"sluice-ctrlplane: instance {cp.instance}, config:\n{CONFIG.strip()}")
            log = os.path.join(bed.workdir(), "access.log")
            dp = Dataplane(bed, args.mode, lcores="0-1",
                           extra=cp.dataplane_args() + ["--access-log", log])
            print("$ " + " ".join(dp.command()))
            dp.start()
            gen = cp.wait_applied()
            say(f"dataplane up on {args.mode}; every lcore applied generation {gen}")

            say("client: curl http://198.18.0.2:8080/hello (through Sluice to backend blue)")
            code, body = get(bed, "/hello", "-H",
                             "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            doc = json.loads(body) if code == 200 else {}
            print(f"HTTP {code}: backend={doc.get('backend')} "
                  f"traceparent at backend={doc.get('headers', {}).get('traceparent')} "
                  f"x-request-id={doc.get('headers', {}).get('x-request-id')}")
            checks["routed to blue, trace id kept"] = (
                code == 200 and doc.get("backend") == "blue" and
                "4bf92f3577b34da6a3ce929d0e0e4736" in doc["headers"].get("traceparent", ""))

            say("live change: a route for /green, placed before the catch-all")
            run(cp, "route", "add", "green", "--path-prefix", "/green", "--cluster", "green",
                "--before", "all")
            code, body = get(bed, "/green/x")
            print(f"curl /green/x -> HTTP {code}, backend={json.loads(body)['backend']}")
            checks["new route applies at once"] = code == 200 and \
                json.loads(body)["backend"] == "green"

            say("live change: canary split 80/20 between blue and green on /shop")
            run(cp, "route", "add", "shop", "--before", "all", "--yaml",
                "{match: {path: {prefix: /shop}}, action: {weighted_clusters: "
                "[{cluster: blue, weight: 80}, {cluster: green, weight: 20}]}}")
            t = tally(bed, "/shop", 500)
            print(f"500 requests to /shop: {t}")
            checks["weighted split ~80/20"] = 350 <= t.get("blue", 0) <= 450

            say("live change: a rate limit of 5 requests/s (burst 5) per client on /api")
            run(cp, "limit", "add", "per_client", "--rate", "5", "--burst", "5",
                "--key", "client_ip")
            run(cp, "route", "add", "api", "--before", "all", "--yaml",
                "{match: {path: {prefix: /api}}, action: {cluster: green, filters: "
                "[{name: rate_limit, settings: {limit: per_client}}]}}")
            t = tally(bed, "/api/items", 20)
            print(f"20 back-to-back requests to /api/items: {t}")
            r = bed.peer("curl", "-s", "-D", "-", "-o", "/dev/null", f"http://{GW}:8080/api/x")
            print("a limited answer's headers:\n" + "\n".join(
                l for l in r.stdout.splitlines()
                if re.match(r"(?i)(HTTP/|retry-after|x-ratelimit)", l)))
            checks["rate limit answers 429"] = t.get("429", 0) >= 10 and t.get("green", 0) >= 5

            say("load: wrk for 4 s while routes are added and removed")
            w = bed.peer_popen("wrk", "-t1", "-c8", "-d4s", f"http://{GW}:8080/", text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(3):
                run(cp, "route", "add", f"tmp{i}", "--path-prefix", f"/tmp{i}", "--cluster",
                    "green", "--before", "all")
                run(cp, "route", "del", f"tmp{i}")
            out, _ = w.communicate(timeout=30)
            print(out.strip())
            m = re.search(r"(\d+) requests in", out)
            checks["no failed request during live changes"] = bool(m) and \
                "Non-2xx" not in out and "Socket errors" not in out

            say("sluicectl status and stats (per-lcore generation, counters from shared memory)")
            run(cp, "status")
            run(cp, "stats")
            say("access log (JSON lines, written off the worker lcores)")
            wait_for(lambda: os.path.getsize(log) > 0, 5, "access log lines")
            with open(log) as f:
                lines = f.read().splitlines()
            for l in lines[:2]:
                print(l)
            print(f"... {len(lines)} lines")

            say("stopping the dataplane (SIGTERM)")
            stats = dp.stats()
            t0 = port_totals(stats, 0)
            rc = dp.stop()
            for line in dp.log().splitlines():
                if "mempool" in line and "returned" in line:
                    print(line)
            checks["clean stop, every mbuf returned"] = rc == 0
            t1 = port_totals(stats, 1)
            for name, t in (("client", t0), ("backend", t1)):
                why = {k: v for k, v in t["drops"].items() if v}
                print(f"{name} port: {t['rx_packets']} packets in, {t['dropped']} dropped {why}")
        finally:
            for p in procs:
                p.kill()
            if cp is not None:
                cp.cleanup()

    say("summary")
    for what, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    ok = all(checks.values()) and len(checks) == 6
    print("testbed removed; demo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
