"""Many concurrent TCP connections from one Linux process, for the TCP edge tests
(tests/integration/test_tcp_edge.py): opens COUNT connections to an echo server, holds them all
open at once, then exchanges a distinct message on each and closes each with a half-close.

    conn_swarm.py HOST PORT COUNT [--inflight N] [--timeout S] [--hold]

Phases, each reported as one JSON line on stdout:
  {"phase": "held", "open": N, "failed": F, "seconds": T}   every connect finished (N succeeded)
  with --hold, the tool then waits for one line on stdin before going on, so that the caller can
  inspect both ends while every connection is open;
  {"phase": "done", "ok": N, "bad": B, "errors": {...}, "seconds": T}
A connection is "ok" when it echoed exactly its own 24-byte message and then closed (EOF) after
our FIN. At most --inflight connects are outstanding at once (a burst of 10,000 SYNs would only
test the listener's backlog, which test_syn_flood_* does on purpose). Every wait is bounded by
--timeout seconds per phase. Single-threaded: one selectors loop (epoll) over all sockets.
"""
import argparse
import collections
import errno
import json
import resource
import selectors
import socket
import sys
import time


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        # Root may raise the hard limit too (up to fs.nr_open, 1,048,576 by default).
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))


def connect_all(host, port, count, inflight, timeout, sel):
    """Returns (connected sockets, error counts)."""
    errors = collections.Counter()
    done = []
    pending = 0
    started = 0
    deadline = time.monotonic() + timeout
    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and pending < inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = s.connect_ex((host, port))
            started += 1
            if rc not in (0, errno.EINPROGRESS):
                errors[errno.errorcode.get(rc, str(rc))] += 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, started - 1)
            pending += 1
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if rc != 0:
                errors[errno.errorcode.get(rc, str(rc))] += 1
                s.close()
            else:
                done.append((key.data, s))
    for key in list(sel.get_map().values()):
        errors["connect_timeout"] += 1
        sel.unregister(key.fileobj)
        key.fileobj.close()
    errors["not_started"] += count - started
    return done, errors


def exchange_all(conns, timeout, sel):
    """Sends each connection its message, reads the echo, half-closes, reads EOF."""
    errors = collections.Counter()
    state = {}
    for idx, s in conns:
        msg = f"conn-{idx:010d}-swarm!!\n".encode()
        assert len(msg) == 24
        try:
            s.send(msg)  # 24 bytes always fit an empty send buffer
        except OSError as e:
            errors[type(e).__name__] += 1
            s.close()
            continue
        state[s] = [msg, b"", False]
        sel.register(s, selectors.EVENT_READ)
    ok = 0
    deadline = time.monotonic() + timeout
    while state and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            st = state[s]
            try:
                b = s.recv(4096)
            except OSError as e:
                errors[type(e).__name__] += 1
                b = None
            if b:
                st[1] += b
                if len(st[1]) > len(st[0]) or not st[0].startswith(st[1]):
                    errors["wrong_echo"] += 1
                elif st[1] == st[0] and not st[2]:
                    s.shutdown(socket.SHUT_WR)  # the echo app closes after our FIN
                    st[2] = True
                continue
            if b is not None:
                if st[2] and st[1] == st[0]:
                    ok += 1
                else:
                    errors["early_eof"] += 1
            sel.unregister(s)
            del state[s]
            s.close()
    for s in list(state):
        errors["exchange_timeout"] += 1
        sel.unregister(s)
        s.close()
    return ok, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--inflight", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--hold", action="store_true")
    a = ap.parse_args()
    raise_fd_limit(a.count + 256)
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    conns, errors = connect_all(a.host, a.port, a.count, a.inflight, a.timeout, sel)
    print(json.dumps({"phase": "held", "open": len(conns), "failed": sum(errors.values()),
                      "errors": {k: v for k, v in errors.items() if v},
                      "seconds": round(time.monotonic() - t0, 2)}), flush=True)
    if a.hold:
        sys.stdin.readline()
    t1 = time.monotonic()
    ok, errors = exchange_all(conns, a.timeout, sel)
    print(json.dumps({"phase": "done", "ok": ok, "bad": len(conns) - ok,
                      "errors": {k: v for k, v in errors.items() if v},
                      "seconds": round(time.monotonic() - t1, 2)}), flush=True)


if __name__ == "__main__":
    main()
