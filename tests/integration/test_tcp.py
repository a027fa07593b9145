"""TCP against Linux peers: the dataplane's test applications (--app, dataplane/apps) serve on
net_af_packet in the testbed's namespaces, and Linux sockets in the peer namespace talk to them.

Each test builds its own namespaces and veth pair (tests/tools/testbed.py), bounds every socket
operation with a timeout, and removes everything afterwards, even on failure.
"""
import hashlib
import subprocess
import sys

import pytest

from testbed import Dataplane, port_totals

SOURCE_PORT, SINK_PORT, ECHO_PORT, CLOSED_PORT = 5001, 5002, 5003, 5999
SOURCE_BYTES = 4_000_000
APPS = ["--app", f"tcp-source:{SOURCE_PORT}:{SOURCE_BYTES}", "--app", f"tcp-sink:{SINK_PORT}",
        "--app", f"tcp-echo:{ECHO_PORT}"]


def pattern(n):
    """What tcp-source sends: byte i is i % 251."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return h


# Runs in the peer namespace under Debian's python3; prints one result line.
CLIENT = r"""
import hashlib, socket, struct, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
arg = int(sys.argv[4]) if len(sys.argv) > 4 else 0
s = socket.socket()
s.settimeout(15)
try:
    s.connect((host, port))
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
if mode == "download":
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b); n += len(b)
    print(n, h.hexdigest())
