#!/usr/bin/env python3
"""TCP under loss, side by side: the time to move 100 MB through tests/tools/impair_bridge with
random loss, between Linux (curl in the peer namespace) and either the dataplane (tcp-http-source
and tcp-http-sink on net_af_packet) or Linux itself (a small Python HTTP server on the same veth,
in the dataplane's namespace, at the dataplane's address). Same namespaces, same bridge, same
loss seed per run; only the server side changes. Prints each run and the ratio
Sluice time / Linux time (above 1: Sluice is slower).

  download: curl GETs 100 MB (the server sends; the sender under test is the server)
  upload:   curl PUTs 100 MB (Linux sends; the receiver under test is the server)

The Linux server's congestion control is --linux-cc (TCP_CONGESTION on its sockets; default
cubic, the stack's own algorithm): this machine's default is bbr, which barely reacts to random
loss, so a bbr baseline compares algorithms rather than implementations. A namespace cannot
take cubic as its default here (not in tcp_allowed_congestion_control), so curl, the sender of
the uploads, keeps the machine's default in both the Sluice and the Linux runs.

Both ends share the 2-vCPU machine with the bridge and the dataplane's polling worker, so
compare ratios across machines, not absolute times. A run that takes longer than --timeout
seconds is reported as a failure.

For the Sluice runs it also prints the dataplane's loss-recovery counters during the download
(Sluice sending): tcp_rto, tcp_fast_retransmit, tcp_tlp_probe and tcp_tlp_recovery (a binary
without tail loss probe reports 0 for the last two). SLUICE_BUILD=DIR runs another build's
dataplane (e.g. one with tcp_params::tlp = false), for before/after comparisons.

Run as root from the repository (after ninja -C build):
    /usr/bin/python3 bench/tcp/loss_bench.py [--loss 1 5] [--rounds 1] [--mb 100]
        [--delay-ms 0] [--linux-cc cubic] [--json FILE]
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "tools"))
import testbed  # noqa: E402
from impair_bridge import ImpairedPath  # noqa: E402
from testbed import Dataplane, sh  # noqa: E402

SOURCE_PORT, SINK_PORT = 8080, 8081

# The Linux server for the baseline: the same two HTTP answers as tcp-http-source/-sink.
LINUX_SERVER = r"""
import hashlib, socket, sys, threading
host, size, cc = sys.argv[1], int(sys.argv[2]), sys.argv[5].encode()
body = memoryview((bytes(range(251)) * (size // 251 + 1))[:size])
def head(c):
    h = b""
    while b"\r\n\r\n" not in h:
        b = c.recv(65536)
        if not b:
            return None, b""
        h += b
    i = h.index(b"\r\n\r\n") + 4
    return h[:i].decode("latin-1"), h[i:]
def source(c):
    if head(c)[0] is not None:
        c.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode())
        c.sendall(body)
def sink(c):
    h, rest = head(c)
    n = int([l.split(":", 1)[1] for l in h.split("\r\n") if l.lower().startswith("content-length:")][0])
    sha = hashlib.sha256(rest); got = len(rest)
    while got < n:
        b = c.recv(1 << 20)
        if not b:
            break
        sha.update(b); got += len(b)
    msg = f"{got} {sha.hexdigest()}\n".encode()
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(msg) + msg)
def serve(port, fn):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(8)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc)
        try:
            fn(c)
        finally:
            c.close()
