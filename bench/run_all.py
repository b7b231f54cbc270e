"""Run every benchmark in bench/ against PostgreSQL and Redis and write bench/report.md.

Each script prints its figures, then one machine-readable line
`BASELINE <name> <figure> <baseline> <unit>` (the measured figure and the baseline measured in
the same run) and, last, `RESULT <name> <ratio or figure> target <target> met|missed`; the load
test (bench/load.py) prints `LOAD key=value ...` instead of BASELINE. The report has one row
per benchmark (figure, baseline, ratio, target, verdict, duration), the load test's figures,
and every script's full output.

Defaults need no exports: BENCH_DATABASE_URL (or a PostgreSQL DATABASE_URL) else
postgres://postgres@127.0.0.1:5432/omni_bench, created when missing (scripts that need a
database of their own create it on the same server); BENCH_BROKER_URL else
redis://127.0.0.1:6379/6; BENCH_CACHE_URL else redis://127.0.0.1:6379/7.
Usage: python bench/run_all.py [--quick] [--only load,quote] [--note TEXT] [--out PATH]
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from common import ensure_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/omni_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/6"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/7"
NOT_BENCHMARKS = {"run_all.py", "common.py", "locustfile.py"}


def services() -> dict[str, str]:
    """The URLs the scripts run against, from the environment or the local defaults."""
    database = os.environ.get("BENCH_DATABASE_URL") or ""
    if not database and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        database = os.environ["DATABASE_URL"]
    return {
        "database": database or DEFAULT_DATABASE_URL,
        "broker": os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER_URL,
        "cache": os.environ.get("BENCH_CACHE_URL") or DEFAULT_CACHE_URL,
    }


def preflight(urls: dict[str, str]) -> str | None:
    """None when PostgreSQL (the bench database created if missing) and Redis answer, else why
    not."""
    if not urls["database"].startswith("postgres"):
        return f"the bench database must be PostgreSQL, not {urls['database']!r}"
    try:
        if ensure_database(urls["database"]):
            print(f"created database {urls['database'].rsplit('/', 1)[-1]}")
    except Exception as exc:
        return f"PostgreSQL at {urls['database']} is not reachable: {exc}"
    import redis

    for kind in ("broker", "cache"):
        try:
            redis.Redis.from_url(urls[kind], socket_connect_timeout=3).ping()
        except Exception as exc:
            return f"Redis ({kind}) at {urls[kind]} is not reachable: {exc}"
    return None


def parse(lines: list[str]) -> dict:
    """The RESULT, BASELINE and LOAD lines of a script's output."""
    found: dict = {}
    for line in lines:
        words = line.split()
        if not words:
            continue
        if words[0] == "RESULT" and len(words) == 6 and words[3] == "target":
            found["result"] = {
                "name": words[1],
                "figure": words[2],
                "target": words[4],
                "verdict": words[5],
            }
        elif words[0] == "BASELINE" and len(words) == 5:
            found["baseline"] = {"figure": words[2], "baseline": words[3], "unit": words[4]}
        elif words[0] == "LOAD":
            found["load"] = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    return found


def row(script: str, run: dict) -> str:
    parsed = run["parsed"]
    took = f"{run['seconds']:.0f} s"
    if "result" not in parsed:
        return f"| {script} | failed (exit {run['returncode']}) | | | | | {took} |"
    result = parsed["result"]
    if "baseline" in parsed:
        unit = parsed["baseline"]["unit"]
        figure = f"{parsed['baseline']['figure']} {unit}"
        baseline = f"{parsed['baseline']['baseline']} {unit}"
        ratio = result["figure"]
    elif "load" in parsed:
        load = parsed["load"]
        figure = f"{load.get('rps', '?')} req/s, p95 {load.get('p95_ms', '?')} ms"
        baseline, ratio = "none (absolute targets)", f"{result['figure']} errors"
    else:
        figure, baseline, ratio = result["figure"], "not printed", result["figure"]
    return (
        f"| {result['name']} | {figure} | {baseline} | {ratio} | {result['target']} "
        f"| {result['verdict']} | {took} |"
    )


