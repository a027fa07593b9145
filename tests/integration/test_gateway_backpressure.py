"""TCP receive-window backpressure through the gateway (issue 3, docs/tcp.md "Receive flow
control"), on net_af_packet. In each test one side writes a large stream as fast as it can and
the other reads it through the dataplane at a paced, slow rate: the L4 passthrough and an HTTP
response body (a fast backend, a slow client), an HTTP request body (a fast client, a slow
backend), and binary-protocol frames both ways (many large frames to a slow backend; a fast
backend's frames to a slow client). With backpressure the dataplane stops reading from the fast side while the slow
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

# The binary listener's streams: BIN_FRAMES frames of BIN_PAYLOAD bytes (~49 MB, like TOTAL),
# each a complete frame (docs/binary-protocol.md) that the gateway forwards whole.
BIN_PAYLOAD = 60 * 1024
BIN_FRAMES = 800
BIN_TOTAL = BIN_FRAMES * (BIN_PAYLOAD + 14)

CONFIG = f"""
listeners:
  - {{ name: l4, address: 0.0.0.0, port: 9000, protocol: tcp }}
  - {{ name: web, address: 0.0.0.0, port: 8080, protocol: http }}
  - {{ name: bin, address: 0.0.0.0, port: 9100, protocol: binary }}
clusters:
  - name: source
    endpoints: [ {{ address: {BE}, port: 9012 }} ]
  - name: http
    endpoints: [ {{ address: {BE}, port: 9013 }} ]
  - name: frames
    endpoints: [ {{ address: {BE}, port: 9014 }} ]
routes:
  - name: l4
    match: {{ listener: l4 }}
    action: {{ cluster: source }}
  - name: web
    match: {{ listener: web }}
    action: {{ cluster: http, timeout: 60s }}
  - name: bin
    match: {{ listener: bin }}
    action: {{ cluster: frames }}
"""

# --- pieces the scripts below share (each script runs as `python3 -c` in a test namespace) ---

# The byte pattern every stream is made of, and the binary frames built from it.
PATTERN = """
import hashlib, socket, struct, sys, threading, time, zlib
block = bytes(range(256)) * 256
def frame(cmd, payload):
    return (struct.pack('>IBBI', 0xABCDEF01, 1, cmd, len(payload)) + payload +
            struct.pack('>I', zlib.crc32(payload) & 0xFFFFFFFF))
