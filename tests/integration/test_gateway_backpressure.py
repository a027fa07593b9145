"""TCP receive-window backpressure through the gateway's L4 passthrough (issue 3, docs/tcp.md
"Receive flow control"): a backend in its own namespace writes a large stream as fast as it
can; a Linux client reads it through the dataplane (net_af_packet) at a paced, slow rate. With
backpressure the dataplane stops reading from the backend while the client's send queue is
full (its advertised window to the backend closes), so the mbufs it holds stay bounded by
about one send queue plus one receive window, not the size of the stream; the bytes arrive
intact. Namespaces, processes and temp dirs are removed even when the test fails."""
import hashlib
import os
import subprocess
import time

import pytest

from cp_harness import running
from testbed import Dataplane, Testbed

GW = "198.18.0.2"   # the dataplane's client-side address
BE = "198.18.1.1"   # the backend's address (backend namespace)
TOTAL = 48 * 1024 * 1024
RATE = 12 * 1024 * 1024  # client read pace, bytes/s: ~4 s for the stream
# One send queue (snd_buffer 256 KiB) towards the client plus one held receive window
# (rcv_buffer 256 KiB + 1/8) from the backend, in ~1448-byte mbufs, plus what is in flight on
# the rings: ~1000 mbufs. Without backpressure the gateway would queue most of the 48 MB
# (~34,000 mbufs, more than the pool has).
MAX_EXTRA_MBUFS = 3000

CONFIG = f"""
listeners:
  - {{ name: l4, address: 0.0.0.0, port: 9000, protocol: tcp }}
clusters:
  - name: source
    endpoints: [ {{ address: {BE}, port: 9012 }} ]
routes:
  - name: l4
    match: {{ listener: l4 }}
    action: {{ cluster: source }}
"""

# Answers each connection with TOTAL bytes of a fixed pattern, written as fast as TCP takes it.
BACKEND = """
import socket, sys, threading
addr, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = bytes(range(256)) * 256
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(8)
print('ready', flush=True)
def serve(c):
    try:
        left = total
        while left > 0:
            n = min(left, len(block)); c.sendall(block[:n]); left -= n
        c.shutdown(socket.SHUT_WR)
        c.recv(1)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# Reads the stream at RATE bytes/s (pacing, bounded in time), prints "<bytes> <sha256>".
CLIENT = """
import hashlib, socket, sys, time
host, total, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(30)
s.connect((host, 9000))
print('connected', flush=True)
h = hashlib.sha256(); n = 0; t0 = time.monotonic(); deadline = t0 + 120
while n < total and time.monotonic() < deadline:
    d = s.recv(16384)
    if not d:
        break
    h.update(d); n += len(d)
    ahead = n / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
print(n, h.hexdigest(), flush=True)
"""


def expected_sha():
    block = bytes(range(256)) * 256
    h = hashlib.sha256()
    left = TOTAL
    while left > 0:
        n = min(left, len(block))
        h.update(block[:n])
        left -= n
    return h.hexdigest()


def mbufs_in_use(stats):
    return sum(p["size"] - p["available"] for p in stats["mempools"])


def event_total(stats, name):
    return sum(p["totals"].get("events", {}).get(name, 0) for p in stats["ports"])


@pytest.fixture
def gw():
    tag = f"{os.getpid() % 1000}7"
    bed = Testbed(tag=tag, links=2, backend=True)
    procs = []
    dp = None
    try:
        bed.up()
        with running(bed, CONFIG) as cp:
            be = bed.backend_popen("python3", "-c", BACKEND, BE, "9012", str(TOTAL),
                                   stdout=subprocess.PIPE, text=True)
            procs.append(be)
            assert be.stdout.readline().startswith("ready")
            dp = Dataplane(bed, "af_packet", lcores="0-1", extra=cp.dataplane_args())
            dp.start()
            cp.wait_applied()
            yield bed, dp
    finally:
        try:
            if dp is not None and dp.proc is not None and dp.proc.poll() is None:
                assert dp.stop() == 0, dp.log()
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=10)
            bed.down()


def test_slow_reader_bounds_gateway_mbufs_and_stream_arrives_intact(gw):
    bed, dp = gw
    baseline = mbufs_in_use(dp.stats())
    client = bed.peer_popen("python3", "-c", CLIENT, GW, str(TOTAL), str(RATE),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "connected"
        peak = baseline
        samples = 0
        t_end = time.monotonic() + 150
        while client.poll() is None and time.monotonic() < t_end:
            peak = max(peak, mbufs_in_use(dp.stats()))  # each SIGUSR1 dump takes a while
            samples += 1
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=10)
    print(f"backpressure: mbufs in use baseline {baseline}, peak {peak} over {samples} samples")
    assert client.returncode == 0, err
    n, sha = out.split()
    assert int(n) == TOTAL and sha == expected_sha()
    final = dp.stats()
    # The window towards the backend closed (the dataplane pushed back) ...
    assert event_total(final, "tcp_zero_window_tx") > 0, final["ports"]
    # ... and what the dataplane held stayed bounded while the stream was read slowly.
    assert samples >= 3, "too few stats samples during the transfer"
    assert peak - baseline <= MAX_EXTRA_MBUFS, (peak, baseline, samples)
