"""TCP edge cases and attacks against the dataplane's test applications (--app, dataplane/apps),
with Linux and hand-made peers in the testbed's peer namespace (docs/tcp.md, "Edge-case and
attack tests"):

  - 10,000 connections from one Linux process, all open at once, each echoing its own message
    and closing (tests/tools/conn_swarm.py), on net_af_packet and net_af_xdp;
  - a SYN flood from hping3 (random spoofed sources) at a listener with a backlog of 4 while a
    legitimate client keeps connecting: SYN cookies carry it;
  - scapy peers (tests/tools/tcp_crafter.py): RFC 5961 challenge ACKs for an in-window RST and
    SYN, RFC 7323 PAWS, zero-window probes (RFC 9293 §3.8.6.1).

Each test builds its own namespaces (tests/tools/testbed.py), bounds every wait, and removes
everything afterwards, even on failure.
"""
import json
import os
import queue
import subprocess
import threading
import time

import pytest

from testbed import Dataplane, port_totals, wait_for

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
ECHO_PORT = 5003
CONNS = 10_000

# The client below, run in the peer namespace: N sequential echo connections, each bounded.
LEGIT_CLIENT = r"""
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0
errors = []
for i in range(n):
    msg = f"legit-{i:06d}".encode() * 20
    try:
        with socket.create_connection((host, port), timeout=10) as s:
            s.settimeout(10)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(65536)
                if not b:
                    break
                got += b
            s.shutdown(socket.SHUT_WR)
            if got == msg and s.recv(10) == b"":
                ok += 1
            else:
                errors.append(f"{i}: echo mismatch ({len(got)} bytes)")
    except OSError as e:
        errors.append(f"{i}: {e!r}")
print(ok, "|".join(errors[:5]), flush=True)
"""


class lines_of:
    """Reads a process's stdout lines on a thread, so that each read can have a timeout."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        threading.Thread(target=self._run, args=(proc,), daemon=True).start()

    def _run(self, proc):
        for line in proc.stdout:
            self.q.put(line)
        self.q.put(None)

    def get(self, timeout):
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s") from None
        if line is None:
            self.proc.wait(timeout=10)
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the process ended early ({self.proc.returncode}): {err}")
        return line


def stop_proc(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


# ---------------------------------------------------------------- 10,000 concurrent connections

@pytest.mark.parametrize("mode", ["af_packet", "af_xdp"])
def test_ten_thousand_concurrent_connections_echo_and_close(bed, mode):
    # 12,288 TCBs for 10,000 connections; mbufs for a reply queued on every connection at once.
    d = Dataplane(bed, mode, extra=["--app", f"tcp-echo:{ECHO_PORT}",
                                    "--tcp-max-connections", "12288", "--app-backlog", "1024",
                                    "--mbufs", "65535"]).start()
    t0 = time.monotonic()
    swarm = bed.peer_popen("/usr/bin/python3", os.path.join(TOOLS, "conn_swarm.py"),
                           bed.dp_ip(), str(ECHO_PORT), str(CONNS), "--hold",
                           "--timeout", "150", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        out = lines_of(swarm)
        held = json.loads(out.get(200))
        assert held["open"] == CONNS, f"{held}\n{d.log()}"
        # Every connection is open on both ends before any closes.
        ev = port_totals(d.stats())["events"]
        assert ev["tcp_established"] - ev["tcp_closed"] >= CONNS, ev
        ss = bed.peer("ss", "-Htn", "state", "established", f"( dport = :{ECHO_PORT} )",
                      timeout=60)
        assert len(ss.stdout.splitlines()) >= CONNS
        swarm.stdin.write("go\n")
        swarm.stdin.flush()
        done = json.loads(out.get(200))
        assert done["ok"] == CONNS, f"{done}\n{d.log()}"
    finally:
        stop_proc(swarm)
    # The dataplane freed every TCB (LAST-ACK ends with Linux's ACK of our FIN).
    wait_for(lambda: (lambda e: e["tcp_closed"] >= e["tcp_established"])(
        port_totals(d.stats())["events"]), 30, "every connection to be freed")
    t = port_totals(d.stats())
    assert t["drops"]["tcp_table_full"] == 0
    assert t["drops"]["tcp_alloc_failed"] == 0
    print(f"{mode}: {CONNS} connections held in {held['seconds']} s, echoed and closed in "
          f"{done['seconds']} s ({time.monotonic() - t0:.1f} s in all)")
    assert d.stop() == 0, d.log()  # also: every mbuf came back


# ---------------------------------------------------------------- SYN flood vs SYN cookies

def test_syn_flood_is_answered_with_cookies_and_legit_clients_get_through(bed):
    legit = 40
    d = Dataplane(bed, "af_packet", extra=["--app", f"tcp-echo:{ECHO_PORT}",
                                           "--app-backlog", "4"]).start()
    # Random spoofed sources: the SYN-ACKs go to the gateway (the peer namespace), which owns
    # none of those addresses and drops them, so the flood's embryos stay in SYN-RECEIVED and
    # keep the backlog full. Bounded: 5,000 SYNs a second at most, 150,000 at most, 60 s at most.
    flood = bed.peer_popen("timeout", "60", "hping3", "-q", "-S", "-p", str(ECHO_PORT),
                           "--rand-source", "-i", "u200", "-c", "150000", bed.dp_ip(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: port_totals(d.stats())["events"]["tcp_syn_cookie_sent"] > 100, 30,
                 "the flood to fill the backlog")
        before = port_totals(d.stats())["events"]
        r = bed.peer("/usr/bin/python3", "-c", LEGIT_CLIENT, bed.dp_ip(), str(ECHO_PORT),
                     str(legit), timeout=240)
        still_flooding = flood.poll() is None
        after = port_totals(d.stats())
    finally:
        stop_proc(flood)
    ok, _, errors = r.stdout.strip().partition(" ")
    assert int(ok) == legit, r.stdout + r.stderr + d.log()
    assert still_flooding, "the flood ended before the legitimate client did: " + flood.stderr.read()
    ev = after["events"]
    # The backlog was full the whole time: cookies went out during the legitimate connections,
    # and the legitimate connections came back through them (RFC 4987 §3.6).
    assert ev["tcp_syn_cookie_sent"] - before["tcp_syn_cookie_sent"] >= 100, ev
    assert ev["tcp_syn_cookie_accepted"] - before["tcp_syn_cookie_accepted"] >= legit // 2, ev
    # Only the 4 backlog slots ever held flood state.
    assert ev["tcp_passive_open"] - ev["tcp_syn_cookie_accepted"] <= 4 + legit, ev
    assert after["drops"]["tcp_table_full"] == 0
    print(f"syn flood: {legit} legitimate connections while flooding; cookies sent "
          f"{ev['tcp_syn_cookie_sent']}, accepted {ev['tcp_syn_cookie_accepted']}, "
          f"passive opens {ev['tcp_passive_open']}")
    assert d.stop() == 0, d.log()


# ---------------------------------------------------------------- crafted peers (scapy)

SCAPY_SPORT = 61234  # outside Linux's ip_local_port_range (32768-60999)


@pytest.fixture
def crafted(bed):
    """The echo app, and the peer kernel kept from resetting the scapy connection."""
    rules = f"""
