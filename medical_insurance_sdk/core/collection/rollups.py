"""Rollups: the unit of history, one row per (interval, API, org).

A rollup holds what the analysis needs of the calls of one API and one org that ended
in one interval (``[start, start + step)``, epoch seconds; 60 s or 3600 s):

* exact counts: calls, successes, business refusals (error classes ``business`` and
  ``validation``), system errors (every other class, a failure without a code
  included), outcome-unknown W$ calls, and each error code's count;
* exact latency sum, sum of squares, minimum and maximum (seconds), so the mean and the
  standard deviation are exact;
* the latency histogram in the log-spaced buckets of
  :mod:`~medical_insurance_sdk.core.collection.latency_buckets` (percentiles within
  2 %), kept sparse;
* the most calls of that API and org in flight at once that the collector saw (a lower
  bound: calls folded in different batches are not compared), and payload byte sums.

:class:`RollupFrame` holds many rollups as columns (numpy arrays, histograms and error
codes in CSR form: row ``i``'s entries are ``hist_bucket[hist_offsets[i]:hist_offsets[i+1]]``).
Sources of history (the embedded SQLite history, Prometheus, the collector's ring)
all answer with frames, so the analysis has one input. :func:`frame_from_calls` builds a
frame from exact records; :meth:`RollupFrame.merge` sums rows with the same key (or
coarser keys, e.g. hours from minutes); :meth:`RollupFrame.totals` sums rows per group
for the analysis. A frame from another bucket layout (Prometheus ``le`` bounds) carries
its own ``bounds``; fields a source cannot know are NaN (floats) or ``-1`` (concurrency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.concurrency import grouped_max_concurrency
from medical_insurance_sdk.core.collection.latency_buckets import BOUNDS, bucket_index

if TYPE_CHECKING:
    from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = [
    "BUSINESS_ERROR_CLASSES",
    "HOUR",
    "MINUTE",
    "RollupFrame",
    "RollupTotals",
    "error_class",
    "frame_from_calls",
    "is_business_error",
]

MINUTE = 60.0
HOUR = 3600.0

#: Error-code prefixes -> error class (docs/protocol.md §6), first match wins.
_CLASS_PREFIXES: tuple[tuple[str, str], ...] = (
    ("TIMEOUT_READ", "read_timeout"),
    ("TIMEOUT_CONNECT", "connect_timeout"),
    ("TIMEOUT", "timeout"),
    ("NETWORK", "network"),
    ("HTTP", "http_status"),
    ("GATEWAY_AUTH", "gateway_auth"),
    ("PARSE", "protocol"),
    ("RESPONSE_TOO_LARGE", "protocol"),
    ("SESSION", "session"),
    ("VALIDATION", "validation"),
    ("BIZ_", "business"),
    ("INFCODE_", "business"),
    ("BUSINESS", "business"),
)

#: Failures that are the platform refusing a request on its merits, or bad input: not
#: the operator's to fix. Every other class is a system error.
BUSINESS_ERROR_CLASSES = frozenset({"business", "validation"})


def error_class(error_code: str | None) -> str:
    """The docs/protocol.md §6 category of an SDK error code (``"unknown"`` when none)."""
    if not error_code:
        return "unknown"
    code = error_code.upper()
    for prefix, name in _CLASS_PREFIXES:
        if code.startswith(prefix):
            return name
    return "other"


def is_business_error(error_code: str | None) -> bool:
    """True when a failure with this code is a business refusal, not a system error."""
    return error_class(error_code) in BUSINESS_ERROR_CLASSES


_I8 = npt.NDArray[np.int64]
_I4 = npt.NDArray[np.int32]
_F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RollupFrame:
    """Rollups as columns; row ``i`` covers ``[start[i], start[i] + step[i])``.

    ``api``/``org`` index ``api_codes``/``org_codes``; ``hist_bucket`` indexes
    ``bounds`` (upper bounds in seconds, ``inf`` last); ``err_code`` indexes
    ``error_codes``. NaN in a float column and ``-1`` in ``max_concurrency`` mean the
    source does not know the figure.
    """

    start: _F8
    step: _F8
    api: _I4
    org: _I4
    calls: _I8
    successes: _I8
    business_errors: _I8
    system_errors: _I8
    unknown_outcomes: _I8
    latency_sum: _F8
    latency_sumsq: _F8
    latency_min: _F8
    latency_max: _F8
    max_concurrency: _I8
    request_bytes: _I8
    response_bytes: _I8
    hist_offsets: _I8
    hist_bucket: _I4
    hist_count: _I8
    err_offsets: _I8
    err_code: _I4
    err_count: _I8
    api_codes: tuple[str, ...]
    org_codes: tuple[str, ...]
    error_codes: tuple[str, ...]
    bounds: _F8 = field(default_factory=lambda: BOUNDS)

    # -- shape ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def total_calls(self) -> int:
        return int(self.calls.sum())

    @classmethod
    def empty(cls, bounds: _F8 = BOUNDS) -> RollupFrame:
        """A frame without rows."""
        f8, i4, i8 = np.zeros(0, np.float64), np.zeros(0, np.int32), np.zeros(0, np.int64)
        zero = np.zeros(1, np.int64)
        return cls(
            f8, f8, i4, i4, i8, i8, i8, i8, i8, f8, f8, f8, f8, i8, i8, i8,
            zero, i4, i8, zero, i4, i8, (), (), (), bounds,
        )  # fmt: skip

    @classmethod
    def from_snapshot(cls, snap: CallSnapshot, step: float = MINUTE) -> RollupFrame:
        """Rollups of a snapshot's calls (see :func:`frame_from_calls`)."""
        return frame_from_calls(
            timestamp=snap.timestamp,
            duration=snap.duration,
            api=snap.api,
            org=snap.org,
            error=snap.error,
            success=snap.success,
            request_size=snap.request_size,
            response_size=snap.response_size,
            api_codes=snap.api_codes,
            org_codes=snap.org_codes,
            error_codes=snap.error_codes,
            step=step,
        )

    # -- row selection -------------------------------------------------------------------
    def select(self, mask: npt.NDArray[np.bool_]) -> RollupFrame:
        """The rows where ``mask`` is true (string tables kept; the frame itself when all)."""
        if mask.all():  # frames are immutable: nothing to copy
            return self
        return self.take(np.flatnonzero(mask))

    def take(self, rows: npt.NDArray[np.intp]) -> RollupFrame:
        """The rows at positions ``rows``, in that order (string tables kept)."""
        hist_rows, hist_offsets = _csr_take(self.hist_offsets, rows)
        err_rows, err_offsets = _csr_take(self.err_offsets, rows)
        picked = {name: getattr(self, name)[rows] for name in _ROW_COLUMNS}
        return replace(
            self,
            **picked,
            hist_offsets=hist_offsets,
            hist_bucket=self.hist_bucket[hist_rows],
            hist_count=self.hist_count[hist_rows],
            err_offsets=err_offsets,
            err_code=self.err_code[err_rows],
            err_count=self.err_count[err_rows],
        )

    def window(self, since: float, until: float) -> RollupFrame:
        """Rows whose interval starts in ``[since, until)``."""
        return self.select((self.start >= since) & (self.start < until))

    def for_api(self, api_code: str) -> RollupFrame:
        """Rows of one API."""
        if api_code not in self.api_codes:
            return self.select(np.zeros(len(self), dtype=np.bool_))
        return self.select(self.api == self.api_codes.index(api_code))

    # -- combining -----------------------------------------------------------------------
    @staticmethod
    def concat(frames: Sequence[RollupFrame]) -> RollupFrame:
        """All rows of ``frames`` in one frame (string tables united; same ``bounds``)."""
        frames = [f for f in frames if len(f)]
        if not frames:
            return RollupFrame.empty()
        if len(frames) == 1:
            return frames[0]
        bounds = frames[0].bounds
        if any(not np.array_equal(f.bounds, bounds) for f in frames):
            raise ValueError("RollupFrame.concat: frames have different histogram bounds")
        apis: dict[str, int] = {}
        orgs: dict[str, int] = {}
        codes: dict[str, int] = {}
        parts: dict[str, list[Any]] = {name: [] for name in _ROW_COLUMNS}
        hist_b, hist_c, err_c, err_n = [], [], [], []
        hist_len, err_len = [], []
        for f in frames:
            api_map = _remap(f.api_codes, apis)
            org_map = _remap(f.org_codes, orgs)
            code_map = _remap(f.error_codes, codes)
            for name in _ROW_COLUMNS:
                parts[name].append(getattr(f, name))
            parts["api"][-1] = api_map[f.api]
            parts["org"][-1] = org_map[f.org]
            hist_b.append(f.hist_bucket)
            hist_c.append(f.hist_count)
            hist_len.append(np.diff(f.hist_offsets))
            err_c.append(code_map[f.err_code] if f.err_code.size else f.err_code)
            err_n.append(f.err_count)
            err_len.append(np.diff(f.err_offsets))
        joined = {name: np.concatenate(parts[name]) for name in _ROW_COLUMNS}
        return RollupFrame(
            **joined,
            hist_offsets=_offsets(np.concatenate(hist_len)),
            hist_bucket=np.concatenate(hist_b).astype(np.int32),
            hist_count=np.concatenate(hist_c).astype(np.int64),
            err_offsets=_offsets(np.concatenate(err_len)),
            err_code=np.concatenate(err_c).astype(np.int32),
            err_count=np.concatenate(err_n).astype(np.int64),
            api_codes=tuple(apis),
            org_codes=tuple(orgs),
            error_codes=tuple(codes),
            bounds=bounds,
        )

    def merge(self, step: float | None = None) -> RollupFrame:
        """Sum rows with the same (start, step, api, org); ``step`` first coarsens them.

        ``merge(HOUR)`` turns minute rollups into hour rollups (a row's new start is its
        start rounded down to the hour). When rows were summed they come out ordered by
        start, API, org; a frame whose keys are all distinct keeps its order.
        """
        if not len(self):
            return self
        start, width = self.start, self.step
        if step is not None:
            start = np.floor(start / step) * step
            width = np.full(len(self), float(step))
        table = np.stack(
            (start, width, self.api.astype(np.float64), self.org.astype(np.float64)), axis=1
        )
        keys, group = np.unique(table, axis=0, return_inverse=True)
        group = group.reshape(-1)
        if len(keys) == len(self):  # every key once: nothing to add
            if step is None:
                return self
            return replace(self, start=start.copy(), step=width.copy())
        totals = self._sum_by(group, len(keys))
        return RollupFrame(
            start=keys[:, 0].copy(),
            step=keys[:, 1].copy(),
            api=keys[:, 2].astype(np.int32),
            org=keys[:, 3].astype(np.int32),
            **totals,
            api_codes=self.api_codes,
            org_codes=self.org_codes,
            error_codes=self.error_codes,
            bounds=self.bounds,
        )

    def _sum_by(self, group: _I8, n: int) -> dict[str, Any]:
        """Every summed column of rows grouped by ``group`` (0..n-1), CSR included."""

        def add(col: npt.NDArray[Any]) -> npt.NDArray[Any]:
            out = np.zeros(n, dtype=col.dtype)
            np.add.at(out, group, col)
            return out

        def extreme(col: _F8, fn: Any, fill: float) -> _F8:
            out = np.full(n, fill)
            fn.at(out, group, np.nan_to_num(col, nan=fill))
            known = np.zeros(n, dtype=np.bool_)
            np.logical_or.at(known, group, ~np.isnan(col))
            out[~known] = np.nan
            return out

        def nan_sum(col: _F8) -> _F8:
            out = add(np.nan_to_num(col))
            unknown = np.zeros(n, dtype=np.bool_)
            np.logical_or.at(unknown, group, np.isnan(col))
            out[unknown] = np.nan
            return out

        conc = np.full(n, -1, dtype=np.int64)
        np.maximum.at(conc, group, self.max_concurrency)
        hist_offsets, hist_bucket, hist_count = _csr_sum(
            self.hist_offsets, self.hist_bucket, self.hist_count, group, n, len(self.bounds)
        )
        err_offsets, err_code, err_count = _csr_sum(
            self.err_offsets, self.err_code, self.err_count, group, n, len(self.error_codes)
        )
        return {
            "calls": add(self.calls),
            "successes": add(self.successes),
            "business_errors": add(self.business_errors),
            "system_errors": add(self.system_errors),
            "unknown_outcomes": add(self.unknown_outcomes),
            "latency_sum": nan_sum(self.latency_sum),
            "latency_sumsq": nan_sum(self.latency_sumsq),
            "latency_min": extreme(self.latency_min, np.minimum, np.inf),
            "latency_max": extreme(self.latency_max, np.maximum, -np.inf),
            "max_concurrency": conc,
            "request_bytes": add(self.request_bytes),
            "response_bytes": add(self.response_bytes),
            "hist_offsets": hist_offsets,
            "hist_bucket": hist_bucket,
            "hist_count": hist_count,
            "err_offsets": err_offsets,
            "err_code": err_code,
            "err_count": err_count,
        }

    # -- reading -------------------------------------------------------------------------
    def totals(self, group: npt.NDArray[np.integer[Any]], n: int) -> RollupTotals:
        """Rows summed per ``group`` (``0..n-1``, one per row): counts, latency, buckets."""
        g = np.asarray(group, dtype=np.int64)
        summed = self._sum_by(g, n)
        hist = np.zeros((n, len(self.bounds)), dtype=np.int64)
        rows = np.repeat(np.arange(n), np.diff(summed["hist_offsets"]))
        hist[rows, summed["hist_bucket"]] = summed["hist_count"]
        errors = np.zeros((n, len(self.error_codes)), dtype=np.int64)
        rows = np.repeat(np.arange(n), np.diff(summed["err_offsets"]))
        errors[rows, summed["err_code"]] = summed["err_count"]
        return RollupTotals(
            calls=summed["calls"],
            successes=summed["successes"],
            business_errors=summed["business_errors"],
            system_errors=summed["system_errors"],
            unknown_outcomes=summed["unknown_outcomes"],
            latency_sum=summed["latency_sum"],
            latency_sumsq=summed["latency_sumsq"],
            latency_min=summed["latency_min"],
            latency_max=summed["latency_max"],
            max_concurrency=summed["max_concurrency"],
            request_bytes=summed["request_bytes"],
            response_bytes=summed["response_bytes"],
            histogram=hist,
            errors=errors,
            bounds=self.bounds,
            error_codes=self.error_codes,
        )

    def with_unknown_outcomes(
        self, counts: dict[tuple[float, str, str], int], step: float = MINUTE
    ) -> RollupFrame:
        """Add outcome-unknown counts keyed by (interval start, api_code, org_code).

        A key without a row gets a row of its own (no calls: the unknown call's record
        may land in the next interval).
        """
        if not counts:
            return self
        keys = list(counts)
        extra = _frame(
            start=np.array([k[0] for k in keys], dtype=np.float64),
            step=np.full(len(keys), step),
            api_codes=tuple(dict.fromkeys(k[1] for k in keys)),
            org_codes=tuple(dict.fromkeys(k[2] for k in keys)),
            api_names=[k[1] for k in keys],
            org_names=[k[2] for k in keys],
            unknown=np.array([counts[k] for k in keys], dtype=np.int64),
            bounds=self.bounds,
        )
        return RollupFrame.concat([self, extra]).merge()


