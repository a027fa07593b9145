"""A scapy TCP peer for the TCP edge tests (tests/integration/test_tcp_edge.py): opens a
connection to the dataplane's tcp-echo app with hand-made segments, plays one scenario, and
prints one JSON line of what it observed. Run in the peer namespace under Debian's python3.

    tcp_crafter.py SCENARIO IFACE SRC DST DST_MAC PORT SPORT

Scenarios (RFC sections are what the dataplane is expected to follow):
  challenge_rst  RFC 5961 §3.2: an RST in the window but not at RCV.NXT gets a challenge ACK
                 (ACK = RCV.NXT) and the connection survives (data is still echoed)
  challenge_syn  RFC 5961 §4.2: a SYN on an established connection gets a challenge ACK
                 and the connection survives
  paws           RFC 7323 §5.3: a segment whose timestamp is older than TS.Recent is dropped
                 and ACKed; its data is never delivered (never echoed back)
  zero_window    RFC 9293 §3.8.6.1: the peer advertises window 0 while the echo app has data
                 for it; the dataplane sends zero-window probes whose spacing grows, and sends
                 the data once the window opens

Frames are sent with a packet socket (scapy sendp), which bypasses the peer kernel's netfilter
output hook; the caller drops the kernel's own RSTs for SPORT there (the kernel has no socket
for this connection and would reset it). Every wait is bounded.
"""
import json
import queue
import sys
import threading
import time

from scapy.all import IP, TCP, AsyncSniffer, Ether, Raw, conf, get_if_hwaddr  # noqa: E402

conf.verb = 0


