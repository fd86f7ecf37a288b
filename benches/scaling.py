#!/usr/bin/env python3
"""How a run's cost grows with the cluster: wall time, user CPU, peak RSS and events against
nodes, for scale-5k's family resized to 1,000, 5,000 and 20,000 nodes (one /16 per 2,500
nodes, zone a's mix of instance types, load in proportion; the scenarios benches/engine.rs
benchmarks for 30 minutes, here whole days) and scenarios/ultra-100k.toml at 100,000.

    cargo build --release && python3 benches/scaling.py [--runs 2] [--nodes 1000,5000,...]
    python3 benches/scaling.py --replot    # redraw the figure from scaling.csv

Each point runs `runs` times (`/usr/bin/time -v`, one run at a time); writes
benches/scaling.csv (every run) and benches/scaling.svg (min-max of wall time per point,
events on a second axis, both log-log), and prints the README table rows. Events per pod
arrival and per EC2 call separate the model's own work (a throttling storm: every short node
retries every 5 s) from the engine's cost per event.
"""

import argparse
import csv
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "ipamsim")


def scaled(nodes):
    """scenarios/scale-5k.toml at `nodes` nodes (as benches/engine.rs `scaled`)."""
    base = open(os.path.join(ROOT, "scenarios", "scale-5k.toml")).read()
    k = nodes / 5000
    out = [base[: base.index("[[subnets]]")].replace('name = "scale-5k"', f'name = "scale-{nodes}"')]
    subnets = max(nodes // 2500, 1)
    for s in range(subnets):
        out.append(
            f'[[subnets]]\nname = "s{s}"\ncidr = "10.{s}.0.0/16"\nplacement = "random"\n'
            "background = { addresses = 2000 }\n"
        )
    out.append("[cni]\nWARM_IP_TARGET = 3\nMINIMUM_IP_TARGET = 10\n")
    mix = [("m5.large", 0.4), ("m5.xlarge", 0.32), ("c5.2xlarge", 0.2), ("r5.xlarge", 0.08)]
    share = nodes / subnets
    for s in range(subnets):
        for t, f in mix:
            out.append(
                f'[[nodegroup]]\nname = "s{s}-{t.replace(".", "-")}"\ninstance_type = "{t}"\n'
                f'count = {round(share * f)}\nsubnet = "s{s}"\n'
            )
    r = lambda n: round(n * k)
    out.append(
        f"""[[workload]]
kind = "deployment"
name = "services"
steps = [ {{ at = "0s", replicas = {r(12000)} }}, {{ at = "6h", replicas = {r(18000)} }}, {{ at = "9h", replicas = {r(24000)} }}, {{ at = "17h", replicas = {r(18000)} }}, {{ at = "21h", replicas = {r(13000)} }} ]

[[workload]]
kind = "deployment"
name = "workers"
steps = [ {{ at = "0s", replicas = {r(3000)} }}, {{ at = "8h", replicas = {r(6000)} }}, {{ at = "510m", replicas = {r(3000)} }}, {{ at = "14h", replicas = {r(6000)} }}, {{ at = "870m", replicas = {r(3000)} }} ]

[[workload]]
kind = "poisson"
name = "jobs"
rate_per_min = {r(600)}
lifetime = {{ mean = "8m" }}

[[workload]]
kind = "poisson"
name = "cron"
rate_per_min = {r(100)}
lifetime = {{ fixed = "1h" }}
"""
    )
    return "\n".join(out)


def measure(scenario, out):
    """One run: (wall s, user s, peak RSS MB, summary row, parked retries). `--stats` tells
    the parked retries (counted in `events`, never run) from the events the engine ran."""
    p = subprocess.run(
        ["/usr/bin/time", "-v", BIN, "run", scenario, "--out", out, "--stats"],
        capture_output=True,
        text=True,
        check=True,
    )
    field = lambda name: re.search(name + r": (.*)", p.stderr).group(1).strip()
    m, s = field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\)").rsplit(":", 1)
    wall = float(s) + 60 * float(m.split(":")[-1]) + (3600 * float(m.split(":")[0]) if m.count(":") else 0)
    user = float(field(r"User time \(seconds\)"))
    rss = int(field(r"Maximum resident set size \(kbytes\)")) / 1024
    with open(os.path.join(out, "summary.csv")) as f:
        row = next(csv.DictReader(f))
    parked = int(re.search(r"\+ ([\d,]+) parked", p.stdout).group(1).replace(",", ""))
    return wall, user, rss, row, parked


