#!/usr/bin/env python3
"""Instructions per proxied keep-alive request on the gateway lcore of the in-process proxy
benchmark (inproc_bench.cc): the benchmark under `valgrind --tool=callgrind --separate-threads`,
then the gateway lcore thread's profile divided by the responses the load generator counted over
the whole run. Inclusive counts for the main stages, then the functions with the most
instructions of their own. No kernel is in this path (ring ports), so unlike
callgrind_per_request.py nothing here is a system call.

Valgrind 3.19 cannot decode the SSE4.2 `pcmpestri` that proxy/http's field-value scanner uses,
so this needs a build whose compiler does not define __SSE4_2__ (the scanner then takes its
table path, which costs more instructions per header byte than the SSE4.2 one):
    meson setup build-cg --buildtype=release -Dcpp_args=-U__SSE4_2__
    ninja -C build-cg bench/gateway/gateway_inproc_bench
    python3 bench/gateway/inproc_callgrind.py --build build-cg [--seconds 4] [--out FILE]
Idle polling iterations are in the thread total, so only the stages below worker::poll_once
that run for packets are meaningful per request.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

STAGES = [
    "sluice::dp::core::worker::poll_once(",
    "sluice::dp::net::stack::input(",
    "sluice::dp::net::tcp::tcp_stack::input(",
    "sluice::dp::proxy::gateway::on_data(",
    "sluice::dp::proxy::http_on_data(",
    "sluice::dp::proxy::http_upstream_data(",
    "sluice::dp::proxy::http::response_parser::response_parser(",
    "sluice::dp::proxy::http::detail::field_section::feed(",
    "sluice::dp::proxy::http::request_parser::feed_line(",
    "sluice::dp::proxy::http::response_parser::feed_line(",
    "sluice::dp::proxy::http::classify_header(",
    "sluice::dp::net::tcp::tcp_stack::send(",
    "sluice::dp::net::tcp::tcp_stack::send_mbuf(",
    "sluice::dp::net::stack::flush(",
    "sluice::dp::net::tcp::tcp_stack::tick(",
    "sluice::dp::proxy::gateway::tick(",
    "sluice::dp::proxy::gateway::poll(",
]
LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def annotate(path, inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                          "--threshold=100", path], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m and "PROGRAM TOTALS" not in line:
            rows.append((int(m.group(1).replace(",", "")), m.group(2)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-cg")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--conns", type=int, default=64,
                    help="keep-alive connections; with few, an exchange stays well under the "
                    "40 ms delayed-ACK timeout even under valgrind, so the frames per request "
                    "are the native 2 in, 2 out (try 4)")
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--keep", help="copy the gateway thread's callgrind profile here "
                    "(for callgrind_annotate --tree=caller and the like)")
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "gateway", "gateway_inproc_bench")
    with tempfile.TemporaryDirectory(prefix="sluice-cg-") as d:
        prof = os.path.join(d, "cg.out")
        run = subprocess.run(["valgrind", "--tool=callgrind", "--fair-sched=yes",
                              "--separate-threads=yes", f"--callgrind-out-file={prof}",
                              "--dump-instr=no", exe, "--seconds", str(a.seconds),
                              "--warmup", str(a.warmup), "--repeat", "1",
                              "--conns", str(a.conns)],
                             capture_output=True, text=True, timeout=900)
        m = re.search(r"whole run: (\d+) responses", run.stdout)
        if run.returncode != 0 or not m or int(m.group(1)) == 0:
            sys.exit(f"benchmark under callgrind failed (rc {run.returncode}):\n{run.stdout}\n"
                     f"{run.stderr[-3000:]}")
        responses = int(m.group(1))
        fm = re.search(r"(\d+) frames in, (\d+) out", run.stdout)
        frames_in, frames_out = (int(fm.group(1)), int(fm.group(2))) if fm else (0, 0)
        gw = None
        for f in sorted(glob.glob(prof + "*")):
            with open(f, errors="replace") as fh:
                if "gateway_lcore" in fh.read():
                    gw = f
                    break
        if gw is None:
            sys.exit("no thread profile with gateway_lcore in it")
        if a.keep:
            shutil.copyfile(gw, a.keep)
        incl = annotate(gw, True)
        excl = annotate(gw, False)
    lines = [f"gateway lcore, instructions per proxied keep-alive request "
             f"({responses} responses over the run, {a.conns} connections, {a.build})",
             # Delayed ACKs fire under valgrind's slowdown, so frames per request vary from run
             # to run; compare the receive path per frame, the proxy per request.
             f"frames per request on the gateway port: {frames_in / responses:.2f} in, "
             f"{frames_out / responses:.2f} out", "", "inclusive:"]
    for want in STAGES:
        n = sum(c for c, f in incl if want in f and "'" not in f.split("(")[0])
        lines.append(f"  {n / responses:10.0f}  {want.rstrip('(')}")
    def incl_of(want):
        return sum(c for c, f in incl if want in f and "'" not in f.split("(")[0])
    if frames_in:
        rx = incl_of("sluice::dp::net::stack::input(") - incl_of("sluice::dp::proxy::gateway::on_data(")
        lines.append(f"  {rx / frames_in:10.0f}  stack::input minus gateway::on_data, per frame in")
    lines += ["", "own instructions (top 30):"]
    for c, f in excl[:30]:
        lines.append(f"  {c / responses:10.0f}  {f[:150]}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
