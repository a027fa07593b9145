#!/usr/bin/env python3
"""Instructions per proxied keep-alive request, per function, for the Sluice gateway: the same
testbed, backend and config as nginx_side_by_side.py, with sluice-dataplane running under
`valgrind --tool=callgrind` (EAL with --no-huge: valgrind cannot map DPDK's hugepage VA
reservation), wrk at -c2 for a few seconds, then the dataplane stopped so callgrind writes its
profile. Every request constructs one response parser, so the number of calls of its
constructor is the number of requests the counts are divided by (checked against wrk's count).

Why instructions and not cycles: this VM has no hardware counters and sampling profiles land on
the instruction after a VM exit (see docs/performance.md); instruction counts are exact and
machine-independent. Idle polling iterations are in the totals too, so only functions that run
for packets (stack::input and below, the proxy's callbacks) are meaningful per request.

Run as root after `ninja -C build` (needs valgrind):
    /usr/bin/python3 bench/gateway/callgrind_per_request.py [--duration 10] [--out FILE]
Single-threaded driver; the dataplane runs its usual threads under valgrind's serialisation.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
import nginx_side_by_side as nb  # noqa: E402  (same directory)
from testbed import wait_for  # noqa: E402

REQUESTS_FN = "sluice::dp::proxy::http::response_parser::response_parser("
SHOW = [
    "sluice::dp::net::stack::input(",
    "sluice::dp::net::tcp::tcp_stack::input(",
    "sluice::dp::proxy::gateway::on_data(",
    "sluice::dp::proxy::http_on_data(",
    "sluice::dp::proxy::(anonymous namespace)::process(",
    "sluice::dp::proxy::http::request_parser::feed_head(",
    "sluice::dp::proxy::match_route(",
    "sluice::dp::proxy::(anonymous namespace)::proceed_upstream(",
    "sluice::dp::proxy::(anonymous namespace)::send_request_head(",
    "sluice::dp::proxy::http::response_parser::response_parser(",
    "sluice::dp::proxy::write_upstream_head(",
    "sluice::dp::proxy::http_upstream_data(",
    "sluice::dp::proxy::(anonymous namespace)::relay_response(",
    "sluice::dp::proxy::http::response_parser::feed_head(",
    "sluice::dp::proxy::http::detail::field_section::feed(",
    "sluice::dp::proxy::write_client_head(",
    "sluice::dp::net::tcp::tcp_stack::send(",
    "sluice::dp::net::tcp::tcp_stack::send_mbuf(",
    "sluice::dp::proxy::(anonymous namespace)::finish_exchange(",
]


class CallgrindDataplane(nb.NicedDataplane):
    out = None

    def command(self):
        c = super().command()
        i = c.index("nice") + 3  # after `nice -n N`
        return c[:i] + ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}",
                        "--dump-instr=no"] + c[i:]


def inclusive(profile):
    """{function: (inclusive Ir, calls)} from callgrind_annotate --inclusive=yes --tree=caller."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=caller",
                        "--threshold=100", profile], capture_output=True, text=True, timeout=600,
                       check=True)
    lines = r.stdout.split("\n")
    out = {}
    for i, line in enumerate(lines):
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\*\s+(.*)$", line)
        if not m:
            continue
        name = m.group(2)
        calls = 0
        j = i - 1
        while j >= 0 and "<" in lines[j]:  # the callers, each with its call count
            c = re.search(r"\((\d[\d,]*)x\)", lines[j])
            calls += int(c.group(1).replace(",", "")) if c else 0
            j -= 1
        out[name] = (int(m.group(1).replace(",", "")), calls)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, choices=range(2, 61))
    ap.add_argument("--out", default=None, help="keep the callgrind profile here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces)")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind missing")
    bargs = argparse.Namespace(rounds=1, duration=args.duration, connections=2,
                               mode="af_packet", nice=-20, syscalls=False, capture=None)
    nb.own_autogroup(-20)
    b = nb.Bench(bargs)
    try:
        b.up()
        profile = os.path.join(b.dir, "callgrind.out")
        dp = CallgrindDataplane(b.bed, "af_packet", lcores="0-1", extra=b.cp.dataplane_args(),
                                extra_eal=["--no-huge", "-m", "512", "--no-shconf",
                                           "--file-prefix=gwcg"])
        dp.out = profile
        dp.nice = -20
        dp.start(expect_ready=False)
        dp.wait_for(r"^sluice-dataplane: ready", 300)
        b.cp.wait_applied(timeout=60)
        wait_for(b.curl_ok, 60, "the gateway under valgrind to answer")
        w = b.wrk(args.duration, latency=False)
        rc = dp.stop(timeout=300)
        if rc != 0:
            raise RuntimeError(f"dataplane exited {rc}\n{dp.log()}")
        if args.out:
            shutil.copyfile(profile, args.out)
        fns = inclusive(profile)
    finally:
        b.down()
    reqs = next(v[1] for k, v in fns.items() if REQUESTS_FN in k)
    print(f"wrk: {w['requests']:.0f} requests in the measured run ({w['rps']:.0f}/s under "
          f"valgrind); response parsers constructed (= requests incl. warm-up and probes): "
          f"{reqs}")
    print("| function | instructions / request (inclusive) | calls / request |")
    print("|---|---|---|")
    for want in SHOW:
        for k, (ir, calls) in fns.items():
            if want in k:
                short = want.rstrip("(").replace("sluice::dp::", "")
                print(f"| `{short}` | {ir / reqs:,.0f} | "
                      f"{calls / reqs:.2f} |")
                break


if __name__ == "__main__":
    main()
