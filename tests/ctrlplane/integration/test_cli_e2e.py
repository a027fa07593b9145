"""sluicectl end to end against a real sluice-ctrlplane: every verb, -o json parsed with a JSON
parser, exit codes (0 ok, 1 refused, 2 usage, 3 unreachable), dry runs that change nothing."""
import json
import os

import pytest

from conftest import CONFIGS, CTL
import subprocess


def names(objs):
    return [o["name"] for o in objs]


def test_every_object_verb_edits_through_the_daemon(env, daemon):
    g0 = env.ctl_json("status")["generation"]
    assert g0 == 1

    r = env.ctl_json("cluster", "add", "api", "--endpoint", "127.0.0.1:8001",
                     "--endpoint", "[::1]:8002", "--lb", "least_request")
    assert r["generation"] == 2 and r["diff"]["clusters"]["added"] == ["api"]
    assert "api" in names(env.ctl_json("cluster", "list"))
    assert env.ctl_json("cluster", "show", "api")["lb_policy"] == "least_request"

    env.ctl_json("endpoint", "add", "api", "127.0.0.1:8003", "--weight", "5")
    eps = env.ctl_json("endpoint", "list", "api")
    assert {"address": "127.0.0.1", "port": 8003, "weight": 5} in eps
    env.ctl_json("endpoint", "del", "api", "127.0.0.1:8003")
    assert len(env.ctl_json("endpoint", "list", "api")) == 2

    env.ctl_json("route", "add", "api", "--cluster", "api", "--path-prefix", "/api/",
                 "--before", "all")
    assert names(env.ctl_json("route", "list")) == ["api", "all"]  # order kept: first match wins
    assert env.ctl_json("route", "show", "api")["match"]["path"] == {"prefix": "/api/"}
    env.ctl_json("route", "set", "api", "--cluster", "backend", "--host", "*.example.com")
    assert env.ctl_json("route", "show", "api")["action"]["cluster"] == "backend"

    env.ctl_json("limit", "add", "per_ip", "--rate", "0.5", "--key", "client_ip")
    assert env.ctl_json("limit", "show", "per_ip")["rate"] == 0.5
    assert names(env.ctl_json("limit", "list")) == ["per_ip"]

    env.ctl_json("breaker", "set", "api", "--max-requests", "64")
    b = env.ctl_json("breaker", "show", "api")
    assert b["max_requests"] == 64 and b["max_connections"] == 1024
    assert len(env.ctl_json("breaker", "list")) == 2
    env.ctl_json("breaker", "reset", "api")
    assert env.ctl_json("breaker", "show", "api")["max_requests"] == 1024

    env.ctl_json("listener", "add", "admin", "--address", "::1", "--port", "9100",
                 "--protocol", "tcp")
    assert env.ctl_json("listener", "show", "admin") == {
        "name": "admin", "address": "::1", "port": 9100, "protocol": "tcp"}
    assert names(env.ctl_json("listener", "list")) == ["web", "admin"]

    for obj, name in [("listener", "admin"), ("limit", "per_ip"), ("route", "api")]:
        env.ctl_json(obj, "del", name)
    env.ctl_json("cluster", "del", "api")
    cfg = env.ctl_json("config", "get")
    assert cfg["generation"] == 14
    assert names(cfg["config"]["clusters"]) == ["backend"]

    # Table output works for every list as well.
    for obj in ["route", "cluster", "limit", "breaker", "listener"]:
        r = env.ctl(obj, "list", json_out=False, check=0)
        assert r.stdout.splitlines()[0].split()[0] in ("NAME", "CLUSTER")


def test_route_match_flags(env, daemon):
    env.ctl_json("route", "add", "prod", "--cluster", "backend", "--listener", "web",
                 "--header", "X-Env=prod", "--header", "x-trace", "--client", "10.0.0.0/8",
                 "--client", "2001:db8::/32", "--before", "all")
    m = env.ctl_json("route", "show", "prod")["match"]
    assert m["listener"] == "web"
    assert m["headers"] == [{"name": "X-Env", "exact": "prod"},
                            {"name": "x-trace", "present": True}]
    assert m["client_cidrs"] == ["10.0.0.0/8", "2001:db8::/32"]
    g = env.ctl_json("status")["generation"]
    # Wrong use is refused by the CLI (exit 2) and sends nothing.
    for bad in (["--command", "256"], ["--header", "=v"], ["--command", "x"]):
        r = env.ctl("route", "add", "bad", "--cluster", "backend", *bad, json_out=False)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
    # A listener that does not exist is refused by the daemon's validation (exit 1).
    r = env.ctl("route", "add", "bad", "--cluster", "backend", "--listener", "nope",
                json_out=False)
    assert r.returncode == 1 and "nope" in r.stderr
    assert env.ctl_json("status")["generation"] == g