def arrivals(scenario):
    """Expected pod arrivals of a scenario: each Deployment's first step and its scale-ups,
    plus each Poisson workload's rate times the run (the draws themselves differ by a
    fraction of a percent)."""
    import tomllib

    sc = tomllib.load(open(scenario, "rb"))
    d = sc["duration"]
    minutes = float(d[:-1]) * {"h": 60, "m": 1}[d[-1]]
    n = 0.0
    for w in sc.get("workload", []):
        if w["kind"] == "deployment":
            reps = [st["replicas"] for st in w["steps"]]
            n += reps[0] + sum(max(b - a, 0) for a, b in zip(reps, reps[1:]))
        elif w["kind"] == "poisson":
            n += w["rate_per_min"] * minutes
    return n


def svg(points, path):
    """Two log-log panels over one nodes axis: wall time (dot at the fastest run, bar to the
    slowest) above, events below, each with decade gridlines and a dashed line of slope 1
    through the smallest cluster (what linear growth would be)."""
    w, l, r, top, panel, gap, bottom = 640, 70, 30, 40, 170, 40, 50
    h = top + 2 * panel + gap + bottom
    xs = [p["nodes"] for p in points]
    x_lo, x_hi = math.log10(min(xs) / 1.6), math.log10(max(xs) * 1.6)

    def lx(v):
        return l + (math.log10(v) - x_lo) / (x_hi - x_lo) * (w - l - r)

    def fmt(v):
        for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if v >= scale:
                return f"{v/scale:g} {unit}"
        return f"{v:g}"

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11" role="img">',
         "<title>ipamsim: wall time and events against nodes (log-log)</title>",
         f'<text x="{l}" y="18" font-size="13">How a run grows with the cluster (log-log; dashed: linear in nodes)</text>']
    panels = [
        ("wall time, s", "#1f77b4", lambda p: p["wall_min"], lambda p: p["wall_max"], lambda v: f"{v:.2f} s"),
        ("events", "#d62728", lambda p: p["events"], lambda p: p["events"], lambda v: f"{v/1e6:.1f} M"),
    ]
    for k, (name, colour, lo_of, hi_of, label) in enumerate(panels):
        y0 = top + k * (panel + gap)
        vals = [f(p) for p in points for f in (lo_of, hi_of)]
        d_lo = math.floor(math.log10(min(vals)))
        d_hi = math.ceil(math.log10(max(vals)))
        if d_hi == d_lo:
            d_hi += 1

        def ly(v):
            return y0 + panel - (math.log10(v) - d_lo) / (d_hi - d_lo) * panel

        s.append(f'<rect x="{l}" y="{y0}" width="{w-l-r}" height="{panel}" fill="none" stroke="#888"/>')
        for d in range(d_lo, d_hi + 1):
            y = ly(10 ** d)
            s.append(f'<line x1="{l}" y1="{y:.1f}" x2="{w-r}" y2="{y:.1f}" stroke="#ddd"/>')
            s.append(f'<text x="{l-6}" y="{y+4:.1f}" text-anchor="end">{fmt(10 ** d)}</text>')
        s.append(f'<text x="16" y="{y0 + panel/2}" transform="rotate(-90 16 {y0 + panel/2})" text-anchor="middle" fill="{colour}">{name}</text>')
        # Linear growth from the smallest cluster, clipped to the panel.
        p0 = points[0]
        v0 = lo_of(p0)
        x_end = min(max(xs), p0["nodes"] * 10 ** (d_hi - math.log10(v0)))
        s.append(f'<line x1="{lx(p0["nodes"]):.1f}" y1="{ly(v0):.1f}" x2="{lx(x_end):.1f}" y2="{ly(v0 * x_end / p0["nodes"]):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
        for p in points:
            x = lx(p["nodes"])
            lo, hi = lo_of(p), hi_of(p)
            if hi > lo:
                s.append(f'<line x1="{x:.1f}" y1="{ly(lo):.1f}" x2="{x:.1f}" y2="{ly(hi):.1f}" stroke="{colour}" stroke-width="3"/>')
            if k == 0:
                s.append(f'<circle cx="{x:.1f}" cy="{ly(lo):.1f}" r="3.5" fill="{colour}"/>')
            else:
                s.append(f'<rect x="{x-3.5:.1f}" y="{ly(lo)-3.5:.1f}" width="7" height="7" fill="{colour}"/>')
            s.append(f'<text x="{x:.1f}" y="{ly(hi)-8:.1f}" text-anchor="middle" fill="{colour}">{label(lo)}</text>')
    y_axis = top + 2 * panel + gap
    for p in points:
        s.append(f'<text x="{lx(p["nodes"]):.1f}" y="{y_axis + 16}" text-anchor="middle">{p["nodes"]:,}</text>')
    s.append(f'<text x="{(l + w - r)/2}" y="{h-10}" text-anchor="middle">nodes</text>')
    s.append("</svg>")
    open(path, "w").write("\n".join(s) + "\n")


def replot(here):
    """Redraws scaling.svg from scaling.csv (no runs)."""
    by = {}
    with open(os.path.join(here, "scaling.csv")) as f:
        for row in csv.DictReader(f):
            by.setdefault(int(row["nodes"]), []).append(row)
    points = [{"nodes": n, "wall_min": min(float(r["wall_s"]) for r in rs),
               "wall_max": max(float(r["wall_s"]) for r in rs), "events": int(rs[0]["events"])}
              for n, rs in sorted(by.items())]
    svg(points, os.path.join(here, "scaling.svg"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--nodes", default="1000,5000,20000,100000")
    ap.add_argument("--bin", help="the ipamsim binary (default: target/release/ipamsim)")
    ap.add_argument("--replot", action="store_true", help="only redraw scaling.svg from scaling.csv")
    a = ap.parse_args()
    if a.replot:
        replot(os.path.dirname(os.path.abspath(__file__)))
        return
    global BIN
    BIN = a.bin or BIN
    tmp = tempfile.mkdtemp(prefix="ipamsim-scaling-")
    rows, points = [], []
    for n in [int(x) for x in a.nodes.split(",")]:
        if n == 100000:
            scenario = os.path.join(ROOT, "scenarios", "ultra-100k.toml")
        else:
            scenario = os.path.join(tmp, f"scale-{n}.toml")
            open(scenario, "w").write(scaled(n))
        runs = []
        for i in range(a.runs):
            wall, user, rss, row, parked = measure(scenario, os.path.join(tmp, f"out-{n}-{i}"))
            runs.append((wall, user, rss))
            rows.append({"nodes": n, "run": i, "wall_s": wall, "user_s": user, "rss_mb": round(rss),
                         "events": row["events"], "ec2_calls": row["ec2_calls"],
                         "ec2_throttled": row["ec2_throttled"], "pods_peak": row["pods_peak"],
                         "parked": parked})
            print(rows[-1], file=sys.stderr)
        points.append({"nodes": n, "wall_min": min(r[0] for r in runs), "wall_max": max(r[0] for r in runs),
                       "user_min": min(r[1] for r in runs), "user_max": max(r[1] for r in runs),
                       "rss": max(r[2] for r in runs), "events": int(row["events"]),
                       "ec2": int(row["ec2_calls"]), "throttled": int(row["ec2_throttled"]),
                       "arrivals": arrivals(scenario), "parked": parked})
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "scaling.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        wr.writeheader()
        wr.writerows(rows)
    svg(points, os.path.join(here, "scaling.svg"))
    print("| nodes | wall s (min–max) | user CPU s (min–max) | peak RSS MB | events | pod arrivals (expected) | events per arrival | EC2 calls (throttled) | events per EC2 call | of the events, parked retries (not run) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p in points:
        print(f"| {p['nodes']:,} | {p['wall_min']:.2f}–{p['wall_max']:.2f} | {p['user_min']:.2f}–{p['user_max']:.2f} | "
              f"{p['rss']:.0f} | {p['events']:,} | {p['arrivals']:,.0f} | {p['events']/p['arrivals']:.1f} | "
              f"{p['ec2']:,} ({p['throttled']:,}) | {p['events']/max(p['ec2'],1):.1f} | {p['parked']:,} |")


if __name__ == "__main__":
    main()
