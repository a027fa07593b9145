"""Prometheus exposition on loopback, strict request parsing, and the documented modes of the
control socket and the shm segments (a non-root user is refused)."""
import os
import re
import shutil
import socket
import stat
import subprocess

import pytest

from conftest import SHM_DIR, FakeDataplane, settle, wait_for


def http(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def parse_exposition(text):
    """Minimal text-format 0.0.4 check: HELP/TYPE lines, then samples of declared metrics."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        m = re.match(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\S+)$', line)
        assert m, f"not exposition format: {line!r}"
        assert m.group(1) in types, f"sample without TYPE: {line}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    return types, samples


def test_metrics_parse_as_prometheus_text_and_sum_lcores(env, daemon):
    dp = FakeDataplane(env)
    dp.start("--lcores", "3")
    settle(env, daemon, dp)
    body = subprocess.run(["curl", "-s", f"http://127.0.0.1:{daemon.metrics_port}/metrics"],
                          capture_output=True, text=True, timeout=10).stdout
    head = http(daemon.metrics_port, b"GET /metrics HTTP/1.0\r\n\r\n").split("\r\n\r\n")[0]
    assert head.startswith("HTTP/1.0 200") and "text/plain; version=0.0.4" in head
    assert "# HELP sluice_requests_total " in body and "# TYPE sluice_requests_total counter" in body
    types, samples = parse_exposition(body)
    assert types["sluice_lcore_heartbeat_age_seconds"] == "gauge"
    assert samples["sluice_requests_total"] > 0
    assert samples["sluice_lcores_alive"] == 3
    gen = env.ctl_json("status")["generation"]
    for l in range(3):
        assert samples[f'sluice_lcore_applied_generation{{lcore="{l}"}}'] == gen
        assert samples[f'sluice_lcore_heartbeat_age_seconds{{lcore="{l}"}}'] < 1.0
    # Rates come from the 1 s history: after two samples requests/s is positive.
    wait_for(lambda: env.ctl_json("stats")["requests_per_second"] > 0, 3.5, "a request rate")
    st = env.ctl_json("stats")
    assert st["drops_per_second"] > 0 and st["lcores_alive"] == 3


@pytest.mark.parametrize("raw,status", [
    (b"garbage\r\n\r\n", 400),
    (b"GET  /metrics HTTP/1.0\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"GET metrics HTTP/1.0\r\n\r\n", 400),
    (b"get /metrics HTTP/1.0\r\n\r\n", 400),
    (b"POST /metrics HTTP/1.0\r\n\r\n", 405),
    (b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"GET /metrics HTTP/1.0\r\n\r\n", 200),
])
def test_metrics_request_line_is_parsed_strictly(env, daemon, raw, status):
    assert http(daemon.metrics_port, raw).startswith(f"HTTP/1.0 {status} ")


def test_metrics_listen_on_loopback_only_by_default():
    from conftest import DAEMON
    r = subprocess.run([DAEMON, "--help"], capture_output=True, text=True, timeout=10)
    assert "127.0.0.1:9145" in r.stdout


def test_socket_and_segments_have_documented_modes_and_non_root_is_refused(env, daemon):
    st = os.stat(env.socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    try:
        import grp
        sluice_gid = grp.getgrnam("sluice").gr_gid
    except KeyError:
        sluice_gid = 0
    assert st.st_uid == 0 and st.st_gid == sluice_gid
    for kind in ("config", "stats"):
        seg = os.stat(os.path.join(SHM_DIR, f"sluice-{env.instance}-{kind}"))
        assert stat.S_IMODE(seg.st_mode) == (0o660 if sluice_gid else 0o600)
    assert stat.S_IMODE(os.stat(env.persisted).st_mode) == 0o600
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run sluicectl as nobody")
    r = env.ctl("status", user="65534")
    assert r.returncode == 3
    assert "permission denied" in r.stderr and "group 'sluice'" in r.stderr