@dataclass(frozen=True)
class RollupTotals:
    """Rollups summed per group (row ``g`` of every array is group ``g``).

    ``histogram`` is dense, shape ``(groups, len(bounds))``; ``errors`` is dense, shape
    ``(groups, len(error_codes))``.
    """

    calls: _I8
    successes: _I8
    business_errors: _I8
    system_errors: _I8
    unknown_outcomes: _I8
    latency_sum: _F8
    latency_sumsq: _F8
    latency_min: _F8
    latency_max: _F8
    max_concurrency: _I8
    request_bytes: _I8
    response_bytes: _I8
    histogram: _I8
    errors: _I8
    bounds: _F8
    error_codes: tuple[str, ...]


_ROW_COLUMNS = tuple(
    f.name
    for f in fields(RollupFrame)
    if f.name
    not in {
        "hist_offsets",
        "hist_bucket",
        "hist_count",
        "err_offsets",
        "err_code",
        "err_count",
        "api_codes",
        "org_codes",
        "error_codes",
        "bounds",
    }
)


def _offsets(lengths: npt.NDArray[Any]) -> _I8:
    return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


def _remap(names: tuple[str, ...], into: dict[str, int]) -> _I4:
    return np.array([into.setdefault(name, len(into)) for name in names] or [0], dtype=np.int32)


