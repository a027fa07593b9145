"""A real HTTP/1.1 backend for the gateway tests: Python's http.server (ThreadingHTTPServer)
with keep-alive, counting the TCP connections it accepts so tests can prove connection reuse.

  python3 http_backend.py --addr 198.18.1.1 --port 9001 --name a

Prints "ready <port>" when listening. Endpoints (any method):
  /stats            {"conns": accepted connections, "requests": requests served}
  /slow?ms=N        answers after N ms
  /status/N         answers status N
  /chunked?n=K      a chunked response of K chunks
  /big?bytes=N      N bytes of a known pattern (Content-Length)
  anything else     JSON: backend name, method, path, headers, body length and sha256
"""
import argparse
import hashlib
import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
COUNTS = {"conns": 0, "requests": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body are two writes: without TCP_NODELAY the second waits for the client's
    # delayed ACK (40 ms per request, whoever the client is).
    disable_nagle_algorithm = True
    server_version = "sluice-test-backend"

    def setup(self):
        super().setup()
        with LOCK:
            COUNTS["conns"] += 1

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        with LOCK:
            COUNTS["requests"] += 1
        body = self._body()
        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path == "/stats":
            with LOCK:
                return self._send(200, json.dumps(COUNTS).encode())
        if u.path == "/slow":
            time.sleep(int(q.get("ms", ["1000"])[0]) / 1000)
        if u.path.startswith("/status/"):
            code = int(u.path.split("/")[2])
            return self._send(code, f"status {code}\n".encode(), "text/plain")
        if u.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(q.get("n", ["3"])[0])):
                chunk = f"chunk {i} from {self.server.name}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        if u.path == "/big":
            n = int(q.get("bytes", ["1048576"])[0])
            pattern = bytes(i % 251 for i in range(251))
            data = (pattern * (n // 251 + 1))[:n]
            return self._send(200, data, "application/octet-stream")
        doc = {
            "backend": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self._send(200, json.dumps(doc).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A proxy resets an upstream connection whose client went away mid-request (wrk
        # stopping, a test's timeout): expected, not worth a traceback on stderr.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="0.0.0.0")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="backend")
    a = ap.parse_args()
    srv = Server((a.addr, a.port), Handler)
    srv.name = a.name
    print(f"ready {a.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
