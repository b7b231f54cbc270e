"""Run every benchmark in bench/ and write bench/report.md from their RESULT lines.

Each script prints, as its last line, `RESULT <name> <figure> target <target> met|missed`;
the lines before it are the figures and baselines it measured, copied into the report.
Usage: python bench/run_all.py [--quick]
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute each)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("bench needs DATABASE_URL pointing at PostgreSQL", file=sys.stderr)
        return 2
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in {"run_all.py", "common.py"})
    sections, results = [], []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        output = proc.stdout.strip().splitlines()
        print("\n".join(output[-12:]))
        last = output[-1] if output else ""
        if proc.returncode != 0 or not last.startswith("RESULT "):
            results.append(f"| {script.stem} | failed (exit {proc.returncode}) | | |")
            sections.append(f"## {script.name}\n\n```\n{proc.stderr[-3000:]}\n```\n")
            continue
        _, name, figure, _, target, verdict = last.split(maxsplit=5)
        results.append(f"| {name} | {figure} | {target} | {verdict} |")
        body = "\n".join(output)
        sections.append(f"## {script.name}\n\n```\n{body}\n```\n")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick" if args.quick else "full"
    report = [
        "# Omni benchmark report",
        "",
        f"Generated {now} by `make bench` ({mode} run) on {os.cpu_count()} cores.",
        "Every figure is measured against a baseline taken in the same run.",
        "",
        "| benchmark | figure | target | verdict |",
        "| --- | --- | --- | --- |",
        *results,
        "",
        *sections,
    ]
    (BENCH / "report.md").write_text("\n".join(report))
    print(f"wrote {BENCH / 'report.md'}")
    return 0 if all("failed" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
