"""HistoryWriter: one process's rollups into the shared history file.

Each process registers once in the ``writers`` table (pid, host, start time) and writes
only rows with its own writer id, so several processes (gunicorn workers) share one file
without ever updating each other's rows; readers sum over writers. A write is one
``BEGIN IMMEDIATE`` transaction: for every (minute, API, org) of the batch the existing
row of this writer, if any, is read and merged with the new rollup (a late batch for a
minute already written adds to it, never overwrites it), and the hour rows are updated
the same way, so long windows read hour rows. The file is opened lazily at the first
write, and again in a forked child (which registers as a writer of its own).

Errors (locked, corrupt, read-only or full file; a file from a newer schema) propagate
as ``sqlite3.Error`` or :class:`~medical_insurance_sdk.core.history.source.SourceError`;
the transaction is rolled back and the connection dropped, so the next write starts
afresh. The collector catches them at its boundary (:mod:`.recorder`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.rollups import HOUR, RollupFrame
from medical_insurance_sdk.core.history.codec import COLUMNS, decode_rows, encode_rows
from medical_insurance_sdk.core.history.query import read_codes, read_series, read_window
from medical_insurance_sdk.core.history.retention import PruneResult, cutoffs, prune
from medical_insurance_sdk.core.history.schema import (
    HOUR_RES,
    MINUTE_RES,
    connect,
    ensure_schema,
    source_name,
    table,
)

__all__ = ["HistoryWriter"]

logger = logging.getLogger(__name__)

#: SQLite's largest ``max_page_count`` (it clamps larger values): no bound.
_NO_PAGE_LIMIT = 4294967294
_INSERT = {
    res: f"INSERT OR REPLACE INTO {table(res)} ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
    for res in (MINUTE_RES, HOUR_RES)
}
_EXISTING = {
    res: f"SELECT {', '.join(COLUMNS)} FROM {table(res)} "
    "WHERE start = ? AND series = ? AND writer = ?"
    for res in (MINUTE_RES, HOUR_RES)
}


class HistoryWriter:
    """Writes rollups (minute rows and the hour rows they add to) for this process."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        minute_days: float = 14,
        hour_days: float = 400,
        busy_timeout: float = 1.0,
        max_pages: int | None = None,
        prune_batch: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for field, value in (("minute_days", minute_days), ("hour_days", hour_days)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"HistoryWriter.{field} must be > 0 and finite (got {value!r})")
        self.path = os.fspath(path)
        self.minute_days = float(minute_days)
        self.hour_days = float(hour_days)
        self.busy_timeout = busy_timeout
        #: Bound on the file in pages (SQLite ``max_page_count``); ``None``: no bound.
        self.max_pages = max_pages
        self.prune_batch = prune_batch
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._writer: int | None = None
        self._series: dict[tuple[str, str], int] = {}
        self._series_names: dict[int, tuple[str, str]] = {}
        self._codes: dict[str, int] = {}
        self._code_names: dict[int, str] = {}

    @property
    def name(self) -> str:
        return source_name(self.path)

    @property
    def writer_id(self) -> int | None:
        """This process's id in the ``writers`` table (None before the first write)."""
        return self._writer if self._pid == os.getpid() else None

    # -- connection ------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self._pid != os.getpid():  # first use, or a forked child: a writer of its own
            self._conn, self._writer = None, None
        conn = connect(self.path, busy_timeout=self.busy_timeout)
        try:
            ensure_schema(conn, self.path)
            self._series_names = read_series(conn)
            self._series = {pair: i for i, pair in self._series_names.items()}
            self._code_names = read_codes(conn)
            self._codes = {code: i for i, code in self._code_names.items()}
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        """Close the file (the next write opens it again)."""
        with self._lock:
            if self._pid == os.getpid():
                self._drop_connection()
            self._conn = None

    # -- writing ---------------------------------------------------------------------------
    def write(self, frame: RollupFrame) -> int:
        """Add minute rollups to this writer's rows (and hour rows); return rows written."""
        if not len(frame):
            return 0
        if np.any(frame.step != MINUTE_RES):
            raise ValueError("HistoryWriter.write takes minute rollups (step 60)")
        with self._lock:
            conn = self._connection()
            limit = _NO_PAGE_LIMIT if self.max_pages is None else int(self.max_pages)
            conn.execute(f"PRAGMA max_page_count = {limit}").fetchall()
            registering = self._writer is None
            try:
                conn.execute("BEGIN IMMEDIATE")
                if self._writer is None:  # registered with the first write (committed with it)
                    cursor = conn.execute(
                        "INSERT INTO writers (pid, host, started) VALUES (?, ?, ?)",
                        (os.getpid(), socket.gethostname(), self._clock()),
                    )
                    self._writer = int(cursor.lastrowid or 0)
                written = self._upsert(conn, MINUTE_RES, frame)
                written += self._upsert(conn, HOUR_RES, frame.merge(HOUR))
                conn.execute(
                    "UPDATE writers SET last_write = ? WHERE id = ?", (self._clock(), self._writer)
                )
                conn.execute("COMMIT")
            except BaseException:
                self._abort(conn)
                if registering:  # the registration was rolled back with the rows
                    self._writer = None
                raise
            return written

    def _abort(self, conn: sqlite3.Connection) -> None:
        """Roll back and forget the connection and the string caches it filled."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # dropped below either way; the first error is raised
            logger.debug("history rollback failed after an error: %s", exc)
        self._drop_connection()

    def _ids(
        self, conn: sqlite3.Connection, frame: RollupFrame
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Series id of each row and id of each of ``frame.error_codes`` (created if new)."""
        rows = zip(frame.api.tolist(), frame.org.tolist(), strict=True)
        for pair in {(frame.api_codes[a], frame.org_codes[o]) for a, o in rows}:
            if pair not in self._series:
                conn.execute(
                    "INSERT OR IGNORE INTO series (api_code, org_code) VALUES (?, ?)", pair
                )
                sid = int(
                    conn.execute(
                        "SELECT id FROM series WHERE api_code = ? AND org_code = ?", pair
                    ).fetchone()[0]
                )
                self._series[pair], self._series_names[sid] = sid, pair
        for code in frame.error_codes:
            if code not in self._codes:
                conn.execute("INSERT OR IGNORE INTO error_codes (code) VALUES (?)", (code,))
                cid = int(
                    conn.execute("SELECT id FROM error_codes WHERE code = ?", (code,)).fetchone()[0]
                )
                self._codes[code], self._code_names[cid] = cid, code
        by_pair = np.array(
            [[self._series.get((a, o), -1) for o in frame.org_codes] for a in frame.api_codes],
            dtype=np.int64,
        ).reshape(len(frame.api_codes), len(frame.org_codes))
        series = by_pair[frame.api, frame.org]
        codes = np.array([self._codes[c] for c in frame.error_codes], dtype=np.int64)
        return series, codes

    def _upsert(self, conn: sqlite3.Connection, res: int, frame: RollupFrame) -> int:
        series, codes = self._ids(conn, frame)
        starts = frame.start.astype(np.int64).tolist()
        found = []
        for start, sid in zip(starts, series.tolist(), strict=True):
            row = conn.execute(_EXISTING[res], (start, sid, self._writer)).fetchone()
            if row is not None:
                found.append(row)
        if found:  # a late batch: add to the rows already written, never overwrite them
            old = decode_rows(found, res, self._series_names, self._code_names)
            frame = RollupFrame.concat([old, frame]).merge()
            series, codes = self._ids(conn, frame)
        rows = encode_rows(frame, self._writer or 0, series, codes)
        rows.sort(key=lambda row: (row[0], row[1]))  # key order: appended at the B-tree's end
        conn.executemany(_INSERT[res], rows)
        return len(rows)

    # -- reading and retention -----------------------------------------------------------
    def own_rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """This process's rows starting in ``[since, until)`` (empty before any write)."""
        with self._lock:
            if self.writer_id is None:
                return RollupFrame.empty()
            conn = self._connection()
            return read_window(
                conn, since, until, api_code=api_code, writer=self._writer, fine=fine
            )

    def prune(self, *, max_steps: int | None = None, now: float | None = None) -> PruneResult:
        """Delete rows past retention, in steps (all when ``max_steps`` is None)."""
        with self._lock:
            conn = self._connection()
            when = self._clock() if now is None else now
            minute_cutoff, hour_cutoff = cutoffs(when, self.minute_days, self.hour_days)
            try:
                return prune(
                    conn, minute_cutoff, hour_cutoff, batch=self.prune_batch, max_steps=max_steps
                )
            except BaseException:
                self._abort(conn)
                raise