def bin_stream_frame(cmd, size):
    return frame(cmd, (block * (size // len(block) + 1))[:size])
"""

# Writes `total` bytes of the pattern as fast as TCP takes them.
SEND_PATTERN = """
def send_pattern(c, total):
    left = total
    while left > 0:
        n = min(left, len(block)); c.sendall(block[:n]); left -= n
"""

# paced_read: reads until `total` bytes (counting the `n` already hashed into `h`), EOF or
# 120 s, at `rate` bytes/s, and returns the count; recv_until / recv_all / recv_exact: until a
# marker (or EOF), until EOF, exactly n bytes (or EOF).
RECEIVE = """
def paced_read(s, h, n, total, rate):
    t0 = time.monotonic(); deadline = t0 + 120
    while n < total and time.monotonic() < deadline:
        d = s.recv(16384)
        if not d:
            break
        h.update(d); n += len(d)
        ahead = n / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return n
def recv_until(s, what):
    f = b''
    while what not in f:
        d = s.recv(65536)
        if not d:
            break
        f += d
    return f
def recv_all(s):
    f = b''
    while True:
        d = s.recv(65536)
        if not d:
            return f
        f += d
def recv_exact(s, n):
    f = b''
    while len(f) < n:
        d = s.recv(n - len(f))
        if not d:
            break
        f += d
    return f
"""

# A backend: serve(c) in a thread per connection on argv[1]:argv[2]; RCVBUF set when nonzero.
SERVE_FOREVER = """
def serve_forever(serve, rcvbuf=0):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
    print('ready', flush=True)
    def guarded(c):
        try:
            serve(c)
        except ConnectionResetError:
            pass  # the client's side went away first
        finally:
            c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=guarded, args=(c,), daemon=True).start()
"""

# A client: connects to the gateway's argv[1] on `port` with a small receive buffer.
CONNECT = """
def connect(port, timeout):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(timeout)
    s.connect((sys.argv[1], port))
    print('connected', flush=True)
    return s
"""

COMMON = PATTERN + SEND_PATTERN + RECEIVE + SERVE_FOREVER + CONNECT

# Answers each connection with TOTAL bytes of a fixed pattern, written as fast as TCP takes it.
BACKEND = COMMON + """
total = int(sys.argv[3])
def serve(c):
    send_pattern(c, total)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
serve_forever(serve)
"""

# HTTP: GET answers TOTAL bytes of the pattern as fast as TCP takes them; POST reads the body
# at RATE bytes/s (small receive buffer, paced) and answers "<bytes> <sha256>".
HTTP_BACKEND = COMMON + """
total, rate = int(sys.argv[3]), float(sys.argv[4])
def serve(c):
    f = recv_until(c, b'\\r\\n\\r\\n')
    if b'\\r\\n\\r\\n' not in f:
        return
    head, _, rest = f.partition(b'\\r\\n\\r\\n')
    lines = head.decode().split('\\r\\n')
    if lines[0].startswith('GET'):
        c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % total)
        send_pattern(c, total)
    else:
        want = int([l.split(':')[1] for l in lines if l.lower().startswith('content-length')][0])
        h = hashlib.sha256(rest)
        got = paced_read(c, h, len(rest), want, rate)
        body = ('%d %s' % (got, h.hexdigest())).encode()
        c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body) + body)
serve_forever(serve, rcvbuf=65536)
"""

# Binary frames, by the command of the first one: command 1 ("sink") reads the client's
# BIN_TOTAL bytes of frames at RATE bytes/s (small receive buffer) and answers one frame
# "<bytes> <sha256>"; command 2 ("source") answers BIN_FRAMES frames of BIN_PAYLOAD bytes as
# fast as TCP takes them.
BIN_BACKEND = COMMON + """
total, rate, frames, payload = (int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]),
                                int(sys.argv[6]))
def serve(c):
    hdr = recv_exact(c, 10)
    if len(hdr) < 10:
        return
    if hdr[5] == 1:
        h = hashlib.sha256(hdr)
        got = paced_read(c, h, len(hdr), total, rate)
        c.sendall(frame(1, ('%d %s' % (got, h.hexdigest())).encode()))
    else:
        recv_exact(c, struct.unpack('>I', hdr[6:10])[0] + 4)
        f = bin_stream_frame(2, payload)
        for _ in range(frames):
            c.sendall(f)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
serve_forever(serve, rcvbuf=65536)
"""

# GET through the gateway, reading the body at RATE bytes/s; prints "<bytes> <sha256>".
HTTP_SLOW_GET = COMMON + """
total, rate = int(sys.argv[2]), float(sys.argv[3])
s = connect(8080, 30)
s.sendall(b'GET /big HTTP/1.1\\r\\nHost: gw\\r\\nConnection: close\\r\\n\\r\\n')
head, _, body = recv_until(s, b'\\r\\n\\r\\n').partition(b'\\r\\n\\r\\n')
assert head.startswith(b'HTTP/1.1 200'), head
h = hashlib.sha256(body)
print(paced_read(s, h, len(body), total, rate), h.hexdigest(), flush=True)
"""

# POST of TOTAL bytes through the gateway as fast as TCP takes them; prints the answer body.
HTTP_FAST_POST = COMMON + """
total = int(sys.argv[2])
s = connect(8080, 60)
s.sendall(b'POST /up HTTP/1.1\\r\\nHost: gw\\r\\nConnection: close\\r\\n'
          b'Content-Length: %d\\r\\n\\r\\n' % total)