def test_refused_edit_changes_nothing_and_prints_the_daemons_error(env, daemon):
    before = env.ctl_json("config", "get")
    persisted = open(env.persisted).read()
    r = env.ctl("route", "add", "bad", "--cluster", "nope", check=1)
    assert "routes[1].action.cluster: unknown cluster 'nope'" in r.stderr
    assert "generation 1 stays in force" in r.stderr
    assert json.loads(r.stdout)["ok"] is False
    r = env.ctl("cluster", "del", "backend", check=1)  # still referenced by route 'all'
    assert "unknown cluster 'backend'" in r.stderr
    r = env.ctl("route", "del", "nope", check=1)
    assert "no route named 'nope'" in r.stderr
    r = env.ctl("cluster", "add", "backend", "--endpoint", "127.0.0.1:1", check=1)
    assert "already exists" in r.stderr
    r = env.ctl("endpoint", "add", "backend", "10.0.0.1:0", check=1)
    assert "port" in r.stderr
    assert env.ctl_json("config", "get") == before
    assert open(env.persisted).read() == persisted


def test_config_apply_dry_run_changes_nothing_and_prints_the_diff(env, daemon):
    full = os.path.join(CONFIGS, "full.yaml")
    before = env.ctl_json("config", "get")
    r = env.ctl_json("config", "apply", "-f", full, "--dry-run")
    assert r["dry_run"] is True and r["generation"] == 1
    assert r["diff"]["clusters"] == {"added": ["api", "static", "canary"], "removed": ["backend"],
                                     "changed": []}
    assert sorted(r["diff"]["routes"]["added"]) == ["api_v1", "assets", "fallback", "frames",
                                                 "postgres"]
    assert env.ctl_json("config", "get") == before
    t = env.ctl("config", "apply", "-f", full, "--dry-run", json_out=False, check=0)
    assert "+ clusters/api" in t.stdout and "- clusters/backend" in t.stdout
    assert "dry run: nothing applied" in t.stdout

    r = env.ctl_json("config", "apply", "-f", full)
    assert r["generation"] == 2
    assert len(env.ctl_json("route", "list")) == 5
    # The same file again: nothing changes in the diff.
    t = env.ctl("config", "apply", "-f", full, "--dry-run", json_out=False, check=0)
    assert "no changes" in t.stdout

    bad = os.path.join(CONFIGS, "bad_unknown_cluster.yaml")
    r = env.ctl("config", "apply", "-f", bad, check=1)
    assert f"{bad}:" in r.stderr and "routes[0].action.cluster" in r.stderr
    assert env.ctl_json("status")["generation"] == 2


def test_status_and_stats_without_a_dataplane(env, daemon):
    s = env.ctl_json("status")
    assert s["daemon"]["instance"] == env.instance
    assert s["dataplane"]["alive"] is False and s["lcores"] == []
    st = env.ctl_json("stats")
    assert st["counters"]["requests"] == 0 and "drops_per_second" in st
    r = env.ctl("stats", "--watch", "--count", "2", "--interval", "0.1", check=0)
    assert len([l for l in r.stdout.splitlines() if l.strip()]) == 2
    assert "daemon:" in env.ctl("status", json_out=False, check=0).stdout


VERBS = [["route", v] for v in ["add", "del", "list", "show", "set"]] + \
        [["cluster", v] for v in ["add", "del", "list", "show", "set"]] + \
        [["endpoint", v] for v in ["add", "del", "list"]] + \
        [["limit", v] for v in ["add", "del", "list", "show", "set"]] + \
        [["breaker", v] for v in ["set", "reset", "show", "list"]] + \
        [["listener", v] for v in ["add", "del", "list", "show", "set"]] + \
        [["config", "get"], ["config", "apply"], ["status"], ["stats"], []]


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: "_".join(v) or "top")
def test_every_verb_has_help(verb):
    r = subprocess.run([CTL, *verb, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "Usage" in r.stdout


def test_exit_codes_for_usage_and_unreachable_daemon(env):
    r = env.ctl("route", json_out=False)
    assert r.returncode == 2
    r = env.ctl("route", "add", json_out=False)  # missing NAME
    assert r.returncode == 2
    r = env.ctl("-o", "yaml", "status", json_out=False)
    assert r.returncode == 2
    r = env.ctl("status", json_out=False)
    assert r.returncode == 3
    assert f"cannot reach the daemon at {env.socket}" in r.stderr
    assert "is sluice-ctrlplane running?" in r.stderr