class Peer:
    def __init__(self, iface, src, dst, dst_mac, dport, sport):
        self.iface, self.src, self.dst, self.dport, self.sport = iface, src, dst, dport, sport
        self.eth = Ether(src=get_if_hwaddr(iface), dst=dst_mac)
        self.sock = conf.L2socket(iface=iface)
        self.q = queue.Queue()
        self.seq = 100000  # our ISN
        self.ack = 0
        self.ts = 1000
        self.ts_peer = 0
        self.log = []
        started = threading.Event()
        self.sniffer = AsyncSniffer(
            iface=iface, store=False, started_callback=started.set,
            lfilter=lambda p: TCP in p and p[IP].src == dst and p[TCP].dport == sport,
            prn=lambda p: self.q.put((float(p.time), p)))  # capture time, not when Python saw it
        self.sniffer.start()
        if not started.wait(10):
            raise RuntimeError("sniffer did not start")

    def close(self):
        self.sniffer.stop()
        self.sock.close()

    def send(self, flags, payload=b"", seq=None, ack=None, window=65535, ts=True, tsval=None):
        opts = []
        if ts:
            opts = [("NOP", None), ("NOP", None),
                    ("Timestamp", (self.ts if tsval is None else tsval, self.ts_peer))]
        p = self.eth / IP(src=self.src, dst=self.dst) / TCP(
            sport=self.sport, dport=self.dport, flags=flags,
            seq=self.seq if seq is None else seq, ack=self.ack if ack is None else ack,
            window=window, options=opts)
        if payload:
            p = p / Raw(payload)
        self.sock.send(p)

    def recv(self, timeout=3.0, want=None):
        """The next segment from the dataplane (matching `want` if given), or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                t, p = self.q.get(timeout=left)
            except queue.Empty:
                return None
            tcp = p[TCP]
            for k, v in tcp.options:
                if k == "Timestamp":
                    self.ts_peer = v[0]
            self.log.append({"t": round(t, 4), "flags": str(tcp.flags), "seq": tcp.seq,
                             "ack": tcp.ack, "win": tcp.window, "len": len(tcp.payload)})
            if want is None or want(tcp):
                return t, tcp

    def handshake(self, window=65535):
        self.send("S", window=window, ts=True)
        r = self.recv(want=lambda t: t.flags == "SA")
        if r is None:
            raise RuntimeError("no SYN-ACK")
        self.seq += 1
        self.ack = r[1].seq + 1
        self.ts += 1
        self.send("A", window=window)
        return r[1]

    def collect(self, n, timeout, overlap=False):
        """Receives in-order payload until n bytes, or `timeout` seconds, ACKing each new piece.
        With `overlap`, a segment that starts inside what we already have (a probe byte we
        kept) gives its new part; otherwise only segments at RCV.NXT count."""
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            r = self.recv(timeout=deadline - time.monotonic(), want=lambda t: len(t.payload) > 0)
            if r is None:
                break
            tcp = r[1]
            if tcp.seq == self.ack:
                new = bytes(tcp.payload)
            elif overlap and tcp.seq < self.ack < tcp.seq + len(tcp.payload):
                new = bytes(tcp.payload)[self.ack - tcp.seq:]
            else:
                continue
            got += new
            self.ack += len(new)
            self.ts += 1
            self.send("A")
        return got

    def echo(self, data, timeout=3.0):
        """Sends data at the current sequence number and collects the echo (ACKing it)."""
        self.ts += 1
        self.send("PA", data)
        self.seq += len(data)
        return self.collect(len(data), timeout)

    def drain(self):
        while not self.q.empty():
            self.recv(timeout=0.01)


def challenge_rst(p):
    p.handshake()
    first = p.echo(b"before")
    p.drain()
    # In the window (our window is the dataplane's receive window) but 100 beyond RCV.NXT.
    p.send("R", seq=p.seq + 100, ts=False)
    r = p.recv(want=lambda t: t.flags == "A")
    ca = r is not None and r[1].ack == p.seq
    after = p.echo(b"after-rst")
    return {"echo_before": first.decode(), "challenge_ack": ca, "echo_after": after.decode()}


def challenge_syn(p):
    p.handshake()
    first = p.echo(b"before")
    p.drain()
    p.ts += 1
    p.send("S", seq=p.seq + 10)
    r = p.recv(want=lambda t: "R" not in t.flags)
    ca = r is not None and r[1].flags == "A" and r[1].ack == p.seq
    after = p.echo(b"after-syn")
    return {"echo_before": first.decode(), "challenge_ack": ca,
            "reply": None if r is None else str(r[1].flags), "echo_after": after.decode()}


def paws(p):
    p.handshake()
    p.ts = 50000
    first = p.echo(b"fresh")          # TS.Recent becomes 50001
    p.drain()
    # Same sequence number as the next good segment, older timestamp: a PAWS duplicate.
    p.send("PA", b"STALE", tsval=40000)
    r = p.recv(want=lambda t: t.flags == "A" and len(t.payload) == 0)
    acked = r is not None and r[1].ack == p.seq   # ACKed, RCV.NXT did not move
    after = p.echo(b"newer")          # at the same sequence number, a current timestamp
    return {"echo_before": first.decode(), "paws_ack": acked, "echo_after": after.decode()}


def zero_window(p, probes_wanted=4):
    p.handshake()
    data = b"z" * 1000
    # Our data segment closes our window: the echo has nowhere to go.
    p.ts += 1
    p.send("PA", data, window=0)
    p.seq += len(data)
    r = p.recv(want=lambda t: t.ack == p.seq)
    got_ack = r is not None and len(r[1].payload) == 0
    probes = []
    deadline = time.monotonic() + 30
    while len(probes) < probes_wanted and time.monotonic() < deadline:
        r = p.recv(timeout=deadline - time.monotonic())
        if r is None:
            break
        t, tcp = r
        if len(tcp.payload) > 0 or tcp.seq != p.ack:
            probes.append({"t": t, "seq": tcp.seq, "len": len(tcp.payload)})
            # Answer as a closed receiver does: ACK what we have, window still 0.
            p.ts += 1
            p.send("A", window=0)
    gaps = [round(b["t"] - a["t"], 3) for a, b in zip(probes, probes[1:])]
    # Open the window: the data must come now.
    p.ts += 1
    p.send("A", window=65535)
    got = p.collect(len(data), 10, overlap=True)  # may start inside a probe byte we kept
    return {"acked_data": got_ack, "probes": len(probes), "gaps": gaps,
            "probe_lens": [x["len"] for x in probes], "delivered": len(got),
            "intact": got == data[:len(got)]}


def main():
    scenario, iface, src, dst, dst_mac, port, sport = sys.argv[1:8]
    p = Peer(iface, src, dst, dst_mac, int(port), int(sport))
    try:
        out = globals()[scenario](p)
    finally:
        p.close()
    out["segments"] = p.log[-40:]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
