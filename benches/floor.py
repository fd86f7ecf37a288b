#!/usr/bin/env python3
"""Issue 13's target 3, measured in pairs: the event loop's events per second against the
bare binary-heap hold loop (`../shared/tools/heapbench`) at the run's own pending count.

    cargo build --release && python3 benches/floor.py [--pairs 3] [--bin PATH] [scenario.toml ...]

Scenarios default to scale-5k and ultra-100k. Each pair is one `ipamsim run --stats` (its
event loop timed alone, first event to end, as heapbench times its hold loop alone) and, just
after it, one heapbench run at the mean queue length that run printed. The two are paired
because the machine's speed moves by the hour and not alike for both: heapbench, bound by
its compares, gains more in a fast hour than the engine, bound by the pages its events read
(README, Performance). Prints each pair and, per scenario, the ratios' min, median and max:
counting every event (parked retries included, as `--stats` counts them) and counting only
the events the loop ran. heapbench is built from `../shared/tools/heapbench` into
`target/heapbench` unless `--heapbench` names a binary. `--bin` measures another ipamsim
binary than `target/release/ipamsim` (the profile-guided one `benches/pgo.py` builds).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "ipamsim")
HEAPBENCH_SRC = os.path.join(ROOT, "..", "shared", "tools", "heapbench")


def number(s):
    return float(s.replace(",", ""))


def heapbench_binary(given):
    """The heapbench to run: `given`, else one built from the shared tools."""
    if given:
        return given
    target = os.path.join(ROOT, "target", "heapbench")
    manifest = os.path.join(HEAPBENCH_SRC, "Cargo.toml")
    if not os.path.exists(manifest):
        sys.exit(f"floor.py: {manifest} not found; pass --heapbench PATH to a built heapbench")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path", manifest, "--target-dir", target],
        check=True,
    )
    return os.path.join(target, "release", "heapbench")


def engine_run(binary, scenario):
    """One run's loop figures: (all events, events run, loop CPU seconds, mean pending)."""
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run(
            [binary, "run", scenario, "--out", out, "--quiet", "--stats"],
            capture_output=True,
            text=True,
            check=True,
        )
    text = p.stdout + p.stderr
    events = re.search(r"engine: ([\d,]+) events =", text)
    pending = re.search(r"([\d,]+) pending on average", text)
    loop = re.search(
        r"event loop, first event to end: [\d.]+ s wall, ([\d.]+) s CPU .* of the ([\d,]+) it ran",
        text,
    )
    if not (events and pending and loop):
        sys.exit(f"floor.py: no --stats figures in the output of {scenario}:\n{text}")
    return number(events[1]), number(loop[2]), float(loop[1]), round(number(pending[1]))


def heap_rate(heapbench, pending, ops):
    p = subprocess.run([heapbench, str(pending), str(ops)], capture_output=True, text=True, check=True)
    m = re.search(r"events/s (\d+)", p.stdout)
    if not m:
        sys.exit(f"floor.py: heapbench printed no rate: {p.stdout}")
    return float(m[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--ops", type=int, default=20_000_000, help="heapbench's holds per run")
    ap.add_argument("--heapbench", help="a built heapbench binary")
    ap.add_argument("--bin", default=BIN, help="the ipamsim binary (default: the release build)")
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"floor.py: {args.bin} not found: build first (cargo build --release)")
    scenarios = args.scenarios or [
        os.path.join(ROOT, "scenarios", "scale-5k.toml"),
        os.path.join(ROOT, "scenarios", "ultra-100k.toml"),
    ]
    heapbench = heapbench_binary(args.heapbench)
    for scenario in scenarios:
        name = os.path.basename(scenario)
        counted, ran = [], []
        for i in range(args.pairs):
            events, run_events, cpu, pending = engine_run(args.bin, scenario)
            heap = heap_rate(heapbench, pending, args.ops)
            all_rate, run_rate = events / cpu, run_events / cpu
            counted.append(all_rate / heap)
            ran.append(run_rate / heap)
            print(
                f"{name} pair {i + 1}: loop {cpu:.3f} s CPU, {all_rate / 1e6:.2f} M events/s "
                f"({run_rate / 1e6:.2f} M of those run); heapbench at {pending:,} pending "
                f"{heap / 1e6:.2f} M holds/s: {all_rate / heap:.0%} ({run_rate / heap:.0%})",
                flush=True,
            )
        for label, r in (("counting every event", counted), ("events run", ran)):
            print(
                f"{name}: {label}: min {min(r):.0%}, median {statistics.median(r):.0%}, "
                f"max {max(r):.0%} of the floor ({args.pairs} pairs)"
            )


if __name__ == "__main__":
    main()
