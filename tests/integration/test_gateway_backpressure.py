"""TCP receive-window backpressure through the gateway (issue 3, docs/tcp.md "Receive flow
control"), on net_af_packet. In each test one side writes a large stream as fast as it can and
the other reads it through the dataplane at a paced, slow rate: the L4 passthrough and an HTTP
response body (a fast backend, a slow client), and an HTTP request body (a fast client, a slow
backend). With backpressure the dataplane stops reading from the fast side while the slow
side's send queue is full (its advertised window to the fast side closes), so the mbufs it
holds stay bounded by about one send queue plus one receive window, not the size of the
stream; the bytes arrive intact. Namespaces, processes and temp dirs are removed even when a
test fails."""
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
  - {{ name: web, address: 0.0.0.0, port: 8080, protocol: http }}
clusters:
  - name: source
    endpoints: [ {{ address: {BE}, port: 9012 }} ]
  - name: http
    endpoints: [ {{ address: {BE}, port: 9013 }} ]
routes:
  - name: l4
    match: {{ listener: l4 }}
    action: {{ cluster: source }}
  - name: web
    match: {{ listener: web }}
    action: {{ cluster: http, timeout: 60s }}
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

# HTTP: GET answers TOTAL bytes of the pattern as fast as TCP takes them; POST reads the body
# at RATE bytes/s (small receive buffer, paced) and answers "<bytes> <sha256>".
HTTP_BACKEND = """
import hashlib, socket, sys, threading, time
addr, port, total, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
block = bytes(range(256)) * 256
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.bind((addr, port)); s.listen(8)
print('ready', flush=True)
def serve(c):
    try:
        f = b''
        while b'\\r\\n\\r\\n' not in f:
            d = c.recv(65536)
            if not d:
                return
            f += d
        head, _, rest = f.partition(b'\\r\\n\\r\\n')
        lines = head.decode().split('\\r\\n')
        if lines[0].startswith('GET'):
            c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % total)
            left = total
            while left > 0:
                n = min(left, len(block)); c.sendall(block[:n]); left -= n
        else:
            want = int([l.split(':')[1] for l in lines if l.lower().startswith('content-length')][0])
            h = hashlib.sha256(rest); got = len(rest); t0 = time.monotonic()
            deadline = t0 + 120
            while got < want and time.monotonic() < deadline:
                d = c.recv(16384)
                if not d:
                    break
                h.update(d); got += len(d)
                ahead = got / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            body = ('%d %s' % (got, h.hexdigest())).encode()
            c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body) + body)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# GET through the gateway, reading the body at RATE bytes/s; prints "<bytes> <sha256>".
HTTP_SLOW_GET = """
import hashlib, socket, sys, time
host, total, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(30)
s.connect((host, 8080))
print('connected', flush=True)
s.sendall(b'GET /big HTTP/1.1\\r\\nHost: gw\\r\\nConnection: close\\r\\n\\r\\n')
f = b''
while b'\\r\\n\\r\\n' not in f:
    d = s.recv(16384)
    if not d:
        break
    f += d
head, _, body = f.partition(b'\\r\\n\\r\\n')
assert head.startswith(b'HTTP/1.1 200'), head
h = hashlib.sha256(body); n = len(body); t0 = time.monotonic(); deadline = t0 + 120
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

# POST of TOTAL bytes through the gateway as fast as TCP takes them; prints the answer body.
HTTP_FAST_POST = """
import socket, sys
host, total = sys.argv[1], int(sys.argv[2])
block = bytes(range(256)) * 256
s = socket.socket(); s.settimeout(60)
s.connect((host, 8080))
print('connected', flush=True)
s.sendall(b'POST /up HTTP/1.1\\r\\nHost: gw\\r\\nConnection: close\\r\\n'
          b'Content-Length: %d\\r\\n\\r\\n' % total)
left = total
while left > 0:
    n = min(left, len(block)); s.sendall(block[:n]); left -= n
f = b''
while True:
    d = s.recv(4096)
    if not d:
        break
    f += d
head, _, body = f.partition(b'\\r\\n\\r\\n')
assert head.startswith(b'HTTP/1.1 200'), head
print(body.decode(), flush=True)
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


@pytest.fixture(scope="module")
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
            hb = bed.backend_popen("python3", "-c", HTTP_BACKEND, BE, "9013", str(TOTAL),
                                   str(RATE), stdout=subprocess.PIPE, text=True)
            procs.append(hb)
            assert hb.stdout.readline().startswith("ready")
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


def run_sampled(bed, dp, code, *args):
    """Runs `code` in the client namespace, sampling the dataplane's mbufs in use until it
    exits (bounded in time). Returns (its stdout, peak - baseline, samples, final stats)."""
    baseline = mbufs_in_use(dp.stats())
    before = event_total(dp.stats(), "tcp_zero_window_tx")
    client = bed.peer_popen("python3", "-c", code, *args,
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
    assert client.returncode == 0, err
    final = dp.stats()
    print(f"backpressure: mbufs in use baseline {baseline}, peak {peak} over {samples} samples")
    # The window towards the fast side closed: the dataplane pushed back ...
    assert event_total(final, "tcp_zero_window_tx") > before, final["ports"]
    # ... and what it held stayed bounded while the stream was read slowly.
    assert samples >= 3, "too few stats samples during the transfer"
    assert peak - baseline <= MAX_EXTRA_MBUFS, (peak, baseline, samples)
    return out


def test_l4_slow_reader_bounds_gateway_mbufs_and_stream_arrives_intact(gw):
    bed, dp = gw
    out = run_sampled(bed, dp, CLIENT, GW, str(TOTAL), str(RATE))
    n, sha = out.split()
    assert int(n) == TOTAL and sha == expected_sha()


def test_http_response_body_to_a_slow_reader_is_pushed_back(gw):
    bed, dp = gw
    out = run_sampled(bed, dp, HTTP_SLOW_GET, GW, str(TOTAL), str(RATE))
    n, sha = out.split()
    assert int(n) == TOTAL and sha == expected_sha()


def test_http_request_body_to_a_slow_backend_is_pushed_back(gw):
    bed, dp = gw
    out = run_sampled(bed, dp, HTTP_FAST_POST, GW, str(TOTAL))
    n, sha = out.split()
    assert int(n) == TOTAL and sha == expected_sha()
