"""Rollup rows <-> the history file's ``rollups`` rows (histograms and error codes as BLOBs).

A row's call count is an integer column (``misdk history`` sums it in SQL); its other
figures are one fixed 88-byte BLOB, ``stats`` (:data:`STATS`: seven little-endian
``int64`` counts and four ``float64`` latency figures, NaN for an unknown extreme), so a
query fetches nine columns and decodes the figures of every row with one
``numpy.frombuffer``. A row's histogram is two BLOBs: the non-empty buckets' indices
(little-endian ``int16``)
and their counts; its error codes likewise (``int32`` ids of the ``error_codes`` table,
then counts). Each row's counts take the narrowest of ``uint8``, ``uint16``, ``uint32``
and ``int64`` that holds its largest count (the width is the BLOB's length over the
number of entries), so a minute row of a few dozen calls spends 3 bytes per non-empty
bucket. Decoding a whole query result is a handful of numpy
operations over the joined BLOBs, not a loop over buckets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.latency_buckets import BOUNDS
from medical_insurance_sdk.core.collection.rollups import RollupFrame

__all__ = ["COLUMNS", "STATS", "decode_rows", "encode_rows"]

#: The ``rollups`` columns in the order rows are written and read.
COLUMNS = (
    "start",
    "series",
    "writer",
    "calls",
    "stats",
    "hist_index",
    "hist_count",
    "err_index",
    "err_count",
)
#: The layout of the ``stats`` BLOB: one row's figures other than its calls.
STATS = np.dtype(
    [
        ("successes", "<i8"),
        ("business_errors", "<i8"),
        ("system_errors", "<i8"),
        ("unknown_outcomes", "<i8"),
        ("max_concurrency", "<i8"),
        ("request_bytes", "<i8"),
        ("response_bytes", "<i8"),
        ("latency_sum", "<f8"),
        ("latency_sumsq", "<f8"),
        ("latency_min", "<f8"),
        ("latency_max", "<f8"),
    ]
)
_HIST_INDEX = np.dtype("<i2")
_ERR_INDEX = np.dtype("<i4")


#: Count widths (bytes) and their dtypes, narrowest first.
_WIDTHS = ((1, np.dtype("<u1")), (2, np.dtype("<u2")), (4, np.dtype("<u4")), (8, np.dtype("<i8")))


def _narrow(counts: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> list[np.dtype[Any]]:
    """The dtype for each row's counts: the narrowest holding its largest count."""
    n = offsets.size - 1
    largest = np.zeros(n, dtype=np.int64)
    if counts.size:
        owner = np.repeat(np.arange(n), np.diff(offsets))
        np.maximum.at(largest, owner, counts)
    choice = np.select(
        [largest <= 0xFF, largest <= 0xFFFF, largest <= 0xFFFFFFFF], [0, 1, 2], default=3
    )
    return [_WIDTHS[c][1] for c in choice.tolist()]