threading.Thread(target=serve, args=(int(sys.argv[3]), source), daemon=True).start()
threading.Thread(target=serve, args=(int(sys.argv[4]), sink), daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
"""


def transfer(bed, direction, size, upload_file, timeout):
    """One curl transfer; returns seconds (curl's time_total) after checking the SHA-256."""
    if direction == "download":
        want = hashlib.sha256((bytes(range(251)) * (size // 251 + 1))[:size]).hexdigest()
        cmd = (f"curl -sS --fail --max-time {timeout} -w '%{{stderr}}%{{time_total}}\\n' "
               f"http://{bed.dp_ip()}:{SOURCE_PORT}/bulk | sha256sum")
        r = bed.peer("bash", "-o", "pipefail", "-c", cmd, timeout=timeout + 10)
        ok = r.returncode == 0 and r.stdout.split()[0] == want
    else:
        want = hashlib.sha256((bytes(range(256)) * (size // 256 + 1))[:size]).hexdigest()
        r = bed.peer("curl", "-sS", "--fail", "--max-time", str(timeout), "-H", "Expect:",
                     "-w", "%{stderr}%{time_total}\n", "-T", upload_file,
                     f"http://{bed.dp_ip()}:{SINK_PORT}/upload", timeout=timeout + 10)
        ok = r.returncode == 0 and r.stdout.strip() == f"{size} {want}"
    if not ok:
        raise RuntimeError(f"{direction} failed ({r.returncode}): {r.stdout[-200:]} "
                           f"{r.stderr[-500:]}")
    return float(r.stderr.strip().splitlines()[-1])


# Loss-recovery counters reported for the download (docs/tcp.md, "Counters").
EVENTS = ("tcp_rto", "tcp_fast_retransmit", "tcp_tlp_probe", "tcp_tlp_recovery")


def events(d):
    s = d.stats()
    return {n: sum(p["totals"].get("events", {}).get(n, 0) for p in s["ports"]) for n in EVENTS}


def run_sluice(bed, args, size, upload_file):
    d = Dataplane(bed, "af_packet", extra=["--app", f"tcp-http-source:{SOURCE_PORT}:{size}",
                                           "--app", f"tcp-http-sink:{SINK_PORT}"]).start()
    try:
        before = events(d)
        out = {"download": transfer(bed, "download", size, upload_file, args.timeout)}
        after = events(d)
        out["events"] = {n: after[n] - before[n] for n in EVENTS}
        out["upload"] = transfer(bed, "upload", size, upload_file, args.timeout)
        if d.stop() != 0:
            raise RuntimeError(d.log())
        return out
    finally:
        d.kill()


def run_linux(bed, args, size, upload_file):
    dev = bed.dp_if()
    sh("ip", "-n", bed.dp_ns, "addr", "add", f"{bed.dp_ip()}/24", "dev", dev)
    # Like the peer side of the bridge: MTU-sized frames only (no GSO bursts).
    sh("ip", "netns", "exec", bed.dp_ns, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso",
       "off", check=False)
    srv = subprocess.Popen(["ip", "netns", "exec", bed.dp_ns, "/usr/bin/python3", "-c",
                            LINUX_SERVER, bed.dp_ip(), str(size), str(SOURCE_PORT),
                            str(SINK_PORT), args.linux_cc],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if srv.stdout.readline().strip() != "listening":
            raise RuntimeError("Linux server did not start")
        return {dr: transfer(bed, dr, size, upload_file, args.timeout)
                for dr in ("download", "upload")}
    finally:
        srv.kill()
        srv.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loss", type=float, nargs="+", default=[1.0, 5.0])
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay in the bridge")
    ap.add_argument("--rounds", type=int, default=1, choices=range(1, 11))
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--linux-cc", default="cubic",
                    help="the Linux server's congestion control (TCP_CONGESTION)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces)")
    size = args.mb * 1024 * 1024
    results = []
    with tempfile.TemporaryDirectory(prefix="sluice-loss-bench-") as tmp:
        upload_file = os.path.join(tmp, "upload.bin")
        with open(upload_file, "wb") as f:
            f.write((bytes(range(256)) * (size // 256 + 1))[:size])
        for loss in args.loss:
            for rnd in range(args.rounds):
                seed = 1000 * rnd + int(loss * 10)
                for server, fn in (("sluice", run_sluice), ("linux", run_linux)):
                    with testbed.Testbed(tag=f"lb{os.getpid() % 1000}") as bed:
                        with ImpairedPath(bed, loss=loss, delay_ms=args.delay_ms, seed=seed):
                            t = fn(bed, args, size, upload_file)
                    ev = t.pop("events", None)
                    if ev is not None:
                        results.append({"loss": loss, "round": rnd, "server": server,
                                        "direction": "download", "events": ev})
                        print(f"loss {loss:g} % round {rnd + 1} {server:6s} download events: "
                              + " ".join(f"{k}={v}" for k, v in ev.items()), flush=True)
                    for dr, secs in t.items():
                        results.append({"loss": loss, "round": rnd, "server": server,
                                        "direction": dr, "seconds": secs})
                        print(f"loss {loss:g} % round {rnd + 1} {server:6s} {dr:8s}: "
                              f"{secs:7.2f} s ({size / secs / 1e6:6.2f} MB/s)", flush=True)
    print(f"\nLinux server congestion control: {args.linux_cc}; one-way delay "
          f"{args.delay_ms:g} ms")
    print("loss  direction  sluice_s  linux_s  ratio (sluice/linux)")
    for loss in args.loss:
        for dr in ("download", "upload"):
            med = {s: statistics.median(r["seconds"] for r in results if r["loss"] == loss
                                        and r["direction"] == dr and r["server"] == s
                                        and "seconds" in r)
                   for s in ("sluice", "linux")}
            print(f"{loss:4g} %  {dr:9s}  {med['sluice']:8.2f}  {med['linux']:7.2f}  "
                  f"{med['sluice'] / med['linux']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mb": args.mb, "delay_ms": args.delay_ms, "linux_cc": args.linux_cc,
                       "runs": results}, f, indent=1)


if __name__ == "__main__":
    main()