def load_section(run: dict) -> list[str]:
    load = run["parsed"].get("load")
    result = run["parsed"].get("result")
    if not load or not result:
        return []
    return [
        "## Load test",
        "",
        f"locust storefront mix (browse, availability, quote, place order, read order) over "
        f"three channels and a hot SKU for {load.get('seconds', '?')} s against gunicorn on "
        "127.0.0.1 with PostgreSQL and Redis (`make load`; output below).",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
        f"| throughput | {load.get('rps', '?')} req/s ({load.get('requests', '?')} requests) | |",
        f"| p95 latency, all requests | {load.get('p95_ms', '?')} ms | |",
        f"| error rate (409 insufficient_stock is an expected answer) "
        f"| {load.get('error_rate', '?')}% | 0% |",
        f"| orders placed / refused 409 | {load.get('orders', '?')} / "
        f"{load.get('refused409', '?')} | |",
        f"| oversell problems | {load.get('oversell', '?')} | 0 |",
        f"| ledger reconciles (inventory_reconcile) | {load.get('reconciled', '?')} | yes |",
        f"| verdict | {result['verdict']} | |",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute each)")
    parser.add_argument("--only", help="comma-separated script names (without .py) to run")
    parser.add_argument("--note", default="", help="a line to add to the report's header")
    parser.add_argument("--out", default=str(BENCH / "report.md"), help="where to write it")
    args = parser.parse_args()
    urls = services()
    problem = preflight(urls)
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "DATABASE_URL": urls["database"],
        "BENCH_BROKER_URL": urls["broker"],
        "CACHE_URL": urls["cache"],
    }
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in NOT_BENCHMARKS)
    if args.only:
        wanted = {name.strip().removesuffix(".py") for name in args.only.split(",")}
        scripts = [p for p in scripts if p.stem in wanted]
    load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    began = time.perf_counter()
    runs: dict[str, dict] = {}
    for script in scripts:
        print(f"== {script.name}", flush=True)
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=900 if args.quick else 5400,
            )
            stdout, stderr, returncode = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            stderr, returncode = f"timed out after {exc.timeout} s", "timeout"
        seconds = time.perf_counter() - started
        output = stdout.strip().splitlines()
        runs[script.name] = {
            "output": output,
            "stderr": stderr,
            "returncode": returncode,
            "seconds": seconds,
            "parsed": parse(output),
        }
        print("\n".join(output[-14:]))
        print(f"({seconds:.0f} s)", flush=True)
    total = time.perf_counter() - began

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load_after = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    mode = "quick (`make bench BENCH_ARGS=--quick`)" if args.quick else "full (`make bench`)"
    report = [
        "# Omni benchmark report",
        "",
        f"Generated {now} from commit {commit or 'unknown'}, {mode} run, on "
        f"{os.cpu_count()} cores; load average {load_before} before and {load_after} after; "
        f"{total / 60:.1f} minutes in all.",
        *([f"**Note:** {args.note}"] if args.note else []),
        "Every figure is measured against a baseline taken in the same run, by the same script;",
        "the ratio and the verdict are the script's own (its `RESULT` line).",
        "Reproduce: `make bench` (full) or `make bench BENCH_ARGS=--quick`; `make load` runs the",
        "load test alone. Defaults: PostgreSQL and Redis on 127.0.0.1 (see README).",
        "",
        "| benchmark | figure | baseline | ratio | target | verdict | duration |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(row(name, run) for name, run in runs.items()),
        "",
    ]
    for run in runs.values():
        report += load_section(run)
    for name, run in runs.items():
        report += [f"## {name}", "", "```", *run["output"], "```", ""]
        if "result" not in run["parsed"]:
            report += ["stderr (last 3000 characters):", "", "```", run["stderr"][-3000:], "```"]
            report.append("")
    Path(args.out).write_text("\n".join(report))
    print(f"wrote {args.out} ({total / 60:.1f} minutes)")
    return 0 if all("result" in run["parsed"] for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