send_pattern(s, total)
head, _, body = recv_all(s).partition(b'\\r\\n\\r\\n')
assert head.startswith(b'HTTP/1.1 200'), head
print(body.decode(), flush=True)
"""

# Reads the L4 stream at RATE bytes/s (pacing, bounded in time), prints "<bytes> <sha256>".
CLIENT = COMMON + """
total, rate = int(sys.argv[2]), float(sys.argv[3])
s = connect(9000, 30)
h = hashlib.sha256()
print(paced_read(s, h, 0, total, rate), h.hexdigest(), flush=True)
"""

# Sends BIN_FRAMES frames (command 1) to the sink as fast as TCP takes them; prints the sink's
# answer frame's payload "<bytes> <sha256>".
BIN_FAST_SEND = COMMON + """
frames, payload = int(sys.argv[2]), int(sys.argv[3])
s = connect(9100, 60)
f = bin_stream_frame(1, payload)
for _ in range(frames):
    s.sendall(f)
hdr = recv_exact(s, 10)
assert len(hdr) == 10 and hdr[5] == 1, hdr
print(recv_exact(s, struct.unpack('>I', hdr[6:10])[0]).decode(), flush=True)
"""

# Asks the source (command 2) for its frames and reads them at RATE bytes/s; prints
# "<bytes> <sha256>".
BIN_SLOW_READ = COMMON + """
total, rate = int(sys.argv[2]), float(sys.argv[3])
s = connect(9100, 30)
s.sendall(frame(2, b'go'))
h = hashlib.sha256()
print(paced_read(s, h, 0, total, rate), h.hexdigest(), flush=True)
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


def expected_bin_sha(cmd):
    g = {}
    exec(PATTERN, g)
    f = g["bin_stream_frame"](cmd, BIN_PAYLOAD)
    h = hashlib.sha256()
    for _ in range(BIN_FRAMES):
        h.update(f)
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

    def backend(code, *args):
        p = bed.backend_popen("python3", "-c", code, BE, *args, stdout=subprocess.PIPE,
                              text=True)
        procs.append(p)
        assert p.stdout.readline().startswith("ready")

    try:
        bed.up()
        with running(bed, CONFIG) as cp:
            backend(BACKEND, "9012", str(TOTAL))
            backend(HTTP_BACKEND, "9013", str(TOTAL), str(RATE))
            backend(BIN_BACKEND, "9014", str(BIN_TOTAL), str(RATE), str(BIN_FRAMES),
                    str(BIN_PAYLOAD))
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
    client = bed.peer_popen("python3", "-c", code, GW, *args,
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


def assert_intact(out, total, sha):
    n, got = out.split()
    assert int(n) == total and got == sha, (n, total)


def test_l4_slow_reader_bounds_gateway_mbufs_and_stream_arrives_intact(gw):
    out = run_sampled(*gw, CLIENT, str(TOTAL), str(RATE))
    assert_intact(out, TOTAL, expected_sha())


def test_http_response_body_to_a_slow_reader_is_pushed_back(gw):
    out = run_sampled(*gw, HTTP_SLOW_GET, str(TOTAL), str(RATE))
    assert_intact(out, TOTAL, expected_sha())


def test_http_request_body_to_a_slow_backend_is_pushed_back(gw):
    out = run_sampled(*gw, HTTP_FAST_POST, str(TOTAL))
    assert_intact(out, TOTAL, expected_sha())


def test_binary_frames_to_a_slow_backend_are_pushed_back(gw):
    out = run_sampled(*gw, BIN_FAST_SEND, str(BIN_FRAMES), str(BIN_PAYLOAD))
    assert_intact(out, BIN_TOTAL, expected_bin_sha(1))


def test_binary_frames_to_a_slow_client_are_pushed_back(gw):
    out = run_sampled(*gw, BIN_SLOW_READ, str(BIN_TOTAL), str(RATE))
    assert_intact(out, BIN_TOTAL, expected_bin_sha(2))