table inet sl_scapy {{
    chain out {{
        type filter hook output priority 0; policy accept;
        tcp sport {SCAPY_SPORT} tcp flags rst drop
    }}
}}
"""
    r = subprocess.run(["ip", "netns", "exec", bed.peer_ns, "nft", "-f", "-"], input=rules,
                       text=True, capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    d = Dataplane(bed, "af_packet", extra=["--app", f"tcp-echo:{ECHO_PORT}"]).start()
    # The dataplane must know the peer's MAC before our first SYN-ACK is due: one ping.
    assert bed.ping(count=1)[1] == 1
    yield d
    d.kill()


def craft(bed, scenario, timeout=60):
    r = bed.peer("/usr/bin/python3", os.path.join(TOOLS, "tcp_crafter.py"), scenario,
                 bed.peer_if(), bed.peer_ip(), bed.dp_ip(), bed.dp_mac(), str(ECHO_PORT),
                 str(SCAPY_SPORT), timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_in_window_rst_off_rcv_nxt_gets_challenge_ack_and_connection_survives(bed, crafted):
    o = craft(bed, "challenge_rst")
    assert o["echo_before"] == "before", o
    assert o["challenge_ack"], o
    assert o["echo_after"] == "after-rst", o
    ev = port_totals(crafted.stats())["events"]
    assert ev["tcp_challenge_ack"] >= 1 and ev["tcp_reset_rx"] == 0, ev


def test_syn_on_established_connection_gets_challenge_ack_and_connection_survives(bed, crafted):
    o = craft(bed, "challenge_syn")
    assert o["challenge_ack"], o
    assert o["echo_after"] == "after-syn", o
    ev = port_totals(crafted.stats())["events"]
    assert ev["tcp_challenge_ack"] >= 1 and ev["tcp_reset_tx"] == 0, ev


def test_paws_drops_old_timestamp_segment_acks_it_and_never_delivers_it(bed, crafted):
    o = craft(bed, "paws")
    assert o["echo_before"] == "fresh", o
    assert o["paws_ack"], o
    assert o["echo_after"] == "newer", o  # not "STALE"
    assert port_totals(crafted.stats())["drops"]["tcp_paws"] >= 1


def test_zero_window_gets_growing_persist_probes_then_data_when_it_opens(bed, crafted):
    o = craft(bed, "zero_window", timeout=90)
    assert o["acked_data"], o
    assert o["probes"] >= 4, o
    assert all(n <= 1 for n in o["probe_lens"]), o  # probes, not the data
    # The persist timer backs off once per probe (RFC 9293 §3.8.6.1, RFC 6298 §5.5): the gaps
    # grow, and over the two doublings between the first and the third gap by 4x; 2.5x to 8x
    # allows for a busy machine delaying one probe. (It used to be 16x: every other expiry
    # was a silent RTO; tests/tcp/tcp_edge_test.cc pins the exact schedule.)
    g = o["gaps"]
    assert all(b > a for a, b in zip(g, g[1:])), o
    assert 2.5 <= g[2] / g[0] <= 8, o
    assert o["delivered"] == 1000 and o["intact"], o
