"""Retention of the history file: bounded delete steps and incremental vacuum.

Minute rows older than ``minute_days`` and hour rows older than ``hour_days`` are deleted
in steps of at most ``batch`` rows, each its own short transaction, and the freed pages
are returned to the file system a few at a time (``PRAGMA incremental_vacuum(N)``), so a
writer in another process never waits long for pruning.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from medical_insurance_sdk.core.history.schema import HOUR_RES, MINUTE_RES, table

__all__ = ["PruneResult", "cutoffs", "prune", "prune_step"]

DAY = 86400.0


@dataclass(frozen=True)
class PruneResult:
    """Rows deleted per resolution, and whether everything due was deleted."""

    minute_rows: int
    hour_rows: int
    done: bool


def cutoffs(now: float, minute_days: float, hour_days: float) -> tuple[float, float]:
    """Interval starts below which minute rows and hour rows are deleted."""
    return now - minute_days * DAY, now - hour_days * DAY


def prune_step(conn: sqlite3.Connection, res: int, cutoff: float, batch: int) -> tuple[int, bool]:
    """Delete about ``batch`` rows of resolution ``res`` older than ``cutoff``.

    Whole intervals go at once (the bound is the start of the ``batch``-th oldest row, or
    the oldest interval when it alone holds more). Returns the rows deleted and whether
    expired rows remain.
    """
    if batch < 1:
        raise ValueError(f"prune batch must be >= 1 (got {batch!r})")
    name = table(res)
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            f"SELECT start FROM {name} WHERE start < ? ORDER BY start LIMIT 1 OFFSET ?",
            (cutoff, batch),
        ).fetchone()
        bound = cutoff if row is None else min(cutoff, float(row[0]))
        if (
            row is not None
            and bound <= conn.execute(f"SELECT MIN(start) FROM {name}").fetchone()[0]
        ):
            bound = float(row[0]) + 1  # one interval holds more than a batch: take it whole
        deleted = conn.execute(f"DELETE FROM {name} WHERE start < ?", (bound,)).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(deleted), row is not None


def prune(
    conn: sqlite3.Connection,
    minute_cutoff: float,
    hour_cutoff: float,
    *,
    batch: int = 5000,
    max_steps: int | None = None,
    vacuum_pages: int = 256,
) -> PruneResult:
    """Delete expired rows in bounded steps: at most ``max_steps`` per table (all of them
    when None)."""
    totals = {MINUTE_RES: 0, HOUR_RES: 0}
    done = True
    for res, cutoff in ((MINUTE_RES, minute_cutoff), (HOUR_RES, hour_cutoff)):
        steps = 0
        while True:
            if max_steps is not None and steps >= max_steps:
                done = False
                break
            deleted, more = prune_step(conn, res, cutoff, batch)
            steps += 1
            totals[res] += deleted
            if deleted:
                conn.execute(f"PRAGMA incremental_vacuum({int(vacuum_pages)})").fetchall()
            if not more:
                break
    if done:
        conn.execute("PRAGMA incremental_vacuum").fetchall()
    return PruneResult(totals[MINUTE_RES], totals[HOUR_RES], done)
