"""The real dataplane and the real control plane together: sluice-ctrlplane publishes, every
worker lcore of sluice-dataplane applies and reports, sluicectl shows it, and either side
survives the other restarting. Segments, sockets and state live in per-test temp directories;
namespaces come from the testbed. Everything is removed even on failure."""
import os
import time

import pytest

from cp_harness import REPO, ControlPlane
from testbed import Dataplane, wait_for

CONFIG = os.path.join(REPO, "tests", "ctrlplane", "configs", "minimal.yaml")


@pytest.fixture
def cp(bed):
    c = ControlPlane(bed.tag, CONFIG)
    try:
        yield c
    finally:
        c.cleanup()


def applied(status):
    return [l["applied_generation"] for l in status["lcores"] if l.get("alive")]


def test_every_lcore_applies_what_the_daemon_publishes_and_survives_its_restart(bed, cp):
    cp.start()
    dp = Dataplane(bed, "af_packet", lcores="0-1",
                   extra=["--instance", cp.instance, "--shm-dir", cp.shm]).start()
    # The daemon notices the new lcore (and republishes for it); then the worker reports the
    # generation in force.
    wait_for(lambda: "lcore registered" in cp.text(), 5, "the daemon to see the worker")
    s = wait_for(lambda: (lambda st: st if applied(st) == [st["generation"]] else None)(
        cp.ctl("status")), 5, "the worker lcore to report the published generation")
    gen = s["generation"]
    assert s["dataplane"]["alive"] is True
    assert [l["lcore"] for l in s["lcores"]] == [1]

    # A change through sluicectl reaches the worker.
    cp.ctl("cluster", "add", "spare", "--endpoint", "127.0.0.1:9100")
    new = cp.ctl("status")["generation"]
    assert new == gen + 1
    wait_for(lambda: applied(cp.ctl("status")) == [new], 5, "the new generation to be applied")

    # Counters flow from the worker's stats slot to sluicectl.
    assert bed.ping(count=3, interval=0.1)[1] == 3, dp.log()
    wait_for(lambda: cp.ctl("stats")["counters"]["rx_packets"] >= 3, 5, "rx counters")

    # The daemon dies: the dataplane keeps serving on its last snapshot.
    cp.kill()
    assert bed.ping(count=2, interval=0.1)[1] == 2, dp.log()
    # A new daemon re-attaches without republishing: the generation continues.
    cp.start()
    s = cp.ctl("status")
    assert s["generation"] == new, cp.text()
    assert applied(s) == [new]
    assert dp.stop() == 0, dp.log()
    # A clean stop releases the slots at once.
    wait_for(lambda: not cp.ctl("status")["dataplane"]["alive"], 5, "the slots to be released")


def test_the_daemon_republishes_for_a_restarted_dataplane(bed, cp):
    cp.start()
    extra = ["--instance", cp.instance, "--shm-dir", cp.shm]
    dp = Dataplane(bed, "af_packet", extra=extra).start()
    gen = cp.ctl("status")["generation"]
    wait_for(lambda: applied(cp.ctl("status")) == [gen], 5, "first dataplane to apply")
    dp.kill()  # no clean deregistration
    dp2 = Dataplane(bed, "af_packet", extra=extra).start()
    t0 = time.monotonic()
    wait_for(lambda: (lambda a: a and a[0] >= gen)(applied(cp.ctl("status"))), 5,
             "the restarted dataplane to report a generation")
    assert time.monotonic() - t0 < 1.5  # republished within the promised second (+ polling)
    assert dp2.stop() == 0, dp2.log()
