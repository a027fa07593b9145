"""scripts/bind-nic on this machine, without ever binding anything: every call that names a
device passes --dry-run, so even a broken refusal would only print a command. Checks that the
interface carrying the default route (and an SSH session) is refused, that --force only then
prints the dpdk-devbind.py command, that unidentifiable names are refused, and --status.
"""
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "scripts", "bind-nic")


def bind_nic(*args, env=None):
    e = dict(os.environ)
    e.pop("SSH_CONNECTION", None)
    e.update(env or {})
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60, env=e)


def default_iface():
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True,
                         text=True, timeout=10).stdout
    routes = json.loads(out or "[]")
    return routes[0]["dev"] if routes else None


def driver_of(iface):
    link = f"/sys/class/net/{iface}/device/driver"
    return os.path.realpath(link) if os.path.exists(link) else None


@pytest.fixture
def uplink():
    dev = default_iface()
    if dev is None:
        pytest.skip("no default route on this machine")
    return dev


def test_status_lists_devices_and_protected_interfaces(uplink):
    r = bind_nic("--status")
    assert r.returncode == 0, r.stderr
    assert "Protected (refused without --force):" in r.stdout
    assert f"  {uplink}: default route" in r.stdout, r.stdout


def test_default_route_interface_is_refused(uplink):
    before = driver_of(uplink)
    r = bind_nic("--dry-run", "bind", uplink, "vfio-pci")
    if "is not a PCI network device" in r.stderr:
        pytest.skip(f"{uplink} is not on PCI here")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "refused" in r.stderr and "default route" in r.stderr, r.stderr
    assert "would run" not in r.stdout
    assert driver_of(uplink) == before


def test_default_route_interface_is_refused_by_pci_address_too(uplink):
    real = os.path.realpath(f"/sys/class/net/{uplink}/device")
    pci = next((c for c in reversed(real.split("/")) if c.count(":") == 2 and "." in c), None)
    if pci is None:
        pytest.skip(f"{uplink} is not on PCI here")
    r = bind_nic("--dry-run", "unbind", pci)
    assert r.returncode == 1 and "default route" in r.stderr, r.stdout + r.stderr


def test_ssh_session_is_named_among_the_reasons(uplink):
    addrs = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", uplink],
                                      capture_output=True, text=True, timeout=10).stdout)
    local = addrs[0]["addr_info"][0]["local"]
    r = bind_nic("--dry-run", "bind", uplink, "vfio-pci",
                 env={"SSH_CONNECTION": f"198.51.100.7 50000 {local} 22"})
    if "is not a PCI network device" in r.stderr:
        pytest.skip(f"{uplink} is not on PCI here")
    assert r.returncode == 1 and "SSH session" in r.stderr, r.stderr


def test_force_only_prints_the_command_in_dry_run(uplink):
    before = driver_of(uplink)
    r = bind_nic("--dry-run", "--force", "bind", uplink, "vfio-pci")
    if "is not a PCI network device" in r.stderr:
        pytest.skip(f"{uplink} is not on PCI here")
    assert r.returncode == 0, r.stderr
    assert "would run:" in r.stdout and "--bind=vfio-pci" in r.stdout, r.stdout
    assert driver_of(uplink) == before


@pytest.mark.parametrize("target", ["lo", "sl-no-such0", "../eth0", "0000:ff:1f.7"])
def test_unidentifiable_targets_are_refused_even_with_force(target):
    r = bind_nic("--dry-run", "--force", "bind", target, "vfio-pci")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "refused" in r.stderr, r.stderr


def test_bad_usage(uplink):
    assert bind_nic("bind", uplink).returncode == 2           # no driver
    assert bind_nic("unbind", uplink, "vfio-pci").returncode == 2
    assert bind_nic().returncode == 2
    assert bind_nic("--dry-run", "bind", uplink, "vfio;reboot").returncode == 1
