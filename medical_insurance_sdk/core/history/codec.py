"""Rollup rows <-> the history file's ``rollups`` rows (histograms and error codes as BLOBs).

A row's histogram is two BLOBs: the non-empty buckets' indices (little-endian ``int16``)
and their counts; its error codes likewise (``int32`` ids of the ``error_codes`` table,
then counts). Counts are ``uint32`` in minute rows (a series cannot end 4 billion calls
in a minute) and ``int64`` in hour rows. NaN latency extremes (a row of outcome-unknown
calls only) are stored as NULL. Decoding a whole query result is a handful of numpy
operations over the joined BLOBs, not a loop over buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.latency_buckets import BOUNDS
from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.schema import MINUTE_RES

__all__ = ["COLUMNS", "decode_rows", "encode_rows"]

#: The ``rollups`` columns in the order rows are written and read.
COLUMNS = (
    "res",
    "start",
    "series",
    "writer",
    "calls",
    "successes",
    "business_errors",
    "system_errors",
    "unknown_outcomes",
    "latency_sum",
    "latency_sumsq",
    "latency_min",
    "latency_max",
    "max_concurrency",
    "request_bytes",
    "response_bytes",
    "hist_index",
    "hist_count",
    "err_index",
    "err_count",
)
_INT_COLUMNS = (
    "calls",
    "successes",
    "business_errors",
    "system_errors",
    "unknown_outcomes",
    "max_concurrency",
    "request_bytes",
    "response_bytes",
)
_HIST_INDEX = np.dtype("<i2")
_ERR_INDEX = np.dtype("<i4")
_UINT32_MAX = 2**32 - 1


def _count_dtype(res: int) -> np.dtype[Any]:
    return np.dtype("<u4") if res == MINUTE_RES else np.dtype("<i8")


def encode_rows(
    frame: RollupFrame,
    res: int,
    writer: int,
    series_ids: npt.NDArray[np.int64],
    code_ids: npt.NDArray[np.int64],
) -> list[tuple[Any, ...]]:
    """The rows of ``frame`` (``series_ids[i]`` is row ``i``'s series, ``code_ids[j]`` the
    id of ``frame.error_codes[j]``)."""
    if not np.array_equal(frame.bounds, BOUNDS):
        raise ValueError("history stores rollups with the standard latency buckets only")
    counts = _count_dtype(res)
    if counts.kind == "u" and (
        (frame.hist_count.size and int(frame.hist_count.max()) > _UINT32_MAX)
        or (frame.err_count.size and int(frame.err_count.max()) > _UINT32_MAX)
    ):
        raise ValueError("a minute rollup count exceeds 2**32 - 1")
    hist_index = frame.hist_bucket.astype(_HIST_INDEX)
    hist_count = frame.hist_count.astype(counts)
    err_index = (code_ids[frame.err_code] if frame.err_code.size else frame.err_code).astype(
        _ERR_INDEX
    )
    err_count = frame.err_count.astype(counts)
    ho, eo = frame.hist_offsets.tolist(), frame.err_offsets.tolist()
    columns = [getattr(frame, name).tolist() for name in _INT_COLUMNS]
    starts = frame.start.astype(np.int64).tolist()
    sums, sumsq = frame.latency_sum.tolist(), frame.latency_sumsq.tolist()
    lows = [None if math.isnan(v) else v for v in frame.latency_min.tolist()]
    highs = [None if math.isnan(v) else v for v in frame.latency_max.tolist()]
    series = series_ids.tolist()
    rows = []
    for i in range(len(frame)):
        h0, h1, e0, e1 = ho[i], ho[i + 1], eo[i], eo[i + 1]
        calls, ok, biz, sys_, unknown, conc, req, resp = (column[i] for column in columns)
        rows.append(
            (
                res, starts[i], series[i], writer, calls, ok, biz, sys_, unknown,
                sums[i], sumsq[i], lows[i], highs[i], conc, req, resp,
                hist_index[h0:h1].tobytes(), hist_count[h0:h1].tobytes(),
                err_index[e0:e1].tobytes(), err_count[e0:e1].tobytes(),
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


def _nullable(values: Sequence[float | None]) -> npt.NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def decode_rows(
    rows: Sequence[Sequence[Any]],
    series: Mapping[int, tuple[str, str]],
    codes: Mapping[int, str],
) -> RollupFrame:
    """A frame of rows read in :data:`COLUMNS` order (one resolution per call)."""
    if not rows:
        return RollupFrame.empty()
    cols = list(zip(*rows, strict=True))
    res = int(cols[0][0])
    n = len(rows)
    series_ids = np.fromiter(cols[2], dtype=np.int64, count=n)
    used, row_series = np.unique(series_ids, return_inverse=True)
    pairs = [series[int(s)] for s in used]
    api_codes = tuple(dict.fromkeys(p[0] for p in pairs))
    org_codes = tuple(dict.fromkeys(p[1] for p in pairs))
    api_of = np.array([api_codes.index(p[0]) for p in pairs], dtype=np.int32)
    org_of = np.array([org_codes.index(p[1]) for p in pairs], dtype=np.int32)
    counts = _count_dtype(res)
    hist_bucket, hist_offsets = _csr(cols[16], _HIST_INDEX)
    hist_count, _ = _csr(cols[17], counts)
    err_ids, err_offsets = _csr(cols[18], _ERR_INDEX)
    err_count, _ = _csr(cols[19], counts)
    used_codes, err_code = np.unique(err_ids, return_inverse=True)
    ints = [np.fromiter(cols[COLUMNS.index(c)], dtype=np.int64, count=n) for c in _INT_COLUMNS]
    calls, ok, biz, system, unknown, conc, req, resp = ints
    return RollupFrame(
        start=np.fromiter(cols[1], dtype=np.float64, count=n),
        step=np.full(n, float(res)),
        api=api_of[row_series.reshape(-1)],
        org=org_of[row_series.reshape(-1)],
        latency_sum=np.fromiter(cols[9], dtype=np.float64, count=n),
        latency_sumsq=np.fromiter(cols[10], dtype=np.float64, count=n),
        latency_min=_nullable(cols[11]),
        latency_max=_nullable(cols[12]),
        hist_offsets=hist_offsets,
        hist_bucket=hist_bucket.astype(np.int32),
        hist_count=hist_count.astype(np.int64),
        err_offsets=err_offsets,
        err_code=err_code.reshape(-1).astype(np.int32),
        err_count=err_count.astype(np.int64),
        api_codes=api_codes,
        org_codes=org_codes,
        error_codes=tuple(codes[int(c)] for c in used_codes),
        calls=calls,
        successes=ok,
        business_errors=biz,
        system_errors=system,
        unknown_outcomes=unknown,
        max_concurrency=conc,
        request_bytes=req,
        response_bytes=resp,
    )
