"""Fixtures for the control-plane end-to-end tests: a daemon with a unique instance, a temp
run/state dir and metrics on a free loopback port; the fake dataplane; sluicectl. Every process
started here is killed and every segment removed at teardown, whether the test passed or not.
No sleeps stand in for synchronisation: wait_for() polls a condition with a bounded timeout."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import itertools

import pytest

DAEMON = os.environ.get("SLUICE_CTRLPLANE", "build/ctrlplane/daemon/sluice-ctrlplane")
CTL = os.environ.get("SLUICECTL", "build/ctrlplane/cli/sluicectl")
FAKE_DP = os.environ.get("SLUICE_FAKE_DATAPLANE", "build/tests/ctrlplane/ctrlplane_fake_dataplane")
CONFIGS = os.environ.get("SLUICE_CONFIG_DIR", "tests/ctrlplane/configs")
SHM_DIR = "/dev/shm"
_counter = itertools.count()


def wait_for(cond, timeout=5.0, what="condition"):
    """Polls cond() every 10 ms until it returns a truthy value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Daemon:
    def __init__(self, env):
        self.env = env
        self.proc = None
        self.log_path = None
        self.metrics_port = None

    def start(self, *extra, expect_running=True, config=None):
        n = next(_counter)
        self.log_path = os.path.join(self.env.dir, f"daemon{n}.log")
        args = [DAEMON, "--instance", self.env.instance, "--run-dir", self.env.run_dir,
                "--state-dir", self.env.state_dir, "--metrics", "127.0.0.1:0"]
        if config:
            args += ["--config", config]
        args += list(extra)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stderr=self.log, stdout=subprocess.DEVNULL)
        self.env.procs.append(self.proc)
        if not expect_running:
            self.proc.wait(timeout=10)
            return self.proc.returncode
        line = wait_for(lambda: self._running_line(), 10, "the daemon to start")
        self.metrics_port = int(re.search(r"metrics=127\.0\.0\.1:(\d+)", line).group(1))
        return None

    def _running_line(self):
        text = open(self.log_path).read()
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{text}")
        m = re.search(r'^level=info msg="sluice-ctrlplane running".*$', text, re.M)
        return m.group(0) if m else None

    def text(self):
        return open(self.log_path).read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


class FakeDataplane:
    def __init__(self, env):
        self.env = env
        self.proc = None
        self.status_path = None

    def start(self, *extra):
        n = next(_counter)
        self.status_path = os.path.join(self.env.dir, f"dp{n}.json")
        self.proc = subprocess.Popen([FAKE_DP, "--instance", self.env.instance, "--shm-dir",
                                      SHM_DIR, "--status", self.status_path, *extra])
        self.env.procs.append(self.proc)
        wait_for(lambda: self.status(), 5, "the fake dataplane's first status")

    def status(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"fake dataplane exited with {self.proc.returncode}")
        try:
            with open(self.status_path) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


def settle(env, daemon, dp):
    """A dataplane started after the daemon gets one republish; waits for it and for the
    dataplane to report it. Returns the generation."""
    wait_for(lambda: "republished the config for new lcores" in daemon.text(), 2,
             "the republish for the new lcores")
    gen = env.ctl_json("status")["generation"]
    wait_for(lambda: (s := dp.status()) and s["generation"] == gen and s["snapshot_ok"], 2,
             f"the dataplane to apply generation {gen}")
    return gen


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-cp-")
        os.chmod(self.dir, 0o755)  # so the non-root test is refused by the socket, not the dir
        self.instance = f"cpt{os.getpid()}-{next(_counter)}"
        self.run_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.run_dir, f"{self.instance}.sock")
        self.persisted = os.path.join(self.state_dir, f"{self.instance}.yaml")
        self.procs = []

    def ctl(self, *args, json_out=True, user=None, check=None):
        cmd = [CTL, "--socket", self.socket, *args]
        if json_out:
            cmd += ["-o", "json"]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        if check is not None:
            assert r.returncode == check, f"{cmd} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def ctl_json(self, *args):
        r = self.ctl(*args, check=0)
        return json.loads(r.stdout)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        for name in os.listdir(SHM_DIR):
            if name.startswith(f"sluice-{self.instance}-"):
                os.unlink(os.path.join(SHM_DIR, name))
        shutil.rmtree(self.dir, ignore_errors=True)


def _sweep_stale():
    """Segments of earlier test runs killed before their teardown (their pid is gone)."""
    for name in os.listdir(SHM_DIR):
        m = re.match(r"sluice-cpt(\d+)-", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass


@pytest.fixture
def env():
    _sweep_stale()
    e = Env()
    try:
        yield e
    finally:
        e.cleanup()


@pytest.fixture
def daemon(env):
    d = Daemon(env)
    d.start(config=os.path.join(CONFIGS, "minimal.yaml"))
    return d
