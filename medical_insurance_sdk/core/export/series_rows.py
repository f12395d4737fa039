"""The labelled series of the API metric families, read from :class:`ApiAggregates`.

One definition of what each aggregate row exports as (its label values and numbers), used
both to fill prometheus_client metric families (``prometheus_export.py``) and to render
the cached exposition lines (``exposition_cache.py``). Every reader runs under the
aggregates' lock and copies what it returns.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.labels import is_trace_id
from medical_insurance_sdk.core.export.aggregates import ApiAggregates, Exemplar

__all__ = [
    "KINDS",
    "CounterRows",
    "ExemplarCheck",
    "HistogramRows",
    "SummaryRows",
    "call_rows",
    "changed_rows",
    "error_rows",
    "histogram_rows",
    "series_count",
    "size_rows",
]

#: The API families, in exposition order.
KINDS = ("calls", "duration", "errors", "request_size", "response_size")


@dataclass(frozen=True)
class CounterRows:
    """Counter series: label values (in the family's label order) and counts."""

    labels: Sequence[tuple[str, ...]]
    counts: list[int]


@dataclass(frozen=True)
class HistogramRows:
    """Histogram series: cumulative bucket counts (the last is the count), sums, exemplars."""

    labels: Sequence[tuple[str, ...]]
    cumulative: list[list[int]]
    sums: list[float]
    #: Per series, per bucket, the bucket's exemplar or None; None when there are none
    #: (or they were not asked for).
    exemplars: list[list[Exemplar | None]] | None


@dataclass(frozen=True)
class SummaryRows:
    """Summary series (count and sum only)."""

    labels: Sequence[tuple[str, ...]]
    counts: list[int]
    sums: list[float]


class ExemplarCheck:
    """Only W3C trace ids (32 lowercase hex digits) are exposed in exemplars.

    The hot path records whatever trace id it is given; the first time an exemplar is
    read for exposition, one whose trace id is anything else (too long, a newline, upper
    case...) is deleted from the aggregates, before it could break the exposition, and
    ``on_drop`` counts it. Each exemplar is checked once, not at every scrape; one check
    serves both renderings (prometheus_client's samples and the cached lines).
    """

    def __init__(self, on_drop: Callable[[], None]) -> None:
        self._on_drop = on_drop
        #: Per series, the exemplar last accepted in each bucket.
        self._accepted: dict[int, list[Exemplar | None]] = {}

    def series(
        self, agg: ApiAggregates, row: int, found: list[Exemplar | None]
    ) -> list[Exemplar | None]:
        """``found`` (the series' exemplars by bucket) without invalid ones (lock held)."""
        accepted = self._accepted.get(row)
        if accepted is not None and all(map(operator.is_, found, accepted)):
            return found  # nothing new since the last look
        if accepted is None:
            accepted = [None] * len(found)
        out = [
            ex if ex is None or ex is seen else self._first_sight(agg, (row, b), ex)
            for b, (ex, seen) in enumerate(zip(found, accepted, strict=True))
        ]
        self._accepted[row] = out
        return out

    def _first_sight(
        self, agg: ApiAggregates, key: tuple[int, int], ex: Exemplar
    ) -> Exemplar | None:
        if is_trace_id(ex.trace_id):
            return ex
        del agg.exemplars[key]
        self._on_drop()
        return None


def _versions(agg: ApiAggregates, kind: str) -> npt.NDArray[np.int64]:
    if kind == "calls":
        return agg.call_version
    if kind == "duration":
        return agg.hist_version
    if kind == "errors":
        return agg.error_version
    return agg.size_version


def series_count(agg: ApiAggregates, kind: str) -> int:
    """How many series the family has now."""
    if kind == "calls":
        return len(agg.call_series)
    if kind == "duration":
        return len(agg.hist_series)
    if kind == "errors":
        return len(agg.error_series)
    return len(agg.size_series)


def changed_rows(agg: ApiAggregates, kind: str, since: int) -> list[int]:
    """Rows of the family touched by a fold after generation ``since`` (new rows included)."""
    n = series_count(agg, kind)
    return np.flatnonzero(_versions(agg, kind)[:n] > since).tolist()  # type: ignore[no-any-return]


def _all(rows: Sequence[int] | None, n: int) -> Sequence[int]:
    return range(n) if rows is None else rows


def call_rows(agg: ApiAggregates, rows: Sequence[int] | None = None) -> CounterRows:
    """``api_calls_total{api_code, org_code, status}`` of ``rows`` (default all)."""
    apis, orgs = agg.apis.values(), agg.orgs.values()
    keys = agg.call_series.keys
    index = list(_all(rows, len(keys)))
    labels: list[tuple[str, ...]] = [
        (apis[a], orgs[o], "success" if ok else "error") for a, o, ok in (keys[i] for i in index)
    ]
    return CounterRows(labels, agg.call_counts[index].tolist())


def error_rows(agg: ApiAggregates, rows: Sequence[int] | None = None) -> CounterRows:
    """``api_errors_total{api_code, org_code, error_code}`` of ``rows`` (default all)."""
    apis, orgs, errs = agg.apis.values(), agg.orgs.values(), agg.errors.values()
    keys = agg.error_series.keys
    index = list(_all(rows, len(keys)))
    labels: list[tuple[str, ...]] = [
        (apis[a], orgs[o], errs[e]) for a, o, e in (keys[i] for i in index)
    ]
    return CounterRows(labels, agg.error_counts[index].tolist())


def histogram_rows(
    agg: ApiAggregates,
    rows: Sequence[int] | None = None,
    *,
    exemplars: bool = True,
    check: ExemplarCheck | None = None,
) -> HistogramRows:
    """``api_duration_seconds`` of ``rows`` (default all); labels without org if so set.

    With ``check``, exemplars not seen before go through it (invalid ones are dropped).
    """
    apis, orgs = agg.apis.values(), agg.orgs.values()
    keys = agg.hist_series.keys
    index = list(_all(rows, len(keys)))
    labels: list[tuple[str, ...]]
    if agg.histogram_by_org:
        labels = [(apis[a], orgs[o]) for a, o in (keys[i] for i in index)]
    else:
        labels = [(apis[keys[i][0]],) for i in index]
    cumulative = agg.hist_buckets[index].cumsum(axis=1).tolist()
    found: list[list[Exemplar | None]] | None = None
    if exemplars and agg.exemplars:
        get, buckets = agg.exemplars.get, range(agg.hist_buckets.shape[1])
        found = [list(map(get, [(i, b) for b in buckets])) for i in index]
        if check is not None:
            found = [check.series(agg, i, marks) for i, marks in zip(index, found, strict=True)]
    return HistogramRows(labels, cumulative, agg.hist_sums[index].tolist(), found)


def size_rows(agg: ApiAggregates, kind: str, rows: Sequence[int] | None = None) -> SummaryRows:
    """``api_request_size_bytes`` or ``api_response_size_bytes`` (``kind``) of ``rows``."""
    apis = agg.apis.values()
    keys = agg.size_series.keys
    index = list(_all(rows, len(keys)))
    sums = agg.request_bytes if kind == "request_size" else agg.response_bytes
    labels: list[tuple[str, ...]] = [(apis[keys[i][0]],) for i in index]
    return SummaryRows(labels, agg.size_counts[index].tolist(), sums[index].tolist())
