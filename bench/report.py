#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tabulate the benchmark results of `make bench`.

usage: report.py [--dir DIR] [--command CMD] [--cc CC]

Reads DIR/results.tsv (default DIR: bench-results), whose lines are
  RESULT<TAB>group<TAB>case<TAB>impl<TAB>value<TAB>unit
  NOTE<TAB>group<TAB>text
  GOAL<TAB>group<TAB>case<TAB>impl<TAB>ratio
(a GOAL: membridge should beat impl in that case by at least ratio; the
table says whether it did) and DIR/commands.txt (one benchmark command a line, optional). Prints one
table per group with the ratio of membridge (impl "membridge") to each
peer, oriented so that a ratio above 1 means membridge wins: membridge / peer
for rates (msg/s, ops/s), peer / membridge for times and CPU use (ns, us,
%core). Then the machine, the date and the command. Writes the same as
Markdown to DIR/bench.md and, if gnuplot is installed, a chart of the rate
groups (log-scale bars per case and implementation) to DIR/bench.png.
Standard library only.
"""
import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys

OURS = "membridge"
HIGHER_IS_BETTER = {"msg/s", "ops/s"}
LOWER_IS_BETTER = {"ns", "us", "%core"}


class Group:
    def __init__(self, name):
        self.name = name
        self.rows = {}   # (case, impl) -> (value, unit), in order of arrival
        self.cases = []
        self.impls = []
        self.notes = []
        self.goals = {}  # (case, impl) -> the ratio membridge should reach

    def add(self, case, impl, value, unit):
        if case not in self.cases:
            self.cases.append(case)
        if impl not in self.impls:
            self.impls.append(impl)
        self.rows[(case, impl)] = (value, unit)

    def units(self):
        return {unit for _, unit in self.rows.values()}


def read_results(path):
    groups = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "RESULT" and len(fields) == 6:
                _, group, case, impl, value, unit = fields
                if unit not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
                    sys.exit("%s:%d: unknown unit %r" % (path, lineno, unit))
                groups.setdefault(group, Group(group)).add(case, impl, float(value), unit)
            elif fields[0] == "NOTE" and len(fields) == 3:
                groups.setdefault(fields[1], Group(fields[1])).notes.append(fields[2])
            elif fields[0] == "GOAL" and len(fields) == 5:
                _, group, case, impl, goal = fields
                groups.setdefault(group, Group(group)).goals[(case, impl)] = float(goal)
            elif line.strip():
                sys.exit("%s:%d: not a RESULT or NOTE line: %r" % (path, lineno, line))
    return list(groups.values())


def ratio(ours, peer, unit):
    """How many times better membridge is than the peer (> 1: membridge wins)."""
    if unit in HIGHER_IS_BETTER:
        num, den = ours, peer
    else:
        num, den = peer, ours
    if den == 0:
        return float("inf") if num > 0 else None
    return num / den


def fmt_value(value, unit):
    if unit in HIGHER_IS_BETTER:
        for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= scale:
                return "%.3g %s%s" % (value / scale, prefix, unit)
        return "%.3g %s" % (value, unit)
    shown = {"us": "µs", "%core": "%core"}.get(unit, unit)
    if abs(value) >= 1000:
        return "{:,.0f} {}".format(value, shown)
    return "%.3g %s" % (value, shown)


def fmt_ratio(r):
    if r is None:
        return "—"
    if r == float("inf"):
        return "∞"
    if r >= 1000:
        return "{:,.0f}×".format(r)
    return "%.2f×" % r if r < 10 else "%.1f×" % r


def fmt_goal(goal, r):
    """Whether ratio r reached the goal, e.g. "≥ 2× MISSED"."""
    if goal is None:
        return ""
    shown = "≥ %g×" % goal
    if r is None:
        return shown + " (no figure)"
    return shown + (" met" if r >= goal else " MISSED")


def table(group):
    """Rows of (case, impl, value, ratio) strings, and a goal string each
    if the group has goals."""
    rows = []
    for case in group.cases:
        ours = group.rows.get((case, OURS))
        for impl in group.impls:
            if (case, impl) not in group.rows:
                continue
            value, unit = group.rows[(case, impl)]
            r = None
            if impl == OURS:
                shown = "(ours)"
            elif ours is None:
                shown = "—"
            else:
                r = ratio(ours[0], value, unit)
                shown = fmt_ratio(r)
            row = (case, impl, fmt_value(value, unit), shown)
            if group.goals:
                row += (fmt_goal(group.goals.get((case, impl)), r),)
            rows.append(row)
    return rows


def header(group):
    return ("case", "impl", "value", "ratio") + (("goal",) if group.goals else ())


def direction(group):
    units = group.units()
    if units <= HIGHER_IS_BETTER:
        return "membridge ÷ peer (rates: > 1 means membridge is faster)"
    if units <= LOWER_IS_BETTER:
        return "peer ÷ membridge (times and CPU: > 1 means membridge is lower)"
    return ("membridge ÷ peer for rates, peer ÷ membridge for times and CPU "
            "(> 1 means membridge wins)")


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.splitlines()[0] if out.stdout else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(cc):
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    uname = os.uname()
    return [
        ("CPU", "%s, %d CPUs online" % (cpu, os.cpu_count() or 1)),
        ("kernel", "%s %s %s" % (uname.sysname, uname.release, uname.machine)),
        ("compiler", first_line(cc.split() + ["--version"]) if cc else "unknown"),
        ("Python", "%s (%s)" % (platform.python_version(), sys.executable)),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def text_report(groups, info, command, commands):
    out = []
    for g in groups:
        rows = table(g)
        head = header(g)
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        out.append("")
        out.append("== %s   (ratio = %s)" % (g.name, direction(g)))
        line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
        out.append(line)
        out.append("-" * len(line))
        last_case = None
        for r in rows:
            shown = (r[0] if r[0] != last_case else "",) + r[1:]
            last_case = r[0]
            out.append("  ".join(c.ljust(w) for c, w in zip(shown, widths)).rstrip())
        for n in g.notes:
            out.append("  note: " + n)
    out.append("")
    for key, value in info:
        out.append("%-9s %s" % (key + ":", value))
    out.append("command:  " + command)
    for c in commands:
        out.append("          ran " + c)
    return "\n".join(out) + "\n"


def md_escape(s):
    return s.replace("|", "\\|")


def markdown_report(groups, info, command, commands, chart):
    out = ["# libmembridge benchmarks", ""]
    out += ["- **%s:** %s" % (k, md_escape(v)) for k, v in info]
    out.append("- **command:** `%s`" % command)
    out += ["  - `%s`" % c for c in commands]
    out.append("")
    if chart:
        out += ["![message rates, log scale](%s)" % chart, ""]
    for g in groups:
        head = header(g)
        out += ["## %s" % g.name, "", "Ratio: %s." % direction(g), "",
                "| %s |" % " | ".join(head), "|---|---|--:|--:|" + "--|" * (len(head) - 4)]
        last_case = None
        for r in table(g):
            case = r[0] if r[0] != last_case else ""
            last_case = r[0]
            out.append("| %s |" % " | ".join(md_escape(c) for c in (case,) + r[1:]))
        out.append("")
        out += ["- " + md_escape(n) for n in g.notes]
        if g.notes:
            out.append("")
    return "\n".join(out)


def gp_quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def chart(groups, outdir):
    """Draw the rate groups with gnuplot; returns the PNG's name or None."""
    rate_groups = [g for g in groups if g.units() and g.units() <= HIGHER_IS_BETTER]
    if not rate_groups:
        return None
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("report.py: gnuplot is not installed (Debian: apt-get install gnuplot-nox); "
              "no chart", file=sys.stderr)
        return None
    script = [
        "set terminal pngcairo noenhanced size 1200,%d font 'sans,9'"
        % (440 * len(rate_groups)),
        "set output %s" % gp_quote(os.path.join(outdir, "bench.png")),
        "set datafile separator '\\t'",
        "set datafile missing '?'",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.85 border -1",
        "set logscale y",
        "set grid ytics",
        "set key outside right top vertical",
        "set xtics nomirror",
        "set bmargin 6",
        "set multiplot layout %d,1" % len(rate_groups),
    ]
    for n, g in enumerate(rate_groups):
        data = os.path.join(outdir, "chart-%d.dat" % n)
        with open(data, "w", encoding="utf-8") as f:
            f.write("\t".join(["case"] + g.impls) + "\n")
            for case in g.cases:
                cells = [case]
                for impl in g.impls:
                    v = g.rows.get((case, impl))
                    cells.append("%g" % v[0] if v and v[0] > 0 else "?")
                f.write("\t".join(cells) + "\n")
        lowest = min(v for v, _ in g.rows.values() if v > 0)
        unit = "/".join(sorted(g.units()))
        long_labels = max(len(c) for c in g.cases) * len(g.cases) > 110
        script += [
            "set xtics %s" % ("rotate by -15" if long_labels else "norotate"),
            "set title %s" % gp_quote("%s (%s, log scale; higher is better)" % (g.name, unit)),
            "set ylabel %s" % gp_quote(unit),
            "set yrange [%g:*]" % (lowest / 3),
            "plot for [i=2:%d] %s using i:xtic(1) title columnheader(i)"
            % (len(g.impls) + 1, gp_quote(data)),
        ]
    script.append("unset multiplot")
    gp = os.path.join(outdir, "bench.gp")
    with open(gp, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    res = subprocess.run([gnuplot, gp], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print("report.py: gnuplot failed (%s); no chart" % res.stderr.strip(), file=sys.stderr)
        return None
    return "bench.png"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="bench-results", help="results directory")
    ap.add_argument("--command", default="make bench", help="the command that was run")
    ap.add_argument("--cc", default="cc", help="the C compiler, for its version")
    args = ap.parse_args()

    groups = read_results(os.path.join(args.dir, "results.tsv"))
    if not any(g.rows for g in groups):
        sys.exit("report.py: no RESULT lines in %s/results.tsv" % args.dir)
    commands = []
    try:
        with open(os.path.join(args.dir, "commands.txt"), encoding="utf-8") as f:
            commands = [c.strip() for c in f if c.strip()]
    except OSError:
        pass
    info = machine(args.cc)
    png = chart(groups, args.dir)
    sys.stdout.write(text_report(groups, info, args.command, commands))
    md = os.path.join(args.dir, "bench.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write(markdown_report(groups, info, args.command, commands, png))
    print("wrote %s%s" % (md, " and " + os.path.join(args.dir, png) if png else ""))


if __name__ == "__main__":
    main()
