"""Anomaly detection budgets: the NAB standard score of the detector, and its throughput.

* The Numenta Anomaly Benchmark's standard score of ``AnomalyDetector()`` (defaults) on the
  NAB part in ``../shared/nab`` (beside the project root), scored by :mod:`bench.nab_score`
  from the rules in its README: >= 60. Skipped, saying so, when the data is not there (a
  clean clone in CI has no ``../shared``); ``NAB_DATA_DIR`` names another copy. Also printed:
  the scores of its two halves (files in name order, even and odd positions; each half has
  its own best threshold, as a held-out part would) and the time the detector took.
* Scoring throughput on a synthetic series of 20,000 five-minute points: >= 5,000 points/s.

``python -m bench.bench_anomaly`` prints the per-profile scores and the rows.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.nab_score import CorpusResult, load_corpus, score_corpus
from medical_insurance_sdk.core import AnomalyDetector

__all__ = ["find_nab", "run"]

NAB_BUDGET = 60.0
THROUGHPUT_BUDGET = 5_000.0
ROOT = Path(__file__).resolve().parent.parent


def find_nab() -> Path | None:
    """The NAB directory (``$NAB_DATA_DIR`` or ``../shared/nab``), or None when absent."""
    named = os.environ.get("NAB_DATA_DIR")
    candidate = Path(named) if named else ROOT.parent / "shared" / "nab"
    if (candidate / "labels" / "combined_windows.json").is_file():
        return candidate
    return None


def _monotone(timestamps: np.ndarray) -> np.ndarray:
    """NAB timestamps that step back (daylight-saving changes) held at the latest one seen."""
    return np.maximum.accumulate(timestamps)


def _detect(timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    return AnomalyDetector().score(_monotone(timestamps), values)


def nab_rows() -> list[dict[str, Any]]:
    """The NAB row (with per-profile detail printed), or a skipped row when data is absent."""
    root = find_nab()
    name = "NAB standard score (shared part)"
    if root is None:
        where = os.environ.get("NAB_DATA_DIR") or str(ROOT.parent / "shared" / "nab")
        print(f"(skipped {name}: data not found at {where}; set NAB_DATA_DIR)")
        return []
    files = load_corpus(root)
    t0 = time.perf_counter()
    scored = [(_detect(f.timestamps, f.values), f.windows) for f in files]
    elapsed = time.perf_counter() - t0
    result = score_corpus(scored)
    for p in result.profiles.values():
        print(
            f"  NAB {p.profile:<20} {p.score:6.1f}  (threshold {p.threshold:.4f}, windows "
            f"caught {p.true_positives}, missed {p.false_negatives}, "
            f"false-positive rows {p.false_positive_rows})"
        )
    for label, half in (("even", scored[0::2]), ("odd", scored[1::2])):
        print(f"  NAB half ({label:<4} files)     {_three(score_corpus(half))}")
    rows = sum(f.values.size for f in files)
    print(f"  NAB detector time          {elapsed:6.1f} s for {rows} rows")
    return [
        {
            "name": f"{name}, {len(files)} files",
            "value": result.standard,
            "unit": "",
            "budget": f">= {NAB_BUDGET:g}",
            "ok": result.standard >= NAB_BUDGET,
        }
    ]


def _three(result: CorpusResult) -> str:
    """Standard / low-FP / low-FN scores, as ``56.0 / 35.2 / 65.1``."""
    return " / ".join(f"{p.score:.1f}" for p in result.profiles.values())


def throughput_row() -> dict[str, Any]:
    """Points scored per second on a 20,000-point daily-seasonal series (best of 3)."""
    rng = np.random.default_rng(11)
    ts = 1_700_000_000.0 + 300.0 * np.arange(20_000)
    values = 50 + 20 * np.sin(2 * np.pi * ts / 86_400.0) + rng.normal(0, 3, ts.size)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        AnomalyDetector().score(ts, values)
        best = min(best, time.perf_counter() - t0)
    rate = ts.size / best
    return {
        "name": "AnomalyDetector.score throughput (20k points)",
        "value": rate,
        "unit": "pt/s",
        "budget": f">= {THROUGHPUT_BUDGET:g}",
        "ok": rate >= THROUGHPUT_BUDGET,
    }


def run() -> list[dict[str, Any]]:
    """Measure the budgets; rows ``{name, value, unit, budget, ok}``."""
    return [*nab_rows(), throughput_row()]


if __name__ == "__main__":
    rows = run()
    for r in rows:
        mark = "yes" if r["ok"] else "NO"
        print(f"{r['name']:<50}{r['value']:>12.1f}  {r['unit']:<5}{r['budget']:>10}  {mark}")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)
