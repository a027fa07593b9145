"""A small hand-written SVG for bench/gateway/nginx_side_by_side.py (no plotting library needed):
left, the latency CDF of every run (wrk's percentiles 1..99.99, log-scaled latency axis), the
median round drawn solid and the others faint; middle, requests/s per proxy (bar = median, dots =
rounds); right, proxy CPU cycles per request (Sluice busy and total-incl.-idle, nginx
utime+stime). Pure functions of the results; single-threaded.
"""
import math
import statistics

COLORS = {"sluice": "#1f77b4", "nginx": "#2ca02c"}
W, H = 960, 360
TOP, BOTTOM = 40, 300


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(x, y, s, size=11, anchor="middle", extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-family="sans-serif" {extra}>{_esc(s)}</text>')


def _nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def _cdf_panel(out, res, x0, x1):
    all_us = [us for rows in res.values() for r in rows for _, us in r["pct"] if us > 0]
    lo = 10 ** math.floor(math.log10(min(all_us)))
    hi = 10 ** math.ceil(math.log10(max(all_us)))
    lx = lambda us: x0 + (math.log10(max(us, lo)) - math.log10(lo)) / \
        (math.log10(hi) - math.log10(lo)) * (x1 - x0)
    ly = lambda p: BOTTOM - p / 100.0 * (BOTTOM - TOP)
    out.append(f'<rect x="{x0}" y="{TOP}" width="{x1 - x0}" height="{BOTTOM - TOP}" '
               f'fill="none" stroke="#888"/>')
    d = lo
    while d <= hi * 1.0001:
        x = lx(d)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{BOTTOM}" stroke="#ddd"/>')
        out.append(_text(x, BOTTOM + 14, f"{d:g}"))
        d *= 10
    for p in (0, 25, 50, 75, 90, 99, 100):
        y = ly(p)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(_text(x0 - 4, y + 4, p, anchor="end"))
    out.append(_text((x0 + x1) / 2, BOTTOM + 30, "latency (µs, log scale)"))
    out.append(_text(x0 - 30, (TOP + BOTTOM) / 2, "percentile", extra=
                     f'transform="rotate(-90 {x0 - 30} {(TOP + BOTTOM) / 2})"'))
    out.append(_text((x0 + x1) / 2, TOP - 8, "latency CDF (wrk, every round)", size=13))
    for name, rows in res.items():
        if not rows:
            continue
        mid = sorted(rows, key=lambda r: r["rps"])[len(rows) // 2]
        for r in rows:
            pts = " ".join(f"{lx(us):.1f},{ly(p):.1f}" for p, us in r["pct"])
            solid = r is mid
            out.append(f'<polyline points="{pts}" fill="none" stroke="{COLORS[name]}" '
                       f'stroke-width="{2 if solid else 1}" opacity="{1 if solid else 0.35}"/>')


def _bar_panel(out, title, bars, x0, x1, fmt):
    """bars: list of (label, color, median, [round values])."""
    vmax = _nice_max(max([b[2] for b in bars] + [v for b in bars for v in b[3]]))
    ly = lambda v: BOTTOM - v / vmax * (BOTTOM - TOP)
    out.append(f'<line x1="{x0}" y1="{BOTTOM}" x2="{x1}" y2="{BOTTOM}" stroke="#888"/>')
    for i in range(5):
        v = vmax * i / 4
        y = ly(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(_text(x0 - 4, y + 4, fmt(v), size=10, anchor="end"))
    out.append(_text((x0 + x1) / 2, TOP - 8, title, size=13))
    slot = (x1 - x0) / len(bars)
    for i, (label, color, m, vals) in enumerate(bars):
        cx = x0 + slot * (i + 0.5)
        bw = slot * 0.55
        out.append(f'<rect x="{cx - bw / 2:.1f}" y="{ly(m):.1f}" width="{bw:.1f}" '
                   f'height="{BOTTOM - ly(m):.1f}" fill="{color}" opacity="0.8"/>')
        for v in vals:
            out.append(f'<circle cx="{cx:.1f}" cy="{ly(v):.1f}" r="2.5" fill="#000"/>')
        out.append(_text(cx, ly(m) - 5, fmt(m), size=10))
        for j, part in enumerate(label.split("\n")):
            out.append(_text(cx, BOTTOM + 14 + 12 * j, part, size=10))


def write_svg(path, res, meta):
    s, n = res["sluice"], res["nginx"]
    med = lambda rows, k: statistics.median(r[k] for r in rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}">', f'<rect width="{W}" height="{H}" fill="white"/>']
    _cdf_panel(out, res, 60, 400)
    legend_y = TOP + 12
    for i, name in enumerate(("sluice", "nginx")):
        out.append(f'<line x1="{70}" y1="{legend_y + 14 * i}" x2="{90}" y2="{legend_y + 14 * i}" '
                   f'stroke="{COLORS[name]}" stroke-width="2"/>')
        out.append(_text(94, legend_y + 14 * i + 4, "Sluice" if name == "sluice" else "nginx",
                         anchor="start"))
    k = lambda v: f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
    _bar_panel(out, "requests/s", [
        ("Sluice", COLORS["sluice"], med(s, "rps"), [r["rps"] for r in s]),
        ("nginx", COLORS["nginx"], med(n, "rps"), [r["rps"] for r in n]),
    ], 470, 650, k)
    _bar_panel(out, "proxy CPU cycles / request", [
        ("Sluice\nbusy", COLORS["sluice"], med(s, "busy_per_req"), [r["busy_per_req"] for r in s]),
        ("Sluice total\nincl. polling", "#9ecae1", med(s, "total_per_req"),
         [r["total_per_req"] for r in s]),
        ("nginx\nutime+stime", COLORS["nginx"], med(n, "proc_per_req"),
         [r["proc_per_req"] for r in n]),
    ], 740, 940, k)
    out.append(_text(W / 2, H - 8,
                     f"wrk -t1 -c{meta['connections']} -d{meta['duration_s']}s, "
                     f"{meta['rounds']} rounds, dataplane {meta['mode']}, 2-vCPU VM "
                     f"(load avg {meta['loadavg'][0]:.1f}); bars = medians, dots = rounds",
                     size=10, extra='fill="#555"'))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
