"""Shared helpers for bench scripts: Django set-up against DATABASE_URL and figure printing."""

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set DATABASE_URL")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    import django

    django.setup()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def result(name: str, figure: float | str, target: str, met: bool) -> None:
    shown = f"{figure:.2f}" if isinstance(figure, float) else str(figure)
    print(f"RESULT {name} {shown} target {target} {'met' if met else 'missed'}", flush=True)
