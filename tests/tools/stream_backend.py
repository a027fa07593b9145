"""Raw TCP backends for the gateway's L4 and binary-protocol tests.

  python3 stream_backend.py --addr A --port P --mode sha     # reads to EOF, answers
                                                             # "<bytes> <sha256>\\n", closes
  python3 stream_backend.py --addr A --port P --mode frames  # answers each binary frame with a
                                                             # frame of the same command whose
                                                             # payload is b"ok:" + payload
Prints "ready <port>" when listening. One thread per connection.
"""
import argparse
import hashlib
import socket
import struct
import sys
import threading
import zlib

MAGIC = 0xABCDEF01


def frame(cmd, payload, version=1):
    return (struct.pack(">IBBI", MAGIC, version, cmd, len(payload)) + payload +
            struct.pack(">I", zlib.crc32(payload) & 0xFFFFFFFF))


def serve_sha(c):
    h = hashlib.sha256()
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        h.update(d)
        n += len(d)
    c.sendall(f"{n} {h.hexdigest()}\n".encode())
    c.shutdown(socket.SHUT_WR)


def serve_frames(c):
    buf = b""
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        buf += d
        while len(buf) >= 10:
            magic, ver, cmd, n = struct.unpack(">IBBI", buf[:10])
            if len(buf) < 14 + n:
                break
            payload = buf[10:10 + n]
            buf = buf[14 + n:]
            c.sendall(frame(cmd, b"ok:" + payload))
    c.shutdown(socket.SHUT_WR)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="0.0.0.0")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["sha", "frames"], required=True)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(64)
    print(f"ready {a.port}", flush=True)
    fn = serve_sha if a.mode == "sha" else serve_frames
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda: (fn(c), c.close()), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
