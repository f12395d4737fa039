"""The history file: writer and reader, late batches, hour rows, retention, schema versions."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from medical_insurance_sdk.core.collection.rollups import (
    HOUR,
    MINUTE,
    RollupFrame,
    frame_from_calls,
)
from medical_insurance_sdk.core.history import (
    SCHEMA_VERSION,
    HistorySource,
    HistoryWriter,
    RollupSource,
    SourceError,
)

APIS = ("1101", "2207", "5205")
ORGS = ("H43010500001", "H43010500002")
CODES = ("BIZ_REFUSED", "TIMEOUT_READ")
T0 = 1_700_002_800.0  # an hour boundary


def calls(n: int, since: float, span: float, seed: int = 1) -> RollupFrame:
    """Minute rollups of ``n`` random calls ending in ``[since, since + span)``."""
    rng = np.random.default_rng(seed)
    error = np.where(rng.random(n) < 0.1, rng.integers(0, len(CODES), n), -1).astype(np.int32)
    return frame_from_calls(
        timestamp=since + rng.uniform(0, span, n),
        duration=rng.lognormal(-2.0, 0.6, n),
        api=rng.integers(0, len(APIS), n).astype(np.int32),
        org=rng.integers(0, len(ORGS), n).astype(np.int32),
        error=error,
        success=error < 0,
        request_size=rng.integers(10, 1000, n),
        response_size=rng.integers(10, 5000, n),
        api_codes=APIS,
        org_codes=ORGS,
        error_codes=CODES,
    )


def by_key(frame: RollupFrame) -> dict[tuple[float, str, str], tuple[int, ...]]:
    """(start, api, org) -> exact counts, latency histogram total and error total."""
    out = {}
    for i in range(len(frame)):
        h = slice(frame.hist_offsets[i], frame.hist_offsets[i + 1])
        e = slice(frame.err_offsets[i], frame.err_offsets[i + 1])
        key = (float(frame.start[i]), frame.api_codes[frame.api[i]], frame.org_codes[frame.org[i]])
        out[key] = (
            int(frame.calls[i]),
            int(frame.successes[i]),
            int(frame.business_errors[i]),
            int(frame.system_errors[i]),
            int(frame.hist_count[h].sum()),
            int(frame.err_count[e].sum()),
            int(frame.request_bytes[i]),
        )
    return out


def test_written_minutes_read_back_exactly(tmp_path):
    """Every column of the minute rollups survives the file (counts, histogram, errors)."""
    frame = calls(5000, T0, 600)
    path = tmp_path / "h.sqlite"
    HistoryWriter(path).write(frame)
    read = HistorySource(path).rollups(T0, T0 + 600)
    assert set(read.step) == {MINUTE}
    assert by_key(read) == by_key(frame.merge())
    assert read.latency_sum.sum() == pytest.approx(frame.latency_sum.sum(), rel=1e-12)
    assert read.latency_min.min() == frame.latency_min.min()
    assert read.latency_max.max() == frame.latency_max.max()
    totals = read.totals(np.zeros(len(read), dtype=np.int64), 1)
    expected = frame.totals(np.zeros(len(frame), dtype=np.int64), 1)
    assert np.array_equal(totals.histogram, expected.histogram)
    assert dict(zip(totals.error_codes, totals.errors[0], strict=True)) == dict(
        zip(expected.error_codes, expected.errors[0], strict=True)
    )


def test_late_batch_is_merged_into_the_written_minute(tmp_path):
    """A second batch for a minute already written adds to the row, never overwrites it."""
    path = tmp_path / "h.sqlite"
    writer = HistoryWriter(path)
    first, late = calls(300, T0, 120, seed=1), calls(200, T0, 120, seed=2)
    writer.write(first)
    writer.write(late)
    read = HistorySource(path).rollups(T0, T0 + 120)
    assert read.total_calls == 500
    assert by_key(read) == by_key(RollupFrame.concat([first, late]).merge())


def test_hour_rows_are_maintained_at_write_time(tmp_path):
    """Whole hours inside a window come from hour rows that equal the summed minutes."""
    path = tmp_path / "h.sqlite"
    frame = calls(20_000, T0, 3 * HOUR)
    writer = HistoryWriter(path)
    writer.write(frame.select(frame.start < T0 + HOUR))
    writer.write(frame.select(frame.start >= T0 + HOUR))
    source = HistorySource(path)
    hours = source.rollups(T0, T0 + 3 * HOUR)
    assert set(hours.step) == {HOUR}
    assert by_key(hours) == by_key(frame.merge(HOUR))
    # minutes at the edges, hours inside: the same counts either way
    edged = source.rollups(T0 + 1800, T0 + 3 * HOUR - 600)
    assert set(edged.step) == {MINUTE, HOUR}
    expected = frame.window(T0 + 1800, T0 + 3 * HOUR - 600)
    assert edged.total_calls == expected.total_calls
    assert int(edged.system_errors.sum()) == int(expected.system_errors.sum())


def test_one_api_and_an_empty_window(tmp_path):
    """``api_code`` keeps one API; a window without rows answers an empty frame."""
    path = tmp_path / "h.sqlite"
    frame = calls(3000, T0, 600)
    HistoryWriter(path).write(frame)
    source = HistorySource(path)
    only = source.rollups(T0, T0 + 600, api_code="2207")
    assert only.api_codes == ("2207",)
    assert only.total_calls == frame.for_api("2207").total_calls
    assert len(source.rollups(T0 - 86400, T0 - 3600)) == 0
    assert len(source.rollups(T0, T0 + 600, api_code="9999")) == 0


def test_history_source_is_a_rollup_source(tmp_path):
    """HistorySource meets the RollupSource protocol and names the file."""
    source = HistorySource(tmp_path / "h.sqlite")
    assert isinstance(source, RollupSource)
    assert source.name == f"history:{tmp_path / 'h.sqlite'}"
    assert math.isfinite(source.now())


def test_missing_corrupt_and_tableless_files_are_source_errors(tmp_path):
    """A missing file, garbage bytes or a database without history tables name the file."""
    with pytest.raises(SourceError, match="no such history file"):
        HistorySource(tmp_path / "missing.sqlite").rollups(T0, T0 + 60)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database " * 400)
    with pytest.raises(SourceError, match=r"garbage\.sqlite"):
        HistorySource(garbage).rollups(T0, T0 + 60)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(SourceError, match="no history tables"):
        HistorySource(other).describe()
    with pytest.raises(ValueError, match="window"):
        HistorySource(other).rollups(T0 + 60, T0)


def test_a_file_from_a_newer_schema_is_refused(tmp_path):
    """Reader and writer refuse a newer schema, naming the file and both versions."""
    path = tmp_path / "h.sqlite"
    HistoryWriter(path).write(calls(10, T0, 60))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(SourceError) as raised:
        HistorySource(path).rollups(T0, T0 + 60)
    message = str(raised.value)
    assert str(path) in message
    assert "version 99" in message
    assert f"version {SCHEMA_VERSION}" in message
    with pytest.raises(SourceError, match="99"):
        HistoryWriter(path).write(calls(10, T0, 60))


def test_retention_prunes_by_age_and_reads_fall_back_to_hours(tmp_path):
    """Minute rows past minute_days and hour rows past hour_days go; old edges read hours."""
    path = tmp_path / "h.sqlite"
    now = T0 + 10 * 86400
    writer = HistoryWriter(path, minute_days=1, hour_days=5, clock=lambda: now)
    recent = calls(500, now - 3 * HOUR, HOUR, seed=1)
    middle = calls(500, now - 3 * 86400, HOUR, seed=2)
    old = calls(500, now - 8 * 86400, HOUR, seed=3)
    for frame in (recent, middle, old):
        writer.write(frame)
    result = writer.prune()
    assert result.done
    assert result.minute_rows == len(middle) + len(old)
    assert result.hour_rows == len(old.merge(HOUR))
    source = HistorySource(path)
    summary = source.describe()
    assert summary.minute_rows == len(recent)
    assert source.rollups(now - 9 * 86400, now - 7 * 86400).total_calls == 0
    # a window with edges inside expired minutes widens to the hours that hold them
    edge = source.rollups(now - 3 * 86400 + 600, now - 3 * 86400 + 1200)
    assert set(edge.step) == {HOUR}
    assert edge.total_calls == middle.total_calls
    assert source.rollups(now - 4 * HOUR, now).total_calls == recent.total_calls


def test_pruning_runs_in_bounded_steps(tmp_path):
    """With a small batch one step deletes part of the expired rows; steps finish the job."""
    path = tmp_path / "h.sqlite"
    now = T0 + 30 * 86400
    writer = HistoryWriter(path, minute_days=1, hour_days=2, prune_batch=20, clock=lambda: now)
    writer.write(calls(3000, T0, 2 * HOUR))
    summary = HistorySource(path).describe()
    rows = summary.minute_rows
    first = writer.prune(max_steps=1)
    assert not first.done
    assert 0 < first.minute_rows <= 20
    assert first.hour_rows == summary.hour_rows  # the hour table has a step of its own
    rest = writer.prune()
    assert rest.done
    assert first.minute_rows + rest.minute_rows == rows
    assert HistorySource(path).describe().minute_rows == 0


def test_describe_reports_series_span_size_and_writers(tmp_path):
    """describe() counts series, rows, calls and writers and spans the minutes written."""
    path = tmp_path / "h.sqlite"
    frame = calls(2000, T0, 600)
    HistoryWriter(path).write(frame.select(frame.api == 0))
    HistoryWriter(path).write(frame.select(frame.api != 0))
    summary = HistorySource(path).describe()
    assert summary.schema_version == SCHEMA_VERSION
    assert summary.series == len(APIS) * len(ORGS)
    assert (summary.api_codes, summary.org_codes) == (len(APIS), len(ORGS))
    assert summary.calls == 2000
    assert summary.minute_rows == len(frame)
    assert summary.minute_span == (T0, T0 + 600)
    assert len(summary.writers) == 2
    assert summary.size_bytes > 0


def test_counts_of_every_width_survive(tmp_path):
    """Bucket and error counts from 1 to 2**40 are stored in their narrowest width, exactly."""
    base = calls(400, T0, 120)
    scale = np.array([1, 300, 70_000, 2**40], dtype=np.int64)
    rows = np.arange(len(base)) % scale.size
    hist_scale = np.repeat(scale[rows], np.diff(base.hist_offsets))
    err_scale = np.repeat(scale[rows], np.diff(base.err_offsets))
    big = replace(
        base, hist_count=base.hist_count * hist_scale, err_count=base.err_count * err_scale
    )
    path = tmp_path / "h.sqlite"
    HistoryWriter(path).write(big)
    read = HistorySource(path).rollups(T0, T0 + 120)
    assert dense(read) == dense(big)


def dense(frame: RollupFrame) -> dict[tuple[float, str, str], tuple[tuple[int, ...], ...]]:
    """(start, api, org) -> (histogram, error counts by code name) as plain tuples."""
    totals = frame.totals(np.arange(len(frame)), len(frame))
    out = {}
    for i in range(len(frame)):
        key = (float(frame.start[i]), frame.api_codes[frame.api[i]], frame.org_codes[frame.org[i]])
        errors = dict(zip(totals.error_codes, totals.errors[i].tolist(), strict=True))
        out[key] = (
            tuple(totals.histogram[i].tolist()),
            tuple(errors.get(code, 0) for code in CODES),
        )
    return out
