"""The gateway pushing an L7 verdict down to XDP (issues 5 and 6): a client that a rate limit
with `xdp_block` refuses is then dropped by Sluice's XDP program, before the dataplane sees its
packets, until the verdict expires. The dataplane runs on its own net_af_xdp device with the XDP
program (port mode `afxdp:`), configured by the real control plane."""
import time

import pytest

from cp_harness import running
from testbed import Dataplane, wait_for

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
    # The burst of 2 is admitted (504: the cluster has no backend), the third is refused.
    codes = [status_of(bed) for _ in range(3)]
    assert codes == [504, 504, 429], codes
    # Now the XDP program drops the client's SYNs: no answer at all.
    assert wait_for(lambda: status_of(bed, timeout=1) == 0, 5, "the verdict to take effect")
    t_blocked = time.monotonic()
    # ... until the 3 s verdict expires; then the gateway answers again.
    code = wait_for(lambda: status_of(bed, timeout=1) or None, 10, "the verdict to expire")
    assert code in (429, 504), code
    assert time.monotonic() - t_blocked < 6
    assert "XDP verdicts requested but unavailable" not in dp.log()
    assert dp.stop() == 0, dp.log()