def _csr_take(offsets: _I8, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], _I8]:
    """Entry indices of ``rows`` (in order) and the new offsets."""
    lengths = (offsets[1:] - offsets[:-1])[rows]
    new_offsets = _offsets(lengths)
    if not rows.size or not new_offsets[-1]:
        return np.zeros(0, dtype=np.intp), new_offsets
    starts = np.repeat(offsets[:-1][rows] - new_offsets[:-1], lengths)
    return (starts + np.arange(new_offsets[-1])).astype(np.intp), new_offsets


def _csr_sum(
    offsets: _I8, index: _I4, count: _I8, group: _I8, n: int, width: int
) -> tuple[_I8, _I4, _I8]:
    """Sum CSR rows per group: entries with the same (group, index) are added."""
    if not index.size:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
    entry_group = np.repeat(group, np.diff(offsets))
    key = entry_group * max(width, 1) + index
    keys, inverse = np.unique(key, return_inverse=True)
    summed = np.zeros(keys.size, dtype=np.int64)
    np.add.at(summed, inverse.reshape(-1), count)
    keep = summed != 0
    keys, summed = keys[keep], summed[keep]
    owner = keys // max(width, 1)
    return (
        _offsets(np.bincount(owner, minlength=n)),
        (keys % max(width, 1)).astype(np.int32),
        summed,
    )


