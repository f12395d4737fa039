"""Reading a window of rollups from the history file: hour rows inside, minute rows at the edges.

``[since, until)`` is split into the whole hours it contains (read from hour rows) and
the edges (read from minute rows). Where minute rows have expired (retention), the edge
is read from the hour rows that hold it, so the window widens to whole hours there. Rows
of every writer (or one writer's) are summed per (interval, API, org).
"""

from __future__ import annotations

import math
import sqlite3

from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.codec import COLUMNS, decode_rows
from medical_insurance_sdk.core.history.schema import HOUR_RES, MINUTE_RES, table

__all__ = ["read_codes", "read_series", "read_window"]

_SELECT = "SELECT {columns} FROM {table} WHERE start >= ? AND start < ?"


def read_series(conn: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    """Series id -> (api_code, org_code)."""
    return {
        int(i): (str(a), str(o))
        for i, a, o in conn.execute("SELECT id, api_code, org_code FROM series")
    }


def read_codes(conn: sqlite3.Connection) -> dict[int, str]:
    """Error code id -> code."""
    return {int(i): str(c) for i, c in conn.execute("SELECT id, code FROM error_codes")}


def _floor(t: float) -> float:
    return math.floor(t / HOUR_RES) * HOUR_RES


def _ceil(t: float) -> float:
    return math.ceil(t / HOUR_RES) * HOUR_RES


def _plan(
    since: float, until: float, minute_floor: float | None, fine: bool = False
) -> list[tuple[int, float, float]]:
    """(resolution, from, to) ranges of interval starts that cover ``[since, until)``.

    ``fine``: minute rows wherever they exist (hour rows only where minutes expired).
    """
    h0, h1 = _ceil(since), _floor(until)
    if h0 >= h1 or fine:  # no whole hour inside (or minutes wanted): minutes only
        edges, hours = [(since, until)], []
    else:
        edges, hours = [(since, h0), (h1, until)], [(h0, h1)]
    plan = [(HOUR_RES, a, b) for a, b in hours]
    for a, b in edges:
        if a >= b:
            continue
        if minute_floor is None or a < minute_floor:  # minutes expired: whole hours instead
            covered = _ceil(b if minute_floor is None else min(b, minute_floor))
            plan.append((HOUR_RES, _floor(a), covered))
        first = a if minute_floor is not None and a >= minute_floor else max(a, covered)
        if first < b:
            plan.append((MINUTE_RES, first, b))
    return plan


def read_window(
    conn: sqlite3.Connection,
    since: float,
    until: float,
    *,
    api_code: str | None = None,
    writer: int | None = None,
    fine: bool = False,
) -> RollupFrame:
    """Rollups starting in ``[since, until)`` summed over writers (or one ``writer``'s).

    ``fine``: minute rows wherever they have not expired (see :func:`_plan`).

    The queries run in one read transaction, so they see one state of the file.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        return _read(conn, since, until, api_code, writer, fine)
    finally:
        if own:
            conn.execute("COMMIT")


def _read(
    conn: sqlite3.Connection,
    since: float,
    until: float,
    api_code: str | None,
    writer: int | None,
    fine: bool = False,
) -> RollupFrame:
    row = conn.execute(f"SELECT MIN(start) FROM {table(MINUTE_RES)}").fetchone()
    minute_floor = None if row is None or row[0] is None else float(row[0])
    where, extra = "", list[object]()
    if api_code is not None:
        where += " AND series IN (SELECT id FROM series WHERE api_code = ?)"
        extra.append(api_code)
    if writer is not None:
        where += " AND writer = ?"
        extra.append(writer)
    series, codes = read_series(conn), read_codes(conn)
    frames = []
    for res, a, b in _plan(since, until, minute_floor, fine):
        select = _SELECT.format(columns=", ".join(COLUMNS), table=table(res))
        rows = conn.execute(select + where, (a, b, *extra)).fetchall()
        frames.append(decode_rows(rows, res, series, codes))
    return RollupFrame.concat(frames).merge()
