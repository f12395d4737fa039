"""Embedded history budgets: CPU of writing it, and disk per series-day.

Two collectors (manual clock, no server) fold the same simulated traffic: 500 calls/s
across 40 APIs x 20 orgs (800 series), 30 000 calls a minute, in fold batches of 2048 as
the hot path triggers them; one collector writes history to a temporary file, the other
does not. Over one simulated hour, each minute is folded and then a housekeeping run
writes the closed minutes. The history's cost is the difference in process CPU time
(the rollup builder's share of each fold plus the housekeeping write), given as a
percentage of one core over the simulated wall time:

* history writing <= 1 % of a core at 500 calls/s;
* disk bytes per series-day at minute resolution (1440 minute rows + 24 hour rows of
  one API x org), measured as the file's size after the hour / 800 series x 24;
* the longest retention step (the write lock a prune holds: one DELETE of <= 5000 rows
  and an incremental vacuum of 256 pages), pruning the whole hour: <= 250 ms.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core import ManualClock, MetricConfig, MetricsCollector
from medical_insurance_sdk.core.collection.staged import STAGED_WIDTH, StagedCall
from medical_insurance_sdk.core.history import HistoryWriter

__all__ = ["run"]

APIS = tuple(f"{1101 + i}" for i in range(40))
ORGS = tuple(f"H430105{i:05d}" for i in range(20))
PER_MINUTE = 30_000  # 500 calls/s
MINUTES = 60
BATCH = 2048
START = 1_700_000_000.0 - 1_700_000_000.0 % 3600


def _collector(path: Path | None) -> MetricsCollector:
    config = MetricConfig(
        prometheus_port=0,
        background=False,
        system_metrics_enabled=False,
        max_memory_metrics=100_000,
        history_path=None if path is None else str(path),
    )
    return MetricsCollector(config, clock=ManualClock(START))


def _minute(rng: random.Random, minute: int, wall_offset: float) -> list[Any]:
    """One minute of staged calls (flattened StagedCall fields), in end-time order."""
    base = START + minute * 60.0
    fields: list[Any] = []
    for t in sorted(rng.uniform(0, 60) for _ in range(PER_MINUTE)):
        ok = rng.random() > 0.03
        call = StagedCall.from_seconds(
            base + t,
            rng.lognormvariate(-2.3, 0.7),
            rng.choice(APIS),
            rng.choice(ORGS),
            ok,
            None if ok else rng.choice(("BIZ_REFUSED", "TIMEOUT_READ", "HTTP_502")),
            None,
            300,
            2000,
            None,
            wall_offset=wall_offset,
        )
        fields.extend(call)
    return fields


def _fold(c: MetricsCollector, fields: list[Any], width: int) -> float:
    """CPU seconds of folding ``fields`` in hot-path-sized batches."""
    spent = 0.0
    step = BATCH * width
    for i in range(0, len(fields), step):
        c.store.staging.extend(fields[i : i + step])
        t0 = time.process_time()
        c.store.fold()
        spent += time.process_time() - t0
    return spent


def _housekeeping(c: MetricsCollector) -> float:
    t0 = time.process_time()
    c.run_housekeeping()
    return time.process_time() - t0


def _prune_step_ms(path: Path) -> float:
    """The longest wall time of one retention step (the write lock it holds), ms."""
    writer = HistoryWriter(path, minute_days=1, hour_days=1)
    later = START + 30 * 86400.0  # everything expired
    longest = 0.0
    done = False
    while not done:
        t0 = time.perf_counter()
        done = writer.prune(max_steps=1, now=later).done
        longest = max(longest, time.perf_counter() - t0)
    writer.close()
    return longest * 1000.0


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    rng = random.Random(11)
    width = STAGED_WIDTH
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite"
        plain, history = _collector(None), _collector(path)
        clocks = [c.clock for c in (plain, history)]
        extra = 0.0
        write_cpu = 0.0
        for minute in range(MINUTES):
            fields = _minute(rng, minute, plain.store.wall_offset)
            extra += _fold(history, fields, width) - _fold(plain, fields, width)
            for clock in clocks:
                assert isinstance(clock, ManualClock)
                clock.advance(60.0)
            spent = _housekeeping(history)
            write_cpu += spent
            extra += spent - _housekeeping(plain)
        history.shutdown()
        plain.shutdown()
        errors = history.monitoring_health()["errors"]
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, free, size = (
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_count", "freelist_count", "page_size")
            )
        conn.close()
        step_ms = _prune_step_ms(path)  # after the size: it empties the file
    used = (pages - free) * size
    series = len(APIS) * len(ORGS)
    per_series_day = used / series * 24
    percent = max(extra, 0.0) / (MINUTES * 60.0) * 100.0
    write_percent = write_cpu / (MINUTES * 60.0) * 100.0
    return [
        {
            "name": "history CPU at 500 calls/s, 800 series",
            "value": percent,
            "unit": "%",
            "budget": "<= 1",
            "ok": percent <= 1.0 and not errors,
        },
        {
            "name": "  of which the housekeeping write",
            "value": write_percent,
            "unit": "%",
            "budget": "",
            "ok": True,
        },
        {
            "name": "longest retention step (5000 rows + vacuum)",
            "value": step_ms,
            "unit": "ms",
            "budget": "<= 250",
            "ok": step_ms <= 250.0,
        },
        {
            "name": "history bytes per series-day (minute res.)",
            "value": round(per_series_day),
            "unit": "B",
            "budget": "",
            "ok": True,
        },
        {
            "name": "history file after 1 h of 800 series",
            "value": round(used / 1e6, 2),
            "unit": "MB",
            "budget": "",
            "ok": True,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