def _frame(
    *,
    start: _F8,
    step: _F8,
    api_codes: tuple[str, ...],
    org_codes: tuple[str, ...],
    api_names: list[str],
    org_names: list[str],
    unknown: _I8,
    bounds: _F8,
) -> RollupFrame:
    """Rows that carry only outcome-unknown counts."""
    n = start.size
    zeros = np.zeros(n, dtype=np.int64)
    nan = np.full(n, np.nan)
    return RollupFrame(
        start=start,
        step=step,
        api=np.array([api_codes.index(a) for a in api_names], dtype=np.int32),
        org=np.array([org_codes.index(o) for o in org_names], dtype=np.int32),
        calls=zeros,
        successes=zeros,
        business_errors=zeros,
        system_errors=zeros,
        unknown_outcomes=unknown,
        latency_sum=np.zeros(n),
        latency_sumsq=np.zeros(n),
        latency_min=nan,
        latency_max=nan,
        max_concurrency=np.full(n, -1, dtype=np.int64),
        request_bytes=zeros,
        response_bytes=zeros,
        hist_offsets=np.zeros(n + 1, dtype=np.int64),
        hist_bucket=np.zeros(0, np.int32),
        hist_count=np.zeros(0, np.int64),
        err_offsets=np.zeros(n + 1, dtype=np.int64),
        err_code=np.zeros(0, np.int32),
        err_count=np.zeros(0, np.int64),
        api_codes=api_codes,
        org_codes=org_codes,
        error_codes=(),
        bounds=bounds,
    )


