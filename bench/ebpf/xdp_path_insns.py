#!/usr/bin/env python3
"""Instructions each verdict path of a loaded Sluice XDP program executes.

Deterministic where BPF_PROG_TEST_RUN timings on a shared VM are not: the script takes the
program as the kernel holds it after the verifier (`bpftool prog dump xlated`, so inlined
ARRAY / PERCPU_ARRAY lookups count with their real instructions), emulates it on each frame
against the program's live maps (read with `bpftool map lookup`), and prints per frame the
xlated instructions executed, the map lookups it made (inlined ARRAY ones and calls) and
the kernel functions it called (LPM trie, hash, redirect, clock): each call costs 10-30 ns
on a kernel with SRSO "safe RET" (docs/performance.md), an instruction well under 1 ns.

Usage (root), while a process holds the program and its pins, e.g. xdp_verdict_bench:
    xdp_path_insns.py --pin-root /sys/fs/bpf/sluice-bench-PID --frames DIR CASE...
DIR holds one file per case-table frame (tests/ebpf/xdp_fuzz_seeds writes them). The
program is found as the XDP program named sluice_xdp that uses the pinned sl_config.

Model: packet, stack and map memory are emulated; the context reads of xdp_buff are
data (+0), data_end (+8) and the RX queue (0). Calls: trie_lookup_elem and
__htab_map_lookup_elem look the key up in the live map; xsk_map_redirect returns the
XDP_PASS fallback (no AF_XDP socket in test_run either); bpf_ktime_get_ns returns 1 s.
The emulator does not write back to the live maps.
"""
import argparse
import json
import os
import subprocess
import sys

MASK64 = (1 << 64) - 1
ARRAY_VALUE_OFF = 312  # offsetof(struct bpf_array, value) on this kernel: `r1 += 312` in xlated


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


class Ptr:
    """A pointer: region name plus byte offset."""

    def __init__(self, region, off):
        self.region, self.off = region, off

    def add(self, n):
        return Ptr(self.region, self.off + n)


class Maps:
    def __init__(self):
        self.info = {}
        self.cache = {}

    def meta(self, map_id):
        if map_id not in self.info:
            self.info[map_id] = bpftool("map", "show", "id", str(map_id))
        return self.info[map_id]

    def lookup(self, map_id, key):
        k = (map_id, bytes(key))
        if k not in self.cache:
            args = ["map", "lookup", "id", str(map_id), "key", "hex"] + [f"{b:02x}" for b in key]
            r = bpftool(*args)
            self.cache[k] = None if r is None else bytearray(int(v, 16) for v in r["value"])
        return self.cache[k]


