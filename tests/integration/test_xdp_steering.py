"""The dataplane on its own net_af_xdp device (--port dev=afxdp:IF / dev=auto:IF) with the
Sluice XDP program: what is steered to it and what still reaches the kernel on the same veth.

The dataplane-side veth also carries a kernel address (198.18.0.3) next to the dataplane's own
(198.18.0.2, service port 80/tcp). Each test builds its own namespaces (tests/tools/testbed.py)
and removes them, the dataplane and its XDP program, even on failure. sluice-xdp reaches the
program's maps inside the dataplane's mount namespace (nsenter), where the dataplane mounted
its private bpffs. Traffic stays on the test's veth pair.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from testbed import Dataplane, build_dir, port_totals, sh

SERVICE_PORT = 80
KERNEL_IP = "198.18.0.3"  # kernel address on the dataplane's veth
TOOL = os.environ.get("SLUICE_XDP_TOOL", os.path.join(build_dir(), "ebpf", "cli", "sluice-xdp"))

pytestmark = [
    pytest.mark.skipif(shutil.which("ping") is None, reason="ping (iputils-ping) not installed"),
    pytest.mark.skipif(shutil.which("nsenter") is None, reason="nsenter (util-linux) missing"),
    pytest.mark.skipif(not os.access(TOOL, os.X_OK), reason=f"{TOOL} not built"),
]

# Connects with a bounded timeout and prints the outcome: "connected", "refused" or "timeout".
TCP_PROBE = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("timeout")
"""


def tcp_probe(bed, ip, port, timeout=1.5):
    r = bed.peer("python3", "-c", TCP_PROBE, ip, str(port), str(timeout), timeout=timeout + 10)
    return r.stdout.strip()


def xdp_stats(dp):
    r = dp.in_ns(TOOL, "stats", check=True)
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", r.stdout, re.M)}


def xdp_attached(bed):
    out = sh("ip", "-n", bed.dp_ns, "link", "show", bed.dp_if()).stdout
    return "prog/xdp" in out, out


def ping_ok(bed, ip, count=2):
    r = bed.peer("ping", "-c", str(count), "-i", "0.2", "-W", "1", ip, timeout=count + 10)
    m = re.search(r"(\d+) received", r.stdout)
    return int(m.group(1)) if m else 0


@pytest.fixture
def xbed(bed):
    sh("ip", "-n", bed.dp_ns, "addr", "add", f"{KERNEL_IP}/24", "dev", bed.dp_if())
    yield bed


def start(bed, mode="xdp"):
    dp = Dataplane(bed, mode)
    dp.port_extra = f",services={SERVICE_PORT}"
    return dp.start()


def test_service_syns_reach_the_dataplane_through_af_xdp(xbed):
    dp = start(xbed)
    log = dp.log()
    assert "created net_af_xdp_" in log, log
    assert re.search(r"(native|skb \(generic\)) XDP, program sluice_xdp", log), log
    assert re.search(r"AF_XDP socket\(s\) in (zero-copy|copy) mode", log), log
    before = xdp_stats(dp)
    for _ in range(2):
        # Sluice's TCP answers: no listener on the port, so RST (RFC 9293 §3.10.7.1).
        assert tcp_probe(xbed, xbed.dp_ip(), SERVICE_PORT) == "refused"
    after = xdp_stats(dp)
    t = port_totals(dp.stats())
    assert t["drops"]["tcp_no_socket"] >= 2, t
    assert t["events"]["tcp_reset_tx"] >= 2, t
    assert after["redirect"] - before["redirect"] >= 2, (before, after)
    assert after["steer_service"] - before["steer_service"] >= 2, (before, after)
    assert dp.stop() == 0, dp.log()


def test_ping_to_the_dataplane_address_is_answered_by_sluice(xbed):
    dp = start(xbed)
    before = xdp_stats(dp)
    assert ping_ok(xbed, xbed.dp_ip(), count=3) == 3, dp.log()
    t = port_totals(dp.stats())
    assert t["events"]["icmp_echo_reply_tx"] == 3, t
    assert xdp_stats(dp)["redirect"] - before["redirect"] >= 3
    assert dp.stop() == 0, dp.log()


