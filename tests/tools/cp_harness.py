"""sluice-ctrlplane for integration tests: a daemon with its own instance name, run dir, state
dir and shm dir (all temporary, removed by cleanup()), plus sluicectl against it."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile

from testbed import build_dir, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.path.join(build_dir(), "ctrlplane", "daemon", "sluice-ctrlplane")
CTL = os.path.join(build_dir(), "ctrlplane", "cli", "sluicectl")


class ControlPlane:
    def __init__(self, tag, config):
        self.instance = f"it{tag}"
        self.config = config
        self.dir = tempfile.mkdtemp(prefix="sluice-cp-")
        self.shm = tempfile.mkdtemp(prefix="sluice-cp-", dir="/dev/shm")
        self.run = os.path.join(self.dir, "run")
        os.makedirs(self.run)
        self.proc = None

    def dataplane_args(self):
        return ["--instance", self.instance, "--shm-dir", self.shm]

    def start(self):
        self.log = open(os.path.join(self.dir, "daemon.log"), "a")
        seen = len(self.text()) if os.path.exists(os.path.join(self.dir, "daemon.log")) else 0
        self.proc = subprocess.Popen(
            [DAEMON, "--instance", self.instance, "--run-dir", self.run, "--state-dir", self.dir,
             "--shm-dir", self.shm, "--metrics", "127.0.0.1:0", "--config", self.config],
            stdout=subprocess.DEVNULL, stderr=self.log)
        wait_for(lambda: self.proc.poll() is None and
                 "sluice-ctrlplane running" in self.text()[seen:], 10, "the daemon to start")
        return self

    def text(self):
        with open(os.path.join(self.dir, "daemon.log")) as f:
            return f.read()

    def ctl_raw(self, *args, json_out=True):
        cmd = [CTL, "-i", self.instance, "--socket",
               os.path.join(self.run, f"{self.instance}.sock")]
        if json_out:
            cmd += ["-o", "json"]
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=20)

    def ctl(self, *args):
        r = self.ctl_raw(*args)
        assert r.returncode == 0, r.stderr + r.stdout
        return json.loads(r.stdout)

    def apply(self, text):
        """Applies a whole YAML document through `sluicectl config apply -f`."""
        path = os.path.join(self.dir, "apply.yaml")
        with open(path, "w") as f:
            f.write(text)
        return self.ctl("config", "apply", "-f", path)

    def applied(self):
        st = self.ctl("status")
        return st["generation"], [l["applied_generation"] for l in st["lcores"] if l.get("alive")]

    def wait_applied(self, timeout=10):
        """Waits until every live lcore reports the published generation; returns it."""
        def done():
            gen, lc = self.applied()
            return gen if lc and all(g == gen for g in lc) else None
        return wait_for(done, timeout, "every lcore to apply the published generation")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)


@contextlib.contextmanager
def running(bed, config_text):
    """A started ControlPlane for `bed` whose config file holds config_text; cleaned up after."""
    path = os.path.join(bed.workdir(), "ctrlplane.yaml")
    with open(path, "w") as f:
        f.write(config_text)
    c = ControlPlane(bed.tag, path)
    try:
        yield c.start()
    finally:
        c.cleanup()
