#!/usr/bin/env python3
"""Builds a profile-guided (PGO) release binary of ipamsim: `target/pgo/release/ipamsim`.

    python3 benches/pgo.py [--keep-profile]

What it does, in three steps (rustc's own recipe, "Profile-guided Optimization" in the
rustc book):

1. builds an instrumented release binary (`-Cprofile-generate`) into `target/pgo-gen`;
2. runs it on the training scenarios below, each writing its counts (`.profraw`);
3. merges the counts with `llvm-profdata` (the one matching rustc's LLVM, from rustup's
   `llvm-tools` component) and builds the release binary again with `-Cprofile-use` into
   `target/pgo`.

The profile only tells the compiler which branches and calls are hot (block order,
inlining, register allocation): the program's meaning, every output included, is that of
the plain release build (`benches/HISTORY.md` item 42 checked it with `diff -r` of
ultra-100k's folder and `benches/compare_outputs.py`). Code the training never runs is
taken as cold and compiled for size; the training runs the engine (`ipamsim run`), so the
other commands are quick where they run the engine and plain elsewhere.

Training: the nine small shipped scenarios, scale-5k, and ultra-100k's first three hours
(its launch and the first step of load; the whole day adds nothing the profile needs).
Needs `rustup component add llvm-tools` once (the script says so when it is missing).
Two release builds with fat LTO: some four minutes on this project's machine.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING = [
    ("default", []),
    ("warm-ip", []),
    ("sip-warm-eni", []),
    ("auto-mode", []),
    ("custom-networking", []),
    ("karpenter", []),
    ("secondary-subnet", []),
    ("trace-replay", []),
    ("scale-5k", []),
    ("ultra-100k", ["--set", "duration=3h"]),
]


def fail(message):
    print(f"pgo.py: {message}", file=sys.stderr)
    sys.exit(2)


def llvm_profdata():
    """rustup's llvm-profdata for the active toolchain (its LLVM reads rustc's counts)."""
    sysroot = subprocess.run(
        ["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True
    ).stdout.strip()
    host = next(
        line.split(": ", 1)[1]
        for line in subprocess.run(
            ["rustc", "-vV"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if line.startswith("host: ")
    )
    tool = os.path.join(sysroot, "lib", "rustlib", host, "bin", "llvm-profdata")
    if not os.path.exists(tool):
        fail(f"{tool} not found; run `rustup component add llvm-tools` once, then again")
    return tool


def build(target_dir, rustflags):
    env = dict(os.environ)
    env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + " " + rustflags).strip()
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "ipamsim", "--target-dir", target_dir],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return os.path.join(target_dir, "release", "ipamsim")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--keep-profile",
        action="store_true",
        help="keep the merged profile as target/pgo/ipamsim.profdata",
    )
    args = ap.parse_args()
    profdata_tool = llvm_profdata()
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        print("pgo.py: building the instrumented binary (target/pgo-gen)", file=sys.stderr)
        gen = build(os.path.join(ROOT, "target", "pgo-gen"), f"-Cprofile-generate={raw}")
        # The build scripts ran instrumented too: only the training's counts are wanted.
        shutil.rmtree(raw, ignore_errors=True)
        for name, extra in TRAINING:
            scenario = os.path.join(ROOT, "scenarios", f"{name}.toml")
            print(f"pgo.py: training on {name} {' '.join(extra)}".rstrip(), file=sys.stderr)
            run = subprocess.run(
                [gen, "run", scenario, "--out", os.path.join(tmp, "out", name), "--quiet", *extra],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            # (Its warnings, such as the shortened day's steps that never come, are expected.)
            if run.returncode != 0:
                fail(f"training on {name} failed: {run.stderr.strip()}")
        merged = os.path.join(tmp, "ipamsim.profdata")
        subprocess.run([profdata_tool, "merge", "-o", merged, raw], check=True)
        print("pgo.py: building with the profile (target/pgo)", file=sys.stderr)
        out_dir = os.path.join(ROOT, "target", "pgo")
        binary = build(out_dir, f"-Cprofile-use={merged}")
        if args.keep_profile:
            shutil.copy(merged, os.path.join(out_dir, "ipamsim.profdata"))
    print(os.path.relpath(binary, ROOT))


if __name__ == "__main__":
    main()