def test_kernel_address_and_non_service_ports_still_reach_the_kernel(xbed):
    dp = start(xbed)
    # A kernel listener on the service *port* but the kernel's address: not a service.
    listener = subprocess.Popen(
        ["ip", "netns", "exec", xbed.dp_ns, "python3", "-c",
         "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,"
         "socket.SO_REUSEADDR,1)\n"
         f"s.bind(('{KERNEL_IP}',{SERVICE_PORT}))\ns.listen(8)\ns.settimeout(20)\n"
         "print('listening',flush=True)\n"
         "for _ in range(4):\n  c,_=s.accept(); c.close()\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        before = xdp_stats(dp)
        assert tcp_probe(xbed, KERNEL_IP, SERVICE_PORT) == "connected"
        assert tcp_probe(xbed, KERNEL_IP, 8081) == "refused"  # the kernel answered with RST
        assert ping_ok(xbed, KERNEL_IP) == 2
        after = xdp_stats(dp)
        assert after["pass_not_service"] > before["pass_not_service"], (before, after)
        assert after["pass_other_l4"] > before["pass_other_l4"], (before, after)
        # Nothing of that reached the dataplane.
        t = port_totals(dp.stats())
        assert t["drops"]["ipv4_proto_unhandled"] == 0, t
    finally:
        listener.kill()
        listener.wait(timeout=10)
    assert dp.stop() == 0, dp.log()


# From the dataplane namespace: connects from KERNEL_IP:<sport> to the peer and prints
# "connected" once the peer's SYN-ACK reached the *kernel*.
KERNEL_CONNECT = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
try:
    s.connect((sys.argv[3], int(sys.argv[4])))
    print("connected")
except OSError as e:
    print("failed", e)
"""


def test_return_range_steers_only_tcp_to_the_dataplanes_address(xbed):
    # The kernel's own connection from its address, with a source port inside the return
    # range (RFC 6335 dynamic ports, which Linux also uses), must still get its answers; the
    # dataplane's answers to the same port on *its* address are steered (counted).
    dp = start(xbed)
    assert "return_ports min=49152 max=65535" in dp.in_ns(TOOL, "status", check=True).stdout
    listener = xbed.peer_popen(
        "python3", "-c",
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        f"s.bind(('{xbed.peer_ip()}',7070))\ns.listen(8)\ns.settimeout(20)\n"
        "print('listening',flush=True)\nc,_=s.accept()\nc.close()\n",
        stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        before = xdp_stats(dp)
        r = sh("ip", "netns", "exec", xbed.dp_ns, "python3", "-c", KERNEL_CONNECT, KERNEL_IP,
               "50001", xbed.peer_ip(), "7070", timeout=15)
        assert r.stdout.strip() == "connected", r.stdout + r.stderr
        mid = xdp_stats(dp)
        assert mid["steer_return"] == before["steer_return"], (before, mid)
        assert mid["pass_not_service"] > before["pass_not_service"], (before, mid)
        # To the dataplane's address and a port in the range: steered, and Sluice's TCP
        # answers (no connection of its own there: RST, RFC 9293 §3.10.7.1).
        assert tcp_probe(xbed, xbed.dp_ip(), 50001) == "refused"
        after = xdp_stats(dp)
        assert after["steer_return"] - mid["steer_return"] >= 1, (mid, after)
    finally:
        listener.kill()
        listener.wait(timeout=10)
    assert dp.stop() == 0, dp.log()


def test_block_list_drops_a_cidr_and_unblocking_restores(xbed):
    dp = start(xbed)
    assert ping_ok(xbed, KERNEL_IP) == 2
    dp.in_ns(TOOL, "block", "198.18.0.0/30", check=True)
    try:
        before = xdp_stats(dp)
        assert ping_ok(xbed, KERNEL_IP) == 0
        assert ping_ok(xbed, xbed.dp_ip()) == 0
        assert xdp_stats(dp)["drop_blocklist"] - before["drop_blocklist"] >= 4
    finally:
        dp.in_ns(TOOL, "unblock", "198.18.0.0/30", check=True)
    assert ping_ok(xbed, KERNEL_IP) == 2
    assert ping_ok(xbed, xbed.dp_ip()) == 2
    assert dp.stop() == 0, dp.log()


def test_sigterm_detaches_and_sigkill_leftover_is_replaced_on_next_start(xbed):
    dp = start(xbed)
    assert xdp_attached(xbed)[0]
    assert dp.stop() == 0, dp.log()
    attached, out = xdp_attached(xbed)
    assert not attached, out
    assert "the af_xdp PMD detached the XDP program" in dp.log()

    dp = start(xbed)
    dp.proc.send_signal(signal.SIGKILL)
    dp.proc.wait(timeout=10)
    dp.kill()
    attached, out = xdp_attached(xbed)
    assert attached and "sluice_xdp" in out, out

    dp = start(xbed)
    assert "removed a stale sluice_xdp program" in dp.log(), dp.log()
    assert ping_ok(xbed, xbed.dp_ip()) == 2, dp.log()
    assert dp.stop() == 0, dp.log()
    assert not xdp_attached(xbed)[0]


# No headers (asm/types.h sits in a multiarch directory -target bpf does not search). 2: XDP_PASS.
FOREIGN_PROG = """
struct xdp_md;
__attribute__((section("xdp"), used)) int sl_foreign(struct xdp_md *ctx) { return 2; }
char _license[] __attribute__((section("license"), used)) = "GPL";
"""


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang not installed")
def test_foreign_xdp_program_is_refused_and_left_alone(xbed, tmp_path):
    src, obj = tmp_path / "foreign.c", tmp_path / "foreign.o"
    src.write_text(FOREIGN_PROG)
    sh("clang", "-O2", "-target", "bpf", "-c", str(src), "-o", str(obj))
    sh("ip", "-n", xbed.dp_ns, "link", "set", "dev", xbed.dp_if(), "xdpgeneric", "obj", str(obj),
       "sec", "xdp")
    try:
        dp = Dataplane(xbed, "xdp")
        dp.port_extra = f",services={SERVICE_PORT}"
        dp.start(expect_ready=False)
        assert dp.proc.wait(timeout=60) == 1, dp.log()
        dp.kill()
        assert "a foreign XDP program is attached" in dp.log() and "sl_foreign" in dp.log()
        attached, out = xdp_attached(xbed)
        assert attached and "sl_foreign" in out, out
    finally:
        sh("ip", "-n", xbed.dp_ns, "link", "set", "dev", xbed.dp_if(), "xdpgeneric", "off",
           check=False)


def test_auto_picks_af_xdp_on_a_veth(xbed):
    dp = start(xbed, mode="auto")
    log = dp.log()
    assert re.search(r"auto chose af_xdp: .*kernel netdev", log), log
    assert ping_ok(xbed, xbed.dp_ip()) == 2, dp.log()
    assert dp.stop() == 0, dp.log()
    assert not xdp_attached(xbed)[0]


def test_auto_falls_back_to_af_packet_where_the_driver_refuses_native_xdp(xbed):
    # veth refuses a (non-multi-buffer) XDP program while its peer's MTU exceeds one page; the
    # 22.11 PMD would then fail, so auto: must pick af_packet, and afxdp: must fail clearly.
    xbed.peer("ip", "link", "set", xbed.peer_if(), "mtu", "9000", check=True)
    dp = start(xbed, mode="auto")
    assert "auto chose af_packet" in dp.log() and "refused" in dp.log(), dp.log()
    assert ping_ok(xbed, xbed.dp_ip()) == 2, dp.log()
    assert dp.stop() == 0, dp.log()

    dp = Dataplane(xbed, "xdp")
    dp.port_extra = f",services={SERVICE_PORT}"
    dp.start(expect_ready=False)
    assert dp.proc.wait(timeout=60) == 1, dp.log()
    dp.kill()
    assert "Peer MTU is too large" in dp.log(), dp.log()  # the kernel's reason, via libbpf
    assert "dev=auto: picks af_packet" in dp.log(), dp.log()
    assert not xdp_attached(xbed)[0]
