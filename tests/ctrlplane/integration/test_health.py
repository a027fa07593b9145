"""`sluicectl cluster health` end to end: the fake dataplane publishes the stats segment's
endpoint-health table with the real writer (the first endpoint of each cluster open, the others
closed) and the daemon reads it back through the real reader; refusals when no dataplane
publishes, when the one that did has exited, and for a cluster the table does not hold."""
import json
import signal
import subprocess

from conftest import CTL, FakeDataplane, settle, wait_for


def health_rows(env, *args):
    r = env.ctl("cluster", "health", *args)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def test_health_without_a_dataplane_says_so(env, daemon):
    r = env.ctl("cluster", "health", json_out=False, check=1)
    assert "no dataplane has published endpoint health" in r.stderr, r.stderr
    assert env.instance in r.stderr


def test_health_lists_each_endpoint_with_state_ejections_and_time_left(env, daemon):
    dp = FakeDataplane(env)
    dp.start("--health")
    gen = settle(env, daemon, dp)
    h = wait_for(lambda: (j := health_rows(env)) and j["dataplane"]["config_generation"] == gen
                 and j, 5, "the fake dataplane's endpoint-health table")
    assert h["ok"] and h["stale"] is False and h["dropped"] == 0
    assert h["dataplane"]["pid"] == dp.proc.pid
    assert len(h["endpoints"]) == 1
    e = h["endpoints"][0]
    assert e["cluster"] == "backend" and e["endpoint"] == "127.0.0.1:9000"
    assert e["address"] == "127.0.0.1" and e["port"] == 9000
    assert e["state"] == "open" and e["times_ejected"] == 2 and e["consecutive_failures"] == 5
    assert 25.0 <= e["ejection_remaining_s"] <= 30.0, e
    assert e["active_health"] == "unknown"

    # A new endpoint appears closed once the dataplane runs the new config.
    env.ctl("endpoint", "add", "backend", "127.0.0.2:9001", check=0)
    h = wait_for(lambda: (j := health_rows(env, "backend")) and len(j["endpoints"]) == 2 and j,
                 5, "the second endpoint in the table")
    second = h["endpoints"][1]
    assert second["endpoint"] == "127.0.0.2:9001" and second["state"] == "closed"
    assert second["ejection_remaining_s"] is None and second["times_ejected"] == 0

    table = env.ctl("cluster", "health", json_out=False, check=0).stdout
    assert "CLUSTER" in table and "EJECTION_LEFT" in table
    assert "127.0.0.1:9000" in table and "open" in table and "closed" in table

    r = env.ctl("cluster", "health", "nosuch", json_out=False, check=1)
    assert "no endpoints of cluster 'nosuch'" in r.stderr and "backend" in r.stderr

    dp.kill(signal.SIGKILL)
    r = env.ctl("cluster", "health", json_out=False, check=1)
    assert "no dataplane attached" in r.stderr and "has exited" in r.stderr, r.stderr


def test_cluster_health_has_help():
    r = subprocess.run([CTL, "cluster", "health", "--help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0 and "Usage" in r.stdout