def _counts(blobs: Sequence[bytes], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The counts of every row (entries per row from ``offsets``), whatever each row's width."""
    entries = np.diff(offsets)
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    width = np.where(entries > 0, lengths // np.maximum(entries, 1), 0)
    if np.any(width * entries != lengths):
        raise ValueError("history row: count BLOB does not match its index BLOB")
    out = np.zeros(int(offsets[-1]), dtype=np.int64)
    known = np.zeros(len(blobs), dtype=np.bool_) | (entries == 0)
    for size, dtype in _WIDTHS:
        rows = np.flatnonzero((width == size) & (entries > 0))
        if not rows.size:
            continue
        known[rows] = True
        values = np.frombuffer(b"".join([blobs[i] for i in rows.tolist()]), dtype=dtype)
        lens = entries[rows]
        before = np.concatenate(([0], np.cumsum(lens)[:-1]))
        positions = np.repeat(offsets[rows] - before, lens) + np.arange(int(lens.sum()))
        out[positions] = values
    if not known.all():
        raise ValueError("history row: count width is not 1, 2, 4 or 8 bytes")
    return out


def encode_rows(
    frame: RollupFrame,
    writer: int,
    series_ids: npt.NDArray[np.int64],
    code_ids: npt.NDArray[np.int64],
) -> list[tuple[Any, ...]]:
    """The rows of ``frame`` (``series_ids[i]`` is row ``i``'s series, ``code_ids[j]`` the
    id of ``frame.error_codes[j]``)."""
    if not np.array_equal(frame.bounds, BOUNDS):
        raise ValueError("history stores rollups with the standard latency buckets only")
    hist_widths = _narrow(frame.hist_count, frame.hist_offsets)
    err_widths = _narrow(frame.err_count, frame.err_offsets)
    hist_index = frame.hist_bucket.astype(_HIST_INDEX)
    hist_count = frame.hist_count
    err_index = (code_ids[frame.err_code] if frame.err_code.size else frame.err_code).astype(
        _ERR_INDEX
    )
    err_count = frame.err_count
    ho, eo = frame.hist_offsets.tolist(), frame.err_offsets.tolist()
    stats = np.zeros(len(frame), dtype=STATS)
    for name in STATS.names or ():
        stats[name] = getattr(frame, name)
    packed = stats.view(np.uint8).reshape(len(frame), STATS.itemsize)
    calls = frame.calls.tolist()
    starts = frame.start.astype(np.int64).tolist()
    series = series_ids.tolist()
    rows = []
    for i in range(len(frame)):
        h0, h1, e0, e1 = ho[i], ho[i + 1], eo[i], eo[i + 1]
        rows.append(
            (
                starts[i], series[i], writer, calls[i], packed[i].tobytes(),
                hist_index[h0:h1].tobytes(), hist_count[h0:h1].astype(hist_widths[i]).tobytes(),
                err_index[e0:e1].tobytes(), err_count[e0:e1].astype(err_widths[i]).tobytes(),
            )
        )  # fmt: skip
    return rows


def _csr(
    blobs: Sequence[bytes], dtype: np.dtype[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    values = np.frombuffer(b"".join(blobs), dtype=dtype)
    offsets = np.concatenate(([0], np.cumsum(lengths // dtype.itemsize))).astype(np.int64)
    return values, offsets


def decode_rows(
    rows: Sequence[Sequence[Any]],
    res: int,
    series: Mapping[int, tuple[str, str]],
    codes: Mapping[int, str],
) -> RollupFrame:
    """A frame of rows of resolution ``res`` (seconds) read in :data:`COLUMNS` order."""
    if not rows:
        return RollupFrame.empty()
    n = len(rows)
    start, series_col, _, calls_col, stats_col, h_index, h_count, e_index, e_count = zip(
        *rows, strict=True
    )
    series_ids = np.fromiter(series_col, dtype=np.int64, count=n)
    used, row_series = np.unique(series_ids, return_inverse=True)
    pairs = [series[int(s)] for s in used]
    api_codes = tuple(dict.fromkeys(p[0] for p in pairs))
    org_codes = tuple(dict.fromkeys(p[1] for p in pairs))
    api_of = np.array([api_codes.index(p[0]) for p in pairs], dtype=np.int32)
    org_of = np.array([org_codes.index(p[1]) for p in pairs], dtype=np.int32)
    hist_bucket, hist_offsets = _csr(h_index, _HIST_INDEX)
    hist_count = _counts(h_count, hist_offsets)
    err_ids, err_offsets = _csr(e_index, _ERR_INDEX)
    err_count = _counts(e_count, err_offsets)
    used_codes, err_code = np.unique(err_ids, return_inverse=True)
    stats = np.frombuffer(b"".join(stats_col), dtype=STATS)
    if stats.size != n:
        raise ValueError("history row: stats BLOB is not one record of its layout")
    figures = {name: stats[name].copy() for name in STATS.names or ()}
    return RollupFrame(
        start=np.fromiter(start, dtype=np.float64, count=n),
        step=np.full(n, float(res)),
        api=api_of[row_series.reshape(-1)],
        org=org_of[row_series.reshape(-1)],
        calls=np.fromiter(calls_col, dtype=np.int64, count=n),
        hist_offsets=hist_offsets,
        hist_bucket=hist_bucket.astype(np.int32),
        hist_count=hist_count.astype(np.int64),
        err_offsets=err_offsets,
        err_code=err_code.reshape(-1).astype(np.int32),
        err_count=err_count.astype(np.int64),
        api_codes=api_codes,
        org_codes=org_codes,
        error_codes=tuple(codes[int(c)] for c in used_codes),
        **figures,
    )
