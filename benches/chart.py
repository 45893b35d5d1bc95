#!/usr/bin/env python3
"""Writes docs/lock-throughput.svg from criterion's results of `locks`.

Reads target/criterion/locks_<workload>_<seats>/<threads>/new/estimates.json
(the median, in ns per iteration) and draws attempts per second against
thread count, one line per workload. No dependencies beyond Python 3.
Usage: python3 benches/chart.py  (after `cargo bench --bench locks`)
"""
import json
import math
import os

ROOT = os.path.join(os.path.dirname(__file__), "..")
CRIT = os.path.join(ROOT, "target", "criterion")
OUT = os.path.join(ROOT, "docs", "lock-throughput.svg")
THREADS = [1, 2, 4, 8, 64]
SERIES = [
    ("attempts", "hot-seat", 1, "#d62728", "attempts, 1 hot seat"),
    ("attempts", "16-seats", 1, "#ff7f0e", "attempts, 16 seats"),
    ("attempts", "random-of-1M", 1_000_000, "#1f77b4", "attempts, random of 1 M"),
    ("cycles", "hot-seat", 1, "#9467bd", "acquire+release, 1 hot seat"),
    ("cycles", "16-seats", 1, "#8c564b", "acquire+release, 16 seats"),
    ("cycles", "random-of-1M", 1, "#2ca02c", "acquire+release, random of 1 M"),
]


def median_rate(workload, seats, per_iter, threads):
    path = os.path.join(CRIT, f"locks_{workload}_{seats}", str(threads), "new", "estimates.json")
    try:
        with open(path) as f:
            ns = json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None
    return per_iter * 1e9 / ns


def main():
    data = {s: [median_rate(s[0], s[1], s[2], t) for t in THREADS] for s in SERIES}
    w, h, left, right, top, bottom = 760, 440, 80, 250, 40, 60
    pw, ph = w - left - right, h - top - bottom
    values = [v for vs in data.values() for v in vs if v]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))

    def x(i):
        return left + pw * i / (len(THREADS) - 1)

    def y(v):
        return top + ph * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="15">seatbook lock table: attempts per second '
        f'vs threads (2-core machine, medians)</text>',
    ]
    decade = lo
    while decade <= hi:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(decade):.1f}" y2="{y(decade):.1f}" stroke="#ddd"/>')
        label = f"{decade / 1e6:g} M" if decade >= 1e6 else f"{decade / 1e3:g} k"
        out.append(f'<text x="{left - 8}" y="{y(decade) + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    for i, t in enumerate(THREADS):
        out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x(i):.1f}" y="{top + ph + 18}" text-anchor="middle">{t}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 15}" text-anchor="middle">threads (log-spaced labels)</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" transform="rotate(-90 18 {top + ph / 2})" '
               f'text-anchor="middle">attempts/s (log)</text>')
    for n, (s, vs) in enumerate(data.items()):
        pts = [(x(i), y(v)) for i, v in enumerate(vs) if v]
        if not pts:
            continue
        d = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{s[3]}" stroke-width="2"/>')
        for px, py in pts:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{s[3]}"/>')
        ly = top + 10 + n * 20
        out.append(f'<line x1="{left + pw + 15}" x2="{left + pw + 35}" y1="{ly}" y2="{ly}" stroke="{s[3]}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 40}" y="{ly + 4}">{s[4]}</text>')
    out.append("</svg>")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    for s, vs in data.items():
        print(s[4].ljust(34), " ".join(f"{v / 1e6:8.2f}M" if v else "       -" for v in vs))


if __name__ == "__main__":
    main()
