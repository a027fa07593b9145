"""The gateway on an `afxdp:` port (issues 5 and 6), configured by the real control plane:

- an L7 verdict pushed down to XDP: a client that a rate limit with `xdp_block` refuses is then
  dropped by Sluice's XDP program, before the dataplane sees its packets, until the verdict
  expires;
- return traffic: the gateway reaches a backend through the same port and link as its clients
  (a single-NIC host), and the backend's answers to the gateway's upstream connection (to the
  service address, an ephemeral port) are steered to the dataplane, not to the kernel.

The dataplane runs on its own net_af_xdp device with the XDP program; namespaces, processes and
the program are removed even on failure (testbed fixtures)."""
import json
import os
import re
import subprocess
import time

import pytest

from cp_harness import REPO, running
from testbed import Dataplane, build_dir, wait_for

TOOLS = os.path.join(REPO, "tests", "tools")
TOOL = os.environ.get("SLUICE_XDP_TOOL", os.path.join(build_dir(), "ebpf", "cli", "sluice-xdp"))
# RFC 6335 §6 dynamic range: dataplane/net/tcp/ephemeral.hh, which the dataplane copies into
# the XDP program's config; checked against `sluice-xdp status` below.
EPHEMERAL = (49152, 65535)
BACKEND_PORT = 9080

CONFIG = """
listeners:
  - { name: web, address: 0.0.0.0, port: 8080 }
clusters:
  - name: nowhere
    endpoints: [ { address: 198.18.0.1, port: 9 } ]
    timeouts: { connect: 100ms }
rate_limits:
  - { name: tight, rate: 0.5, burst: 2, key: client_ip }
routes:
  - name: all
    action:
      cluster: nowhere
      filters:
        - name: rate_limit
          settings: { limit: tight, xdp_block: 3s }
"""


@pytest.fixture
def cp(bed):
    with running(bed, CONFIG) as c:
        yield c


def status_of(bed, timeout=2):
    r = bed.peer("curl", "-s", "-o", "/dev/null", "-m", str(timeout), "-w", "%{http_code}",
                 f"http://{bed.dp_ip()}:8080/", timeout=timeout + 5)
    return int(r.stdout or 0)  # 0: no answer (dropped)


def test_rate_limited_client_is_dropped_in_xdp_until_the_verdict_expires(bed, cp):
    dp = Dataplane(bed, "xdp", extra=cp.dataplane_args())
    dp.port_extra = ",services=8080"
    dp.start()
    cp.wait_applied()
    # The burst of 2 is admitted (503: nothing listens on the peer's port 9, and its RST, an
    # answer to the gateway's own connection, is steered to the dataplane as return traffic),
    # the third is refused.
    codes = [status_of(bed) for _ in range(3)]
    assert codes == [503, 503, 429], codes
    # Now the XDP program drops the client's SYNs: no answer at all.
    assert wait_for(lambda: status_of(bed, timeout=1) == 0, 5, "the verdict to take effect")
    t_blocked = time.monotonic()
    # ... until the 3 s verdict expires; then the gateway answers again.
    code = wait_for(lambda: status_of(bed, timeout=1) or None, 10, "the verdict to expire")
    assert code in (429, 503), code
    assert time.monotonic() - t_blocked < 6
    assert "XDP verdicts requested but unavailable" not in dp.log()
    assert dp.stop() == 0, dp.log()


# The backend listens in the *peer* namespace, on the same veth as the clients: the gateway's
# upstream connection leaves and returns through its one afxdp: port.
RETURN_CONFIG = f"""
listeners:
  - {{ name: web, address: 0.0.0.0, port: 8080 }}
clusters:
  - name: same_link
    endpoints: [ {{ address: 198.18.0.1, port: {BACKEND_PORT} }} ]
    timeouts: {{ connect: 2s }}
routes:
  - name: all
    action: {{ cluster: same_link }}
"""


def xdp_tool(dp, *args):
    r = dp.in_ns(TOOL, *args, check=True)
    return r.stdout


def xdp_stats(dp):
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", xdp_tool(dp, "stats"), re.M)}


@pytest.mark.skipif(not os.access(TOOL, os.X_OK), reason=f"{TOOL} not built")
def test_backend_on_the_same_afxdp_link_answers_through_the_gateway(bed):
    backend = bed.peer_popen("python3", os.path.join(TOOLS, "http_backend.py"), "--addr",
                             bed.peer_ip(), "--port", str(BACKEND_PORT), "--name", "same-link",
                             stdout=subprocess.PIPE, text=True)
    try:
        line = backend.stdout.readline()
        assert line.startswith("ready"), line
        with running(bed, RETURN_CONFIG) as cp:
            dp = Dataplane(bed, "xdp", extra=cp.dataplane_args())
            dp.port_extra = ",services=8080"
            dp.start()
            cp.wait_applied()
            status = xdp_tool(dp, "status")
            assert f"return_ports min={EPHEMERAL[0]} max={EPHEMERAL[1]}" in status, status
            before = xdp_stats(dp)
            codes = []
            for _ in range(3):
                r = bed.peer("curl", "-s", "-m", "5", "-w", "\n%{http_code}",
                             f"http://{bed.dp_ip()}:8080/hello", timeout=15)
                body, _, code = r.stdout.rpartition("\n")
                codes.append(code)
                if code == "200":
                    assert json.loads(body)["backend"] == "same-link", body
            assert codes == ["200"] * 3, (codes, dp.log())
            after = xdp_stats(dp)
            # The backend's SYN-ACK and data went to the dataplane as return traffic.
            assert after["steer_return"] - before["steer_return"] >= 2, (before, after)
            assert dp.stop() == 0, dp.log()
    finally:
        backend.kill()
        backend.wait(timeout=10)
