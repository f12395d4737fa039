"""The history file's schema: tables, version check and how a connection is opened.

One SQLite file (WAL journal, ``auto_vacuum=INCREMENTAL``) holds:

* ``meta(key, value)``: ``schema_version`` (:data:`SCHEMA_VERSION`); a file written by a
  newer schema is refused with :class:`~medical_insurance_sdk.core.history.source.SourceError`
  naming the file and both versions;
* ``writers(id, pid, host, started, last_write)``: one row per process that wrote;
* ``series(id, api_code, org_code)`` and ``error_codes(id, code)``: string tables;
* ``rollups_60`` and ``rollups_3600`` (minute and hour rows): one row per (interval
  start, series, writer): the calls, the other
  :class:`~medical_insurance_sdk.core.collection.rollups.RollupFrame` figures packed in
  one BLOB, the histogram and error codes as BLOBs (see :mod:`.codec`). ``WITHOUT
  ROWID``: the primary key is the table, so rows cost no second index. Two tables, so
  that the minutes written each run are appended at the end of their B-tree (full pages)
  instead of being inserted before the hour rows (half-full pages after each split).

Size, measured (``bench/bench_history.py``, one simulated hour, file pages in use): one
series-day at minute resolution (1440 minute rows and 24 hour rows) takes **≈ 375 kB at
37.5 calls a minute** (500 calls/s over 40 APIs × 20 orgs); minutes without calls take
nothing. A row's fixed part is its key, its calls and the 88-byte packed figures; each
non-empty latency bucket adds 3 B. With the default retention (14 days of minutes, 400
days of hours) the 800 series of a 500 calls/s gateway hold ≈ 4.2 GB of minutes and
≈ 6.5 GB of hours.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from medical_insurance_sdk.core.history.source import SourceError

__all__ = [
    "HOUR_RES",
    "MINUTE_RES",
    "SCHEMA_VERSION",
    "check_version",
    "connect",
    "ensure_schema",
    "source_name",
    "table",
]

#: The version this code writes and reads; older files are read, newer ones refused.
SCHEMA_VERSION = 1
MINUTE_RES = 60
HOUR_RES = 3600
#: Bytes per page of a new file. Hour rows (1-2 kB) grow at every write during their hour;
#: with 4 kB pages each split left them a quarter full, with 16 kB pages about 3/4.
PAGE_SIZE = 16384

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS writers (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " pid INTEGER NOT NULL, host TEXT NOT NULL, started REAL NOT NULL, last_write REAL)",
    "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, api_code TEXT NOT NULL, "
    "org_code TEXT NOT NULL, UNIQUE (api_code, org_code))",
    "CREATE TABLE IF NOT EXISTS error_codes (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)",
    *(
        f"CREATE TABLE IF NOT EXISTS rollups_{res} ("
        " start INTEGER NOT NULL, series INTEGER NOT NULL, writer INTEGER NOT NULL,"
        " calls INTEGER NOT NULL, stats BLOB NOT NULL,"
        " hist_index BLOB NOT NULL, hist_count BLOB NOT NULL,"
        " err_index BLOB NOT NULL, err_count BLOB NOT NULL,"
        " PRIMARY KEY (start, series, writer)) WITHOUT ROWID"
        for res in (MINUTE_RES, HOUR_RES)
    ),
)


def table(res: int) -> str:
    """The table holding rows of resolution ``res`` (60 or 3600)."""
    if res not in (MINUTE_RES, HOUR_RES):
        raise ValueError(f"history resolution must be 60 or 3600 (got {res!r})")
    return f"rollups_{res}"


def source_name(path: str | os.PathLike[str]) -> str:
    """``history:PATH``, the name sources and errors use."""
    return f"history:{os.fspath(path)}"


def connect(
    path: str | os.PathLike[str], *, read_only: bool = False, busy_timeout: float = 1.0
) -> sqlite3.Connection:
    """Open the history file (autocommit mode: transactions are explicit).

    ``read_only`` opens with ``mode=ro`` and raises :class:`SourceError` when the file is
    missing. A path starting with ``file:`` is taken as an SQLite URI as is.
    """
    raw = os.fspath(path)
    if raw.startswith("file:"):
        target, uri = raw, True
    elif read_only:
        if not Path(raw).is_file():
            raise SourceError(source_name(raw), "no such history file")
        target, uri = Path(raw).resolve().as_uri() + "?mode=ro", True
    else:
        target, uri = raw, False
    conn = sqlite3.connect(
        target, uri=uri, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    if not read_only:  # a new file's page size is fixed by its first read: set it first
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


def _version(conn: sqlite3.Connection) -> int | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if exists is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def check_version(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> int | None:
    """The file's schema version (None: empty file); SourceError when newer than ours."""
    version = _version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise SourceError(
            source_name(path),
            f"the history file {os.fspath(path)} has schema version {version}, newer than "
            f"version {SCHEMA_VERSION} this SDK reads; upgrade medical-insurance-sdk",
        )
    return version


def ensure_schema(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """Create the tables in a new file (WAL, incremental vacuum); check an existing one."""
    if check_version(conn, path) is not None:
        conn.execute("PRAGMA journal_mode = WAL")
        return
    # auto_vacuum takes effect only before the first table exists
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if check_version(conn, path) is None:  # another process may have won the race
            for statement in _TABLES:
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("PRAGMA journal_mode = WAL")
