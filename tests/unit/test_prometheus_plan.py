"""How PrometheusSource splits a window into queries (plan_pieces, no server needed)."""

from __future__ import annotations

import itertools

from medical_insurance_sdk.core.history.prometheus_source import Piece, plan_pieces

T = 1_800_000_000.0  # a whole hour


def covered(pieces: list[Piece]) -> list[tuple[float, float]]:
    """(start, end) of every row the pieces read, in time order."""
    rows = []
    for p in pieces:
        if p.instant:
            rows.append((p.first, p.end))
            continue
        start = p.first
        while start + p.length <= p.end + 1e-6:
            rows.append((start, start + p.length))
            start += p.length
    return sorted(rows)


def test_a_short_window_is_minute_rows_then_the_minute_in_progress():
    """Rows start on the first whole minute; the minute in progress is read up to now."""
    now = T + 3600 + 25.5
    pieces = plan_pieces(T - 30, T + 7200, now)
    assert [(p.length, p.instant) for p in pieces] == [(60.0, False), (60.0, True)]
    rows = covered(pieces)
    assert rows[0] == (T, T + 60)
    assert rows[-1] == (T + 3600, now)
    assert len(rows) == 61
    assert all(a[1] == b[0] for a, b in itertools.pairwise(rows))


def test_a_long_window_is_one_query_of_equal_rows_up_to_now():
    """Past fine_window: equal rows of about an hour from the first minute to now."""
    now = T + 86400 - 0.25
    (piece,) = plan_pieces(T - 86400, T + 86400, now, fine_window=6 * 3600)
    assert not piece.instant
    assert piece.instances is None
    assert piece.first == T - 86400
    assert 3500 < piece.length <= 3600
    assert round(piece.length * 1000) == piece.length * 1000  # whole milliseconds
    rows = round((piece.end - piece.first) / piece.length)
    assert now - 0.001 * rows <= piece.end <= now  # each row loses under 1 ms


def test_restarted_instances_are_read_apart_in_minutes():
    """A restarted instance: hours summing minutes, minute rows for the last hour."""
    now = T + 7200 + 90
    pieces = plan_pieces(T, T + 9000, now, fine_window=3600, restarted=["10.0.0.1:9100"])
    steady = [p for p in pieces if not p.restarted]
    again = [p for p in pieces if p.restarted]
    assert [p.instances for p in steady] == [("!~", "10\\\\.0\\\\.0\\\\.1:9100")]
    assert {p.instances for p in again} == {("=~", "10\\\\.0\\\\.0\\\\.1:9100")}
    assert [(p.length, p.minutes, p.first, p.end) for p in again if p.minutes] == [
        (3600.0, True, T, T + 7200)
    ]
    assert covered(again)[-1] == (T + 7260, now)
    assert covered(steady)[-1][1] <= now


def test_a_window_that_has_not_started_is_empty():
    """Nothing after now is read: a future window plans no query."""
    assert plan_pieces(T + 120, T + 600, T + 60) == []
    assert plan_pieces(T + 10, T + 50, T + 60) == []  # no whole minute starts in it