class Emu:
    def __init__(self, insns, maps):
        self.insns = insns  # list of (slot, opcodes dict, disasm)
        self.by_slot = {s: i for i, (s, _, _) in enumerate(insns)}
        self.maps = maps
        self.mem = {}
        self.trace = bool(os.environ.get("XDP_PATH_TRACE"))

    def read(self, p, size):
        if not isinstance(p, Ptr):
            raise RuntimeError(f"load through a scalar {p:#x}")
        r = p.region
        if r == "ctx":
            if p.off == 0:
                return Ptr("pkt", 0)
            if p.off == 8:
                return Ptr("pkt", len(self.mem["pkt"]))
            if p.off == 32:
                return Ptr("rxq", 0)
            raise RuntimeError(f"ctx read at +{p.off}")
        if r == "rxq":
            return 0
        if isinstance(r, tuple) and r[0] == "map":
            return self.read_map(r[1], p.off, size)
        buf = self.mem[r]
        v = self.mem.get(("ptrs", r), {}).get(p.off)
        if v is not None and size == 8:
            return v
        return int.from_bytes(buf[p.off:p.off + size], "little")

    def read_map(self, map_id, off, size):
        m = self.maps.meta(map_id)
        esz = (m["bytes_value"] + 7) // 8 * 8
        idx, within = divmod(off - ARRAY_VALUE_OFF, esz if m["type"] == "array" else 8)
        if m["type"] == "percpu_array":  # the per-CPU pointer: a private scratch value
            name = ("pcpu", map_id, idx)
            self.mem.setdefault(name, bytearray(m["bytes_value"]))
            return Ptr(name, 0)
        if m["type"] != "array":
            raise RuntimeError(f"inline read of a {m['type']} map")
        name = ("arr", map_id, idx)
        if name not in self.mem:
            v = self.maps.lookup(map_id, idx.to_bytes(4, "little"))
            self.mem[name] = bytearray(v if v is not None else bytes(m["bytes_value"]))
        return int.from_bytes(self.mem[name][within:within + size], "little")

    def write(self, p, size, v):
        if isinstance(p.region, tuple) and p.region[0] == "map":
            name = ("arr", p.region[1], 0)
            raise RuntimeError(f"store into map memory {name}")
        buf = self.mem[p.region]
        if isinstance(v, Ptr):
            self.mem.setdefault(("ptrs", p.region), {})[p.off] = v
            return
        self.mem.get(("ptrs", p.region), {}).pop(p.off, None)
        buf[p.off:p.off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def call(self, name, regs, nxt):
        """Returns r0 for the kernel function `name`."""
        m = regs[1].region[1] if isinstance(regs[1], Ptr) and isinstance(regs[1].region, tuple) \
            else None
        if name in ("trie_lookup_elem", "__htab_map_lookup_elem"):
            meta = self.maps.meta(m)
            key = bytes(self.mem[regs[2].region][regs[2].off:regs[2].off + meta["bytes_key"]])
            v = self.maps.lookup(m, key)
            if v is None:
                return 0
            region = ("val", m, key)
            self.mem[region] = v
            # __htab_map_lookup_elem returns the element; the next instructions add the
            # value's offset in it (`r0 += N`), which this pointer anticipates.
            adj = 0
            if name == "__htab_map_lookup_elem":
                for _, op, dis in self.insns[nxt:nxt + 3]:
                    if op["code"] == "0x07" and int(op["dst_reg"], 16) == 0:
                        adj = imm32(op)
                        break
            return Ptr(region, -adj)
        if name == "xsk_map_redirect":
            return regs[3] & 3  # the fallback action in the low bits of flags
        if name == "bpf_ktime_get_ns":
            return 10**9
        if name in ("htab_lru_map_update_elem", "htab_lru_map_delete_elem"):
            return 0
        raise RuntimeError(f"no model for call {name}")

    def run(self, frame):
        self.mem = {"pkt": bytearray(frame), "stack": bytearray(512)}
        regs = [0] * 11
        regs[1] = Ptr("ctx", 0)
        regs[10] = Ptr("stack", 512)
        pc, executed, calls, inlined = 0, 0, [], []
        while True:
            slot, op, dis = self.insns[pc]
            executed += 1
            if self.trace:
                print(f"  {slot:5} {dis:50} r0={fmt(regs[0])} r1={fmt(regs[1])} "
                      f"r2={fmt(regs[2])} r3={fmt(regs[3])}", file=sys.stderr)
            code = int(op["code"], 16)
            cls, dst, src = code & 7, int(op["dst_reg"], 16), int(op["src_reg"], 16)
            off = int.from_bytes(bytes(int(b, 16) for b in op["off"]), "little", signed=True)
            nxt = pc + 1
            if code == 0x18:  # ld_imm64
                if "map[id:" in dis:
                    mid = int(dis.split("map[id:")[1].split("]")[0])
                    regs[dst] = Ptr(("map", mid), 0)
                    inlined.append(self.maps.meta(mid)["name"])
                else:
                    regs[dst] = int.from_bytes(bytes(int(b, 16) for b in op["imm"][:4] +
                                                     op["imm"][8:12]), "little")
            elif cls == 4 and code & 0xf0 == 0xd0:  # byte swap; 0x08 = to big endian
                width = imm32(op)
                v = regs[dst] & ((1 << width) - 1)
                regs[dst] = int.from_bytes(v.to_bytes(width // 8, "little"), "big") \
                    if code & 8 else v
            elif cls in (4, 7):  # ALU, ALU64
                regs[dst] = alu(code, regs[dst], regs[src] if code & 8 else imm32s(op), cls == 7)
            elif cls == 1:  # LDX
                regs[dst] = self.read(regs[src].add(off), SIZES[code & 0x18])
            elif cls in (2, 3):  # ST, STX
                self.write(regs[dst].add(off), SIZES[code & 0x18],
                           regs[src] if cls == 3 else imm32s(op) & MASK64)
            elif cls in (5, 6):  # JMP, JMP32
                opx = code & 0xf0
                if opx == 0x80:  # call
                    name = dis.split("call ")[1].split("#")[0]
                    # A lookup the inliner turned into a call still "looks up" a map.
                    calls.append(name)
                    if inlined and name in ("trie_lookup_elem", "__htab_map_lookup_elem",
                                            "xsk_map_redirect", "htab_lru_map_update_elem",
                                            "htab_lru_map_delete_elem"):
                        inlined.pop()
                    regs[0] = self.call(name, regs, nxt)
                elif opx == 0x90:  # exit
                    return regs[0], executed, calls, inlined
                elif opx == 0x00:  # ja
                    nxt = self.by_slot[slot + 1 + off]
                else:
                    b = regs[src] if code & 8 else imm32s(op) & MASK64
                    if jump(opx, regs[dst], b, cls == 6):
                        nxt = self.by_slot[slot + 1 + off]
            else:
                raise RuntimeError(f"opcode {code:#x} at {slot}: {dis}")
            pc = nxt


def fmt(v):
    return f"{v.region}+{v.off}" if isinstance(v, Ptr) else hex(v)


SIZES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}


def imm32(op):
    return int.from_bytes(bytes(int(b, 16) for b in op["imm"][:4]), "little", signed=True)


def imm32s(op):
    return imm32(op)  # sign-extended, as BPF does for 64-bit operations


def alu(code, a, b, wide):
    o = code & 0xf0
    if isinstance(a, Ptr) or isinstance(b, Ptr):
        if o == 0xb0:
            return b
        if o == 0x00 and isinstance(a, Ptr) and not isinstance(b, Ptr):
            return a.add(sign64(b))
        if o == 0x00 and isinstance(b, Ptr):
            return b.add(sign64(a))
        if o == 0x10 and isinstance(a, Ptr) and isinstance(b, Ptr):
            return (a.off - b.off) & MASK64
        if o == 0x10 and isinstance(a, Ptr):
            return a.add(-sign64(b))
        raise RuntimeError(f"pointer ALU {code:#x}")
    mask = MASK64 if wide else 0xffffffff
    a &= mask
    b &= mask
    bits = 64 if wide else 32
    if o == 0x00: r = a + b
    elif o == 0x10: r = a - b
    elif o == 0x20: r = a * b
    elif o == 0x30: r = a // b if b else 0
    elif o == 0x40: r = a | b
    elif o == 0x50: r = a & b
    elif o == 0x60: r = a << (b % bits)
    elif o == 0x70: r = a >> (b % bits)
    elif o == 0x80: r = -a
    elif o == 0x90: r = a % b if b else a
    elif o == 0xa0: r = a ^ b
    elif o == 0xb0: r = b
    elif o == 0xc0:
        sa = a - (1 << bits) if a >> (bits - 1) else a
        r = sa >> (b % bits)
    else:
        raise RuntimeError(f"ALU {code:#x}")
    return r & mask


def sign64(v):
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def jump(o, a, b, narrow):
    if isinstance(a, Ptr) or isinstance(b, Ptr):
        if isinstance(a, Ptr) and isinstance(b, Ptr):
            a, b = a.off, b.off
        else:  # pointer against a constant: only NULL checks make sense
            a, b = (1 if isinstance(a, Ptr) else a), (1 if isinstance(b, Ptr) else b)
    if narrow:
        a &= 0xffffffff
        b &= 0xffffffff
    bits = 32 if narrow else 64
    sa = a - (1 << bits) if a >> (bits - 1) else a
    sb = b - (1 << bits) if b >> (bits - 1) else b
    return {0x10: a == b, 0x20: a > b, 0x30: a >= b, 0x40: (a & b) != 0, 0x50: a != b,
            0x60: sa > sb, 0x70: sa >= sb, 0xa0: a < b, 0xb0: a <= b, 0xc0: sa < sb,
            0xd0: sa <= sb}[o]


def find_program(pin_root):
    cfg = bpftool("map", "show", "pinned", os.path.join(pin_root, "sl_config"))
    if cfg is None:
        sys.exit(f"no sl_config pinned under {pin_root}")
    for p in bpftool("prog", "show") or []:
        if p.get("name") == "sluice_xdp" and cfg["id"] in p.get("map_ids", []):
            return p
    sys.exit("no sluice_xdp program uses that sl_config")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pin-root", required=True)
    ap.add_argument("--frames", required=True, help="directory of case-table frames")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    prog = find_program(a.pin_root)
    dump = bpftool("prog", "dump", "xlated", "id", str(prog["id"]), "opcodes")
    insns, slot = [], 0
    for x in dump:
        insns.append((slot, x["opcodes"], x["disasm"]))
        slot += 2 if x["opcodes"]["code"] == "0x18" else 1
    print(f"program id {prog['id']}: {len(insns)} xlated instructions ({prog['bytes_xlated']} "
          f"bytes), {prog['bytes_jited']} bytes jited")
    emu = Emu(insns, Maps())
    print(f"{'case':44} {'action':>6} {'insns':>6}  inlined lookups / calls")
    for c in a.cases:
        with open(os.path.join(a.frames, c), "rb") as f:
            frame = f.read()
        action, n, calls, inl = emu.run(frame)
        print(f"{c:44} {action:>6} {n:>6}  {len(inl)} ({', '.join(inl)}) / "
              f"{len(calls)} ({', '.join(calls)})")


if __name__ == "__main__":
    main()
