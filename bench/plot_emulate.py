#!/usr/bin/env python3
"""Plot bench/emulate's table: launch + sync latency against the emulated
RTT, and copy bandwidth against the emulated rate, each transport a line,
the link's own bound dashed.

    bench/plot_emulate.py TABLE.tsv OUT.png

Needs matplotlib (Debian/Ubuntu: python3-matplotlib)."""
import csv
import re
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

TIME = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}  # to microseconds
RATE = {"bit": 1e-9, "kbit": 1e-6, "mbit": 1e-3, "gbit": 1.0, "tbit": 1e3}  # to Gbit/s


def field(spec, key):
    """'rtt=10us,bw=25Gbit', 'rtt' -> ('10', 'us')"""
    for item in spec.split(","):
        k, _, v = item.partition("=")
        if k == key:
            m = re.fullmatch(r"([0-9.]+)([A-Za-z]+)", v)
            return float(m.group(1)), m.group(2).lower()
    return None


def gbit(spec):
    value, unit = field(spec, "bw")
    if unit.endswith("byte"):
        return value * RATE[unit[:-4] + "bit"] * 8
    return value * RATE[unit]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["link"] != "none"]
    if not rows:
        sys.exit(f"{sys.argv[1]}: no emulated rows")
    fig, (lat, bw) = plt.subplots(1, 2, figsize=(12, 4.5))
    for transport in sorted({r["transport"] for r in rows}):
        mine = [r for r in rows if r["transport"] == transport and r["launch_sync"] != "-"]
        rtt = [field(r["link"], "rtt")[0] * TIME[field(r["link"], "rtt")[1]] for r in mine]
        lat.plot(rtt, [float(r["launch_sync"]) for r in mine], "o-", label=transport)
        for metric, style in (("memcpy_h2d_pageable_64MiB", "o-"), ("memcpy_d2h_pageable_64MiB", "s--")):
            pts = [(gbit(r["link"]), float(r[metric]) * 8) for r in mine if r[metric] != "-"]
            bw.plot(*zip(*pts), style, label=f"{transport} {metric.split('_')[1].upper()} pageable")
    rtts = sorted({field(r["link"], "rtt")[0] * TIME[field(r["link"], "rtt")[1]] for r in rows})
    lat.plot(rtts, rtts, "k:", label="RTT")
    rates = sorted({gbit(r["link"]) for r in rows})
    bw.plot(rates, rates, "k:", label="link rate")
    lat.set(xscale="log", yscale="log", xlabel="emulated RTT (µs)", ylabel="launch + sync (µs)",
            title="latency")
    bw.set(xscale="log", yscale="log", xlabel="emulated rate (Gbit/s)",
           ylabel="64 MiB copy (Gbit/s)", title="bandwidth")
    for ax in (lat, bw):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("bench_remora through the network emulator (bench/emulate)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
