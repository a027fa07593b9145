"""Faults with a fake dataplane (the real shm reader API in a separate process): the daemon is
SIGKILLed and restarted, the dataplane is restarted (same segments, or recreated), a second
daemon is started, the persisted file is corrupted, and a segment carries another ABI."""
import os
import signal
import struct
import time

from conftest import CONFIGS, SHM_DIR, Daemon, FakeDataplane, settle, wait_for


def current(dp, gen):
    s = dp.status()
    return s and s["generation"] == gen and s["snapshot_ok"] and s["checksum_ok"]


def test_sigkill_daemon_dataplane_keeps_config_and_restart_reattaches(env, daemon):
    dp = FakeDataplane(env)
    dp.start()
    # A dataplane that registers after the daemon started gets the config republished once.
    gen = settle(env, daemon, dp)
    assert gen == 2
    st = env.ctl_json("status")
    assert st["dataplane"]["alive"] and st["dataplane"]["lcores_current"] == 2

    daemon.kill(signal.SIGKILL)
    loops = dp.status()["loops"]
    wait_for(lambda: dp.status()["loops"] > loops + 20, 5, "the dataplane to keep running")
    s = dp.status()
    assert s["generation"] == gen and s["snapshot_ok"] and s["checksum_ok"] and s["routes"] == 1

    d2 = Daemon(env)
    d2.start()
    assert "re-attached: the persisted config is already live" in d2.text()
    assert env.ctl_json("status")["generation"] == gen  # the generation continues, no republish
    # No republish storm: over several watch intervals (100 ms each) nothing is published.
    # (Waiting for an absence has no condition to poll; 0.5 s is five watch cycles.)
    time.sleep(0.5)
    assert env.ctl_json("status")["generation"] == gen
    assert dp.status()["generation"] == gen
    # The generation continues with the next edit.
    assert env.ctl_json("listener", "add", "x", "--address", "127.0.0.1",
                        "--port", "8081")["generation"] == gen + 1


def test_dataplane_restart_gets_the_config_republished_within_one_second(env, daemon):
    dp = FakeDataplane(env)
    dp.start()
    gen = settle(env, daemon, dp)
    dp.kill(signal.SIGKILL)

    dp2 = FakeDataplane(env)
    t0 = time.monotonic()
    dp2.start()
    wait_for(lambda: env.ctl_json("status")["generation"] == gen + 1, 1.0, "a republish")
    wait_for(lambda: current(dp2, gen + 1), 1.0, "the new dataplane to report it")
    assert time.monotonic() - t0 < 1.5
    assert "republished the config for new lcores" in daemon.text()
    st = env.ctl_json("status")
    assert all(l["applied_generation"] == gen + 1 for l in st["lcores"] if l["alive"])


def test_dataplane_that_recreates_the_segments_gets_the_config(env, daemon):
    dp = FakeDataplane(env)
    dp.start()
    dp.kill(signal.SIGKILL)
    dp2 = FakeDataplane(env)
    dp2.start("--recreate")  # unlinks the segments and builds new ones
    wait_for(lambda: dp2.status()["generation"] >= 1 and current(dp2, dp2.status()["generation"]),
             1.0, "the config on the recreated segments")
    assert dp2.status()["routes"] == 1
    assert "segments were recreated" in daemon.text()
    # The daemon serves the new segments: an edit reaches the new dataplane.
    g = env.ctl_json("listener", "add", "y", "--address", "127.0.0.1", "--port", "8082")
    wait_for(lambda: current(dp2, g["generation"]), 1.0, "the edit on the new segments")


def test_second_daemon_for_the_same_instance_is_refused(env, daemon):
    d2 = Daemon(env)
    rc = d2.start(expect_running=False)
    assert rc == 1
    assert f"instance '{env.instance}' is already running (pid {daemon.proc.pid}" in d2.text()
    assert env.ctl_json("status")["daemon"]["pid"] == daemon.proc.pid


def test_corrupt_persisted_file_refuses_start_and_changes_nothing(env, daemon):
    dp = FakeDataplane(env)
    dp.start()
    gen = settle(env, daemon, dp)
    daemon.kill(signal.SIGTERM)
    with open(env.persisted, "a") as f:
        f.write("routes: [ {name: broken\n")  # truncated: not YAML
    d2 = Daemon(env)
    rc = d2.start(expect_running=False, config=os.path.join(CONFIGS, "full.yaml"))
    assert rc == 1
    assert f"persisted config {env.persisted} is invalid" in d2.text()
    assert f"{env.persisted}:" in d2.text()  # file:line:col of the first problem
    assert not os.path.exists(env.socket)
    s = dp.status()
    assert s["generation"] == gen and s["snapshot_ok"] and s["routes"] == 1


def test_invalid_start_config_names_file_line_and_field(env):
    bad = os.path.join(CONFIGS, "bad_unknown_cluster.yaml")
    d = Daemon(env)
    assert d.start(expect_running=False, config=bad) == 1
    assert f"{bad}:" in d.text() and "routes[0].action.cluster: unknown cluster" in d.text()
    assert not os.path.exists(env.persisted)


def test_abi_mismatch_is_refused_naming_both_versions(env):
    path = os.path.join(SHM_DIR, f"sluice-{env.instance}-config")
    hdr = struct.pack("<QII", 0x4643454349554C53, 99, 640).ljust(4096, b"\0")
    with open(path, "wb") as f:
        f.write(hdr)
    d = Daemon(env)
    assert d.start(expect_running=False, config=os.path.join(CONFIGS, "minimal.yaml")) == 1
    assert "ABI version mismatch: segment has version 99, this build expects version 2" in d.text()