elif mode == "upload":
    data = (bytes(range(256)) * (arg // 256 + 1))[:arg]
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)          # half-close: the sink answers after our FIN
    reply = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        reply += b
    print(reply.decode().strip())
elif mode == "echo":
    data = bytes((i * 7 + 1) % 256 for i in range(arg))
    got = b""
    for off in range(0, len(data), 8192):
        s.sendall(data[off:off + 8192])
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.shutdown(socket.SHUT_WR)
    tail = s.recv(10)                   # the echo app closes after our FIN
    print("ok" if got == data and tail == b"" else f"mismatch {len(got)} {tail!r}")
elif mode == "reset":
    s.sendall(b"x" * 1000)
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()                           # linger 0: Linux sends RST
    print("reset")
"""


def client(bed, *args, timeout=60):
    r = bed.peer("/usr/bin/python3", "-c", CLIENT, *[str(a) for a in args], timeout=timeout)
    return r.stdout.strip(), r.stderr


@pytest.fixture
def dp(bed):
    d = Dataplane(bed, "af_packet", extra=APPS).start()
    yield d
    d.kill()


@pytest.mark.parametrize("mode", ["af_packet", "af_xdp"])
def test_download_and_upload_on_each_port_mode(bed, mode):
    d = Dataplane(bed, mode, extra=APPS).start()
    out, err = client(bed, "download", bed.dp_ip(), SOURCE_PORT)
    assert out.split() == [str(SOURCE_BYTES), hashlib.sha256(pattern(SOURCE_BYTES)).hexdigest()], \
        out + err + d.log()
    size = 500_000
    out, err = client(bed, "upload", bed.dp_ip(), SINK_PORT, size)
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert out == f"{size} {fnv1a64(data):016x}", out + err + d.log()
    assert d.stop() == 0, d.log()


def test_linux_downloads_pattern_from_source_intact(bed, dp):
    out, err = client(bed, "download", bed.dp_ip(), SOURCE_PORT)
    n, digest = out.split()
    assert int(n) == SOURCE_BYTES, out + err + dp.log()
    assert digest == hashlib.sha256(pattern(SOURCE_BYTES)).hexdigest()
    t = port_totals(dp.stats())
    assert t["events"]["tcp_established"] >= 1
    assert t["drops"]["tcp_bad_checksum"] == 0
    assert dp.stop() == 0, dp.log()  # also proves every mbuf came back


def test_linux_upload_with_half_close_gets_count_and_hash(bed, dp):
    size = 3_000_000
    out, err = client(bed, "upload", bed.dp_ip(), SINK_PORT, size)
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert out == f"{size} {fnv1a64(data):016x}", out + err + dp.log()
    assert dp.stop() == 0, dp.log()


def test_echo_returns_every_byte_then_closes_after_fin(bed, dp):
    out, err = client(bed, "echo", bed.dp_ip(), ECHO_PORT, 200_000)
    assert out == "ok", out + err + dp.log()
    assert dp.stop() == 0, dp.log()


def test_connect_to_closed_port_is_refused_with_rst(bed, dp):
    out, err = client(bed, "download", bed.dp_ip(), CLOSED_PORT)
    assert out == "refused", out + err + dp.log()
    t = port_totals(dp.stats())
    assert t["drops"]["tcp_no_socket"] >= 1
    assert t["events"]["tcp_reset_tx"] >= 1
    assert dp.stop() == 0, dp.log()


def test_linux_rst_closes_the_connection(bed, dp):
    out, err = client(bed, "reset", bed.dp_ip(), SINK_PORT)
    assert out == "reset", out + err + dp.log()
    # The sink is still serving afterwards.
    out, err = client(bed, "upload", bed.dp_ip(), SINK_PORT, 1000)
    assert out.startswith("1000 "), out + err + dp.log()
    t = port_totals(dp.stats())
    assert t["events"]["tcp_reset_rx"] >= 1
    assert dp.stop() == 0, dp.log()


def add_loss(bed, per_mille):
    """Drops per_mille/1000 of TCP segments both ways at the Linux peer (nftables numgen).
    Linux's outgoing segments are dropped at the netdev egress hook, after its TCP stack let
    them go: a drop in the inet output hook would be reported back to Linux's TCP as a local
    failure and never reach us out of order. Linux 6.x TCP always builds GSO packets, so the
    egress hook sees and drops whole bursts (tens of KB) rather than single segments."""
    dev = bed.peer_if()
    rules = f"""
table inet sl_loss_in {{
    chain in {{
        type filter hook input priority 0; policy accept;
        iifname "{dev}" meta l4proto tcp numgen random mod 1000 < {per_mille} drop
    }}
}}
table netdev sl_loss_out {{
    chain out {{
        type filter hook egress device "{dev}" priority 0; policy accept;
        meta l4proto tcp numgen random mod 1000 < {per_mille} drop
    }}
}}
"""
    r = subprocess.run(["ip", "netns", "exec", bed.peer_ns, "nft", "-f", "-"], input=rules,
                       text=True, capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr


def test_transfers_survive_two_percent_loss_both_ways(bed, dp):
    add_loss(bed, 20)
    out, err = client(bed, "download", bed.dp_ip(), SOURCE_PORT, timeout=90)
    n, digest = out.split()
    assert int(n) == SOURCE_BYTES, out + err + dp.log()
    assert digest == hashlib.sha256(pattern(SOURCE_BYTES)).hexdigest()
    size = 1_000_000
    out, err = client(bed, "upload", bed.dp_ip(), SINK_PORT, size, timeout=90)
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert out == f"{size} {fnv1a64(data):016x}", out + err + dp.log()
    t = port_totals(dp.stats())
    assert t["events"]["tcp_retransmit"] > 0  # the loss really hit our sender
    assert dp.stop() == 0, dp.log()


# A Linux server for the dataplane's tcp-client: reads to EOF, checks the pattern, answers.
SERVER = r"""
import hashlib, socket, sys
host, port, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port)); ls.listen(1); ls.settimeout(20)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(20)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b); n += len(b)
ok = h.hexdigest() == want
c.sendall(b"ok" if ok else b"bad")
c.close()
print(n, "ok" if ok else "bad", flush=True)
"""


def test_dataplane_connects_to_linux_and_sends_with_half_close(bed):
    size = 2_000_000
    srv = bed.peer_popen("/usr/bin/python3", "-c", SERVER, bed.peer_ip(), "7000",
                         hashlib.sha256(pattern(size)).hexdigest(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "listening"
        d = Dataplane(bed, "af_packet",
                      extra=["--app", f"tcp-client:{bed.peer_ip()}:7000:{size}"]).start()
        out, err = srv.communicate(timeout=30)
        assert out.strip() == f"{size} ok", out + err + d.log()
        t = port_totals(d.stats())
        assert t["events"]["tcp_active_open"] == 1
        assert t["events"]["tcp_established"] == 1
        assert d.stop() == 0, d.log()
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
