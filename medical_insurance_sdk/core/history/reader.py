"""HistorySource: the embedded history file as a source of rollups, and its summary.

:class:`HistorySource` implements
:class:`~medical_insurance_sdk.core.history.source.RollupSource`: ``rollups(since,
until)`` sums the rows of every writer (every process that shares the file), reading
hour rows for the whole hours inside the window and minute rows at its edges (see
:mod:`.query`). It opens the file read-only (``mode=ro``) for each query, so it never
holds a lock between queries and sees what writers committed since. A missing file, a
file that is not a history (or is corrupt) and a file from a newer schema raise
:class:`~medical_insurance_sdk.core.history.source.SourceError` naming the file; a file
without rows answers an empty frame. :meth:`HistorySource.describe` is what
``misdk history`` prints.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.query import read_window
from medical_insurance_sdk.core.history.schema import (
    HOUR_RES,
    MINUTE_RES,
    check_version,
    connect,
    source_name,
    table,
)
from medical_insurance_sdk.core.history.source import SourceError, check_window

__all__ = ["HistorySource", "HistorySummary", "WriterInfo"]

Span = tuple[float, float] | None


@dataclass(frozen=True)
class WriterInfo:
    """One process that wrote to the file."""

    id: int
    pid: int
    host: str
    started: float
    last_write: float | None


@dataclass(frozen=True)
class HistorySummary:
    """What a history file holds."""

    path: str
    schema_version: int | None
    size_bytes: int
    series: int
    api_codes: int
    org_codes: int
    minute_rows: int
    hour_rows: int
    minute_span: tuple[float, float] | None
    hour_span: tuple[float, float] | None
    calls: int
    writers: tuple[WriterInfo, ...]


class HistorySource:
    """Rollups from the embedded SQLite history, summed over every writer."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout

    @property
    def name(self) -> str:
        return source_name(self.path)

    def now(self) -> float:
        """Wall-clock time: the history is written in real time."""
        return time.time()

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        conn = connect(self.path, read_only=True, busy_timeout=self.busy_timeout)
        try:
            try:
                if check_version(conn, self.path) is None:
                    raise SourceError(self.name, "the file holds no history tables")
            except sqlite3.DatabaseError as exc:
                raise SourceError(self.name, f"not a readable history file: {exc}") from None
            try:
                yield conn
            except sqlite3.DatabaseError as exc:
                raise SourceError(self.name, f"cannot read the history: {exc}") from None
        finally:
            conn.close()

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """Rollups whose interval starts in ``[since, until)``, every writer summed.

        Hour rows for whole hours inside the window, unless ``fine``: then minute rows
        wherever they have not expired.
        """
        a, b = check_window(since, until)
        with self._open() as conn:
            return read_window(conn, a, b, api_code=api_code, fine=fine)

    def describe(self) -> HistorySummary:
        """Series, span, size and writers of the file."""
        with self._open() as conn:
            version = check_version(conn, self.path)
            conn.execute("BEGIN")
            counts = {
                res: conn.execute(
                    "SELECT COUNT(*), MIN(start), MAX(start), COALESCE(SUM(calls), 0) "
                    f"FROM {table(res)}"
                ).fetchone()
                for res in (MINUTE_RES, HOUR_RES)
            }
            series, apis, orgs = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT api_code), COUNT(DISTINCT org_code) FROM series "
                f"WHERE id IN (SELECT DISTINCT series FROM {table(HOUR_RES)})"
            ).fetchone()
            writers = tuple(
                WriterInfo(int(i), int(p), str(h), float(s), None if w is None else float(w))
                for i, p, h, s, w in conn.execute(
                    "SELECT id, pid, host, started, last_write FROM writers ORDER BY id"
                )
            )
            conn.execute("COMMIT")
        minute, hour = counts[MINUTE_RES], counts[HOUR_RES]

        def span(row: tuple[int, float | None, float | None, int], res: int) -> Span:
            low, high = row[1], row[2]
            return None if low is None or high is None else (float(low), float(high) + res)

        size = sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))
        return HistorySummary(
            path=self.path,
            schema_version=version,
            size_bytes=size,
            series=int(series),
            api_codes=int(apis),
            org_codes=int(orgs),
            minute_rows=int(minute[0]),
            hour_rows=int(hour[0]),
            minute_span=span(minute, MINUTE_RES),
            hour_span=span(hour, HOUR_RES),
            calls=int(hour[3]),
            writers=writers,
        )
