"""docs/cli.md against the real sluicectl: every example command line in the CLI reference must
parse. Each one runs with a control socket that does not exist (and, for `xdp`, an empty bpffs
pin root), so nothing is changed anywhere: a line the CLI accepts gets as far as "cannot reach
the daemon" / "no Sluice XDP program is loaded" (exit 3), a line with a flag or verb that
drifted from the code is refused as wrong use (exit 2) and fails here with the CLI's message."""
import os
import re
import shlex
import subprocess
import tempfile

import pytest

from conftest import CTL

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "cli.md")

# A file that exists, for `config apply -f edge1.yaml` (the CLI reads it before connecting).
EDGE1 = """listeners:
  - { name: web, address: 0.0.0.0, port: 8080 }
clusters:
  - name: api
    endpoints: [ { address: 10.0.0.1, port: 8000 } ]
routes:
  - name: all
    action: { cluster: api }
"""


def doc_lines():
    """The `sluicectl ...` lines of docs/cli.md's code blocks, as argument lists: comments,
    shell redirections and the synopsis line dropped, optional parts `[...]` taken as given."""
    out = []
    in_code = False
    with open(DOC) as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
                continue
            if not in_code or not line.startswith("sluicectl "):
                continue
            text = re.sub(r"\s+#.*$", "", line.strip())
            if "OBJECT VERB" in text:
                continue  # the synopsis
            text = text.split(" > ")[0]
            text = text.replace(" [NAME]", "").replace("--count N", "--count 1")
            text = re.sub(r"\[(--[^\]|]*)(\|[^\]]*)?\]", r"\1", text)  # [--flag a|b] -> --flag a
            out.append(shlex.split(text)[1:])
    return out


LINES = doc_lines()


def test_the_reference_has_examples():
    assert len(LINES) >= 40  # a parser regression here would silently test nothing
    assert {a[0] for a in LINES} >= {"route", "cluster", "endpoint", "limit", "breaker",
                                     "listener", "config", "status", "stats", "xdp"}


@pytest.mark.parametrize("argv", LINES, ids=lambda a: " ".join(a)[:60])
def test_documented_command_line_parses(argv):
    with tempfile.TemporaryDirectory(prefix="sluice-clidoc-") as d:
        with open(os.path.join(d, "edge1.yaml"), "w") as f:
            f.write(EDGE1)
        args = list(argv)
        if args[0] == "xdp":  # never the machine's (or another test's) pinned maps
            args = ["xdp", "--pin-root", os.path.join(d, "bpf")] + args[1:]
        r = subprocess.run([os.path.abspath(CTL), "--socket", os.path.join(d, "none.sock"),
                            *args], capture_output=True, text=True, timeout=10, cwd=d)
    assert r.returncode == 3, (argv, r.returncode, r.stderr)
    assert "not expected" not in r.stderr and "is required" not in r.stderr, r.stderr