def frame_from_calls(
    *,
    timestamp: _F8,
    duration: _F8,
    api: _I4,
    org: _I4,
    error: _I4,
    success: npt.NDArray[np.bool_],
    request_size: npt.NDArray[Any],
    response_size: npt.NDArray[Any],
    api_codes: tuple[str, ...],
    org_codes: tuple[str, ...],
    error_codes: tuple[str, ...],
    step: float = MINUTE,
) -> RollupFrame:
    """Rollups of exact call records (a fold's batch, a snapshot's columns).

    ``timestamp`` is the epoch second each call ended (it decides the interval),
    ``duration`` its latency in seconds; ``error`` indexes ``error_codes`` (``-1``: no
    code). The string tables are kept as given.
    """
    n = int(timestamp.size)
    if n == 0:
        return replace(RollupFrame.empty(), api_codes=api_codes, org_codes=org_codes)
    # one int64 key per (interval, API, org), in that order: a 1-D unique (a row-wise
    # unique of a float table sorts several times slower)
    interval = np.floor(timestamp / step)
    first = float(interval.min())
    n_api, n_org = max(len(api_codes), 1), max(len(org_codes), 1)
    key = ((interval - first).astype(np.int64) * n_api + api) * n_org + org
    unique_keys, group = np.unique(key, return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    g = int(unique_keys.size)
    keys = np.stack(
        (
            (unique_keys // (n_api * n_org) + first) * step,
            (unique_keys // n_org % n_api).astype(np.float64),
            (unique_keys % n_org).astype(np.float64),
        ),
        axis=1,
    )
    failed = ~success
    business_table = np.array([is_business_error(c) for c in error_codes] + [False])
    business = failed & business_table[error]
    system = failed & ~business

    def count(mask: npt.NDArray[np.bool_]) -> _I8:
        return np.bincount(group, weights=mask, minlength=g).astype(np.int64)

    def total(values: npt.NDArray[Any]) -> _F8:
        summed: _F8 = np.bincount(group, weights=values.astype(np.float64), minlength=g).astype(
            np.float64
        )
        return summed

    lo = np.full(g, np.inf)
    np.minimum.at(lo, group, duration)
    hi = np.full(g, -np.inf)
    np.maximum.at(hi, group, duration)
    buckets = bucket_index(duration)
    width = len(BOUNDS)
    hist_offsets, hist_bucket, hist_count = _csr_sum(
        np.arange(n + 1, dtype=np.int64), buckets, np.ones(n, np.int64), group, g, width
    )
    has_code = failed & (error >= 0)
    err_rows = np.flatnonzero(has_code)
    err_offsets, err_code, err_count = _csr_sum(
        _offsets(has_code.astype(np.int64)),
        error[err_rows].astype(np.int32),
        np.ones(err_rows.size, np.int64),
        group,
        g,
        len(error_codes),
    )
    return RollupFrame(
        start=keys[:, 0].copy(),
        step=np.full(g, float(step)),
        api=keys[:, 1].astype(np.int32),
        org=keys[:, 2].astype(np.int32),
        calls=np.bincount(group, minlength=g).astype(np.int64),
        successes=count(success),
        business_errors=count(business),
        system_errors=count(system),
        unknown_outcomes=np.zeros(g, dtype=np.int64),
        latency_sum=total(duration),
        latency_sumsq=total(duration * duration),
        latency_min=lo,
        latency_max=hi,
        max_concurrency=grouped_max_concurrency(timestamp, duration, group.astype(np.int32), g),
        request_bytes=total(request_size).astype(np.int64),
        response_bytes=total(response_size).astype(np.int64),
        hist_offsets=hist_offsets,
        hist_bucket=hist_bucket,
        hist_count=hist_count,
        err_offsets=err_offsets,
        err_code=err_code,
        err_count=err_count,
        api_codes=api_codes,
        org_codes=org_codes,
        error_codes=error_codes,
    )
