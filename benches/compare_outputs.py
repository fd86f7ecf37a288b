#!/usr/bin/env python3
"""Runs shipped scenarios with two builds of ipamsim and reports every output difference
other than the `events` count (the engine's work: the summary.csv column and its figure in
report.html), for optimisations that must leave the model's outputs alone.

    python3 benches/compare_outputs.py OLD_BINARY NEW_BINARY default scale-5k ...

Run from the project root; outputs go to /tmp/cmp/{old,new}/<scenario>.
"""
import csv
import difflib
import filecmp
import os
import subprocess
import sys

old, new = sys.argv[1], sys.argv[2]
names = sys.argv[3:]
for name in names:
    outs = {}
    for tag, binary in (('old', old), ('new', new)):
        d = f'/tmp/cmp/{tag}/{name.replace("/", "-")}'
        subprocess.run(['rm', '-rf', d])
        subprocess.run([binary, 'run', f'scenarios/{name}.toml', '--events', '--out', d, '--quiet'], check=True)
        outs[tag] = d
    diffs = []
    ev = {}
    for f in sorted(os.listdir(outs['old']), key=lambda f: f != 'summary.csv'):
        a, b = os.path.join(outs['old'], f), os.path.join(outs['new'], f)
        if filecmp.cmp(a, b, shallow=False):
            continue
        if f == 'summary.csv':
            ra, rb = list(csv.DictReader(open(a)))[0], list(csv.DictReader(open(b)))[0]
            other = {k for k in ra if ra[k] != rb[k]} - {'events'}
            ev['events'] = (ra['events'], rb['events'])
            if other: diffs.append(f'summary.csv: {sorted(other)}')
        elif f == 'report.html':
            la, lb = open(a).read().replace('>', '>\n').splitlines(), open(b).read().replace('>', '>\n').splitlines()
            fa = format(int(ev['events'][0]), ',')
            fb = format(int(ev['events'][1]), ',')
            bad = [l for l in difflib.unified_diff(la, lb, n=0, lineterm='') if l[:1] in '+-' and not l.startswith(('+++', '---'))
                   and not (fa in l or fb in l)]
            if bad: diffs.append(f'report.html beyond the events figure: {bad[:4]}')
        else:
            diffs.append(f)
    print(f'{name}: events {ev.get("events")} ; other differences: {diffs or "none"}')
