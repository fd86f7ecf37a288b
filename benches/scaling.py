#!/usr/bin/env python3
"""How a run's cost grows with the cluster: wall time, user CPU, peak RSS and events against
nodes, for scale-5k's family resized to 1,000, 5,000 and 20,000 nodes (one /16 per 2,500
nodes, zone a's mix of instance types, load in proportion; the scenarios benches/engine.rs
benchmarks for 30 minutes, here whole days) and scenarios/ultra-100k.toml at 100,000.

    cargo build --release && python3 benches/scaling.py [--runs 2] [--nodes 1000,5000,...]

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
    """One run: (wall s, user s, peak RSS MB, summary row)."""
    p = subprocess.run(
        ["/usr/bin/time", "-v", BIN, "run", scenario, "--out", out],
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
    return wall, user, rss, row


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
    """Log-log: wall time (min-max bar, dots) and events (squares) against nodes."""
    w, h, l, r, t, b = 640, 400, 70, 70, 30, 50
    xs = [p["nodes"] for p in points]
    walls = [v for p in points for v in (p["wall_min"], p["wall_max"])]
    evs = [p["events"] for p in points]
    lx = lambda v: l + (math.log10(v) - math.log10(min(xs) / 1.5)) / (
        math.log10(max(xs) * 1.5) - math.log10(min(xs) / 1.5)) * (w - l - r)
    def ly(v, lo, hi):
        return h - b - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (h - t - b)
    wlo, whi = min(walls) / 2, max(walls) * 2
    elo, ehi = min(evs) / 2, max(evs) * 2
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11" role="img">',
         "<title>ipamsim: wall time and events against nodes (log-log)</title>",
         f'<rect x="{l}" y="{t}" width="{w-l-r}" height="{h-t-b}" fill="none" stroke="#888"/>']
    for p in points:
        x = lx(p["nodes"])
        s.append(f'<line x1="{x:.1f}" y1="{ly(p["wall_min"], wlo, whi):.1f}" x2="{x:.1f}" y2="{ly(p["wall_max"], wlo, whi):.1f}" stroke="#1f77b4" stroke-width="3"/>')
        s.append(f'<circle cx="{x:.1f}" cy="{ly(p["wall_min"], wlo, whi):.1f}" r="3" fill="#1f77b4"/>')
        s.append(f'<rect x="{x-3:.1f}" y="{ly(p["events"], elo, ehi)-3:.1f}" width="6" height="6" fill="#d62728"/>')
        s.append(f'<text x="{x:.1f}" y="{h-b+15}" text-anchor="middle">{p["nodes"]:,}</text>')
        s.append(f'<text x="{x+6:.1f}" y="{ly(p["wall_min"], wlo, whi)+4:.1f}" fill="#1f77b4">{p["wall_min"]:.2f} s</text>')
        s.append(f'<text x="{x+6:.1f}" y="{ly(p["events"], elo, ehi)+4:.1f}" fill="#d62728">{p["events"]/1e6:.1f} M</text>')
    s.append(f'<text x="{w/2}" y="{h-10}" text-anchor="middle">nodes</text>')
    s.append(f'<text x="15" y="{h/2}" transform="rotate(-90 15 {h/2})" text-anchor="middle" fill="#1f77b4">wall time, s (bar: min-max of the runs)</text>')
    s.append(f'<text x="{w-15}" y="{h/2}" transform="rotate(90 {w-15} {h/2})" text-anchor="middle" fill="#d62728">events (squares)</text>')
    s.append("</svg>")
    open(path, "w").write("\n".join(s) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--nodes", default="1000,5000,20000,100000")
    ap.add_argument("--bin", help="the ipamsim binary (default: target/release/ipamsim)")
    a = ap.parse_args()
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
            wall, user, rss, row = measure(scenario, os.path.join(tmp, f"out-{n}-{i}"))
            runs.append((wall, user, rss))
            rows.append({"nodes": n, "run": i, "wall_s": wall, "user_s": user, "rss_mb": round(rss),
                         "events": row["events"], "ec2_calls": row["ec2_calls"],
                         "ec2_throttled": row["ec2_throttled"], "pods_peak": row["pods_peak"]})
            print(rows[-1], file=sys.stderr)
        points.append({"nodes": n, "wall_min": min(r[0] for r in runs), "wall_max": max(r[0] for r in runs),
                       "user_min": min(r[1] for r in runs), "user_max": max(r[1] for r in runs),
                       "rss": max(r[2] for r in runs), "events": int(row["events"]),
                       "ec2": int(row["ec2_calls"]), "throttled": int(row["ec2_throttled"]),
                       "arrivals": arrivals(scenario)})
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "scaling.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        wr.writeheader()
        wr.writerows(rows)
    svg(points, os.path.join(here, "scaling.svg"))
    print("| nodes | wall s (min–max) | user CPU s (min–max) | peak RSS MB | events | pod arrivals (expected) | events per arrival | EC2 calls (throttled) | events per EC2 call |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in points:
        print(f"| {p['nodes']:,} | {p['wall_min']:.2f}–{p['wall_max']:.2f} | {p['user_min']:.2f}–{p['user_max']:.2f} | "
              f"{p['rss']:.0f} | {p['events']:,} | {p['arrivals']:,.0f} | {p['events']/p['arrivals']:.1f} | "
              f"{p['ec2']:,} ({p['throttled']:,}) | {p['events']/max(p['ec2'],1):.1f} |")


if __name__ == "__main__":
    main()
