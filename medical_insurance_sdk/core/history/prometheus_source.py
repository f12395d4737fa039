"""Rollups from Prometheus or VictoriaMetrics: one analysis over every worker and host.

:class:`PrometheusSource` reads the SDK's exported series (``core/export/prometheus_export``)
through the HTTP query API (``/api/v1/query_range``), sums them over instances (every
process and host scraped under ``job``) and answers rollup frames, like the embedded
history. It uses only PromQL that Prometheus (2.x and 3.x) and VictoriaMetrics share, so
it works unchanged against either.

What each rollup field is made of (per interval, API and org)
--------------------------------------------------------------
============================ ===========================================================
calls, successes             ``medical_insurance_api_calls_total{status}``
business / system errors     ``medical_insurance_api_errors_total{error_code}``: codes of
                             the business classes (``BIZ_*``, ``VALIDATION``...) are
                             business refusals, every other failure a system error
outcome-unknown W$ calls     ``medical_insurance_api_outcome_unknown_total``
latency sum                  ``medical_insurance_api_duration_seconds_sum``
latency histogram            ``medical_insurance_api_duration_seconds_bucket``: the frame's
                             ``bounds`` are the exported ``le`` values
sum of squares, min, max     unknown (NaN): Prometheus does not have them
concurrency, payload bytes   unknown (``-1``) / 0: not exported per API and org
============================ ===========================================================

Exact counts: no ``increase()``
-------------------------------
Prometheus' ``increase()`` extrapolates to the window's edges and misses the increment
between the last sample before a window and its first one: it gives fractions and can be
off by a call. The source computes, for each series and each minute ending at ``t``::

    (last_over_time(x[LOOKBACK]) - last_over_time(x[LOOKBACK] offset 60s)) >= 0
      or last_over_time(x[LOOKBACK])

that is, the counter's latest value at ``t`` minus its latest value at ``t - 60s``.
``last_over_time`` skips the staleness markers Prometheus writes when a scrape fails or a
process exits, so the last increments of a process that stopped are still counted, and
a failed scrape only defers increments to the next minute; ``LOOKBACK`` (default 10
minutes) is how far back a value is looked for. A series without a previous value is
new (a process started, a label pair seen for the first time): its whole value counts.
A value below the previous one is a counter reset (a restart): the new value counts, as
Prometheus does. Summed over consecutive minutes the increments telescope, so the
counts are exact integers: every increment a scrape saw is counted once, in the minute
of the scrape that saw it (calls land in the minute they were scraped, up to one scrape
interval after they ended).

Restarts. Instances whose call counters went down in the window (``resets()``) are read
apart: there a series counts as reset when its instance's calls of that API and org
went down at the minute boundary, whatever its own value did (a latency sum or a bucket
of the new process may already exceed the old one). What no counter can tell is lost,
as with Prometheus' own ``increase()``: increments a process made after the last minute
boundary before it restarted, and a restart after which the calls of an API and org
came back above their old count before the next boundary. A process that was running
before the server first scraped it has its earlier calls counted in the minute of that
first scrape.

Rows longer than a minute are one difference over the row for instances without
resets in the window (exact, as there is no reset in between), and for the others the
sum of their minute increments computed by the server (a subquery
``sum_over_time(...[3599s:60s])``, whose points fall on whole minutes in both servers),
so they hold exactly the minutes they cover. Sums over instances (``sum by``) are taken
after the per-series increments, so one process restarting never disturbs the others.
The minute (or hour) in progress is read up to now.

Windows up to ``fine_window`` (6 hours) are answered in minute rows; longer ones in
equal rows of about an hour from the window's first minute up to now (counts are the
same; 24 points per series instead of 1440 for a day, in one query per metric).
Restarted instances keep whole hours and minute rows for the last hour.

Percentiles from the exported buckets
-------------------------------------
A percentile read from bucket counts lies in the bucket holding the true value (or,
where the percentile falls between two calls of adjacent buckets, within those two), so
its error is at most that bucket's width (it is read linearly inside the bucket, like
``histogram_quantile``). With the default buckets (``DEFAULT_DURATION_BUCKETS``, in
seconds: 0.01 0.025 0.05 0.1 0.25 0.5 1 2 2.5 3 5 10 20 30 60), for a true value ``v``:

================================== ======================================
bucket of ``v``                    worst relative error of a percentile
================================== ======================================
``[0, 10 ms]``                     10 ms (absolute)
``(10, 25 ms]``, ``(100, 250 ms]`` +150 % / −60 % (bounds ratio 2.5)
``(25, 100 ms]``, ``(250 ms, 2 s]`` +100 % / −50 % (ratio 2)
``(2, 2.5 s]``                     +25 % / −20 %
``(2.5, 3 s]``                     +20 % / −17 %
``(3, 5 s]``                       +67 % / −40 %
``(5, 20 s]``, ``(30, 60 s]``      +100 % / −50 %
``(20, 30 s]``                     +50 % / −33 %
above 60 s                         read as 60 s (the maximum is not exported)
================================== ======================================

(``+r`` is ``hi/lo - 1`` for a value just above the lower bound ``lo``, ``-r`` is
``1 - lo/hi`` for a value at the upper bound ``hi``.) The bounds 2 s, 3 s, 5 s and 30 s
are the default p95 thresholds of the interface classes, so whether a p95 is over its
threshold is decided exactly from the counts; only how far over carries the bucket
error. Means are exact (sum over count), so are all counts and rates.

Bad input
---------
A URL that is down, wrong or unauthorised raises one
:class:`~medical_insurance_sdk.core.history.source.SourceError` naming the URL and the
HTTP status; a window whose series exceed ``max_series`` (the raw series the queries
read, all instances, or the series one query returns) is refused before the range
queries, with the cap in the message; a window without data answers an empty frame.
VictoriaMetrics hides the newest ``-search.latencyOffset`` (30 s by default) of samples
from queries: the current minute's counts are complete once that much time has passed.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.rollups import (
    MINUTE,
    RollupFrame,
    is_business_error,
)
from medical_insurance_sdk.core.history.prometheus_api import PrometheusApi
from medical_insurance_sdk.core.history.source import SourceError, check_window
from medical_insurance_sdk.core.runtime.config import DEFAULT_DURATION_BUCKETS

__all__ = ["DEFAULT_JOB", "DEFAULT_MAX_SERIES", "Piece", "PrometheusSource", "plan_pieces"]

#: The scrape job of the SDK's processes (the ``job`` label Prometheus attaches).
DEFAULT_JOB = "medical-insurance-sdk"
#: The most series a window may read before it is refused.
DEFAULT_MAX_SERIES = 50_000

_CALLS = "medical_insurance_api_calls_total"
_ERRORS = "medical_insurance_api_errors_total"
_BUCKETS = "medical_insurance_api_duration_seconds_bucket"
_LATENCY = "medical_insurance_api_duration_seconds_sum"
_UNKNOWN = "medical_insurance_api_outcome_unknown_total"

#: kind -> (metric, the labels kept besides api_code and org_code)
_KINDS: dict[str, tuple[str, str | None]] = {
    "calls": (_CALLS, "status"),
    "errors": (_ERRORS, "error_code"),
    "buckets": (_BUCKETS, "le"),
    "latency": (_LATENCY, None),
    "unknown": (_UNKNOWN, None),
}
_HOUR = 3600.0
_LABEL_VALUE = re.compile(r'^[^"\\\n]*$')


@dataclass(frozen=True)
class Piece:
    """One query's share of the rows.

    ``length`` is each row's span (seconds). A range piece has rows starting at
    ``first``, ``first + length``... up to ``end`` (the end of its last row); an instant
    piece (``instant=True``) is one row from ``first`` read at ``end`` (the row in
    progress: ``end - first`` may be shorter than ``length``). ``minutes`` sums the
    row's minute increments on the server (exact across restarts) instead of taking one
    difference over the whole row. ``instances`` (``("=~"|"!~", regex)``) narrows it to
    some instances; ``restarted`` decides each series' resets by its API and org's
    calls (a float sum or a bucket may grow past its old value where the calls did not).
    """

    length: float
    first: float
    end: float
    instant: bool = False
    minutes: bool = False
    instances: tuple[str, str] | None = None
    restarted: bool = False


def plan_pieces(
    since: float,
    until: float,
    now: float,
    fine_window: float = 6 * _HOUR,
    restarted: Sequence[str] = (),
) -> list[Piece]:
    """The queries answering ``[since, until)`` at ``now``.

    Rows start in ``[since, until)``, from its first whole minute; nothing after ``now``
    is read. A window up to ``fine_window`` long is minute rows (the minute in progress
    read up to now). A longer one is rows of about an hour (equal, in whole
    milliseconds) from its first minute up to now, in one query per metric. The
    ``restarted`` instances (a counter reset in the window) are read apart, in minutes
    (hour rows from the first minute sum their minutes on the server, the last hour is
    minute rows), each series' resets decided by its API and org's calls, so counts stay
    exact across the restart.
    """
    first = math.ceil(since / MINUTE) * MINUTE
    end = min(math.ceil(until / MINUTE) * MINUTE, now)
    if end <= first:
        return []
    pattern = "|".join(_regex_escape(i) for i in sorted(set(restarted)))
    steady = ("!~", pattern) if pattern else None
    again = ("=~", pattern)
    if end - first <= fine_window:
        pieces = _minute_pieces(first, end, steady, restarted=False)
        return pieces + (_minute_pieces(first, end, again, restarted=True) if pattern else [])
    # steady instances: one range query of equal rows (about an hour, whole
    # milliseconds) from the first minute up to now
    rows = math.ceil((end - first) / _HOUR)
    length = math.floor((end - first) * 1000 / rows) / 1000
    pieces = [Piece(length, first, first + rows * length, instances=steady)]
    hours = math.floor((end - first) / _HOUR)
    last = first + hours * _HOUR
    if pattern:
        if hours:
            pieces.append(Piece(_HOUR, first, last, minutes=True, instances=again, restarted=True))
        pieces += _minute_pieces(last, end, again, restarted=True)
    return pieces


def _minute_pieces(
    first: float, end: float, instances: tuple[str, str] | None, *, restarted: bool
) -> list[Piece]:
    whole = math.floor(end / MINUTE) * MINUTE
    pieces = []
    if whole > first:
        pieces.append(Piece(MINUTE, first, whole, instances=instances, restarted=restarted))
    if end > max(whole, first):
        start = max(whole, first)
        pieces.append(
            Piece(MINUTE, start, end, instant=True, instances=instances, restarted=restarted)
        )
    return pieces


def _regex_escape(value: str) -> str:
    """``value`` as a literal in a RE2 pattern inside a PromQL double-quoted string."""
    escaped = re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", value)
    return escaped.replace('"', '\\"')


@dataclass
class _Points:
    """One kind's points from all queries: times, row lengths and values (one array per
    query), and each series' labels and number of points (in the same order)."""

    start: list[npt.NDArray[np.float64]]
    step: list[npt.NDArray[np.float64]]
    api: list[str]
    org: list[str]
    extra: list[str]
    counts: list[int]
    values: list[npt.NDArray[np.float64]]


class PrometheusSource:
    """Rollups summed over every instance of ``job``, from Prometheus or VictoriaMetrics.

    ``auth`` is a (user, password) pair for basic auth, ``bearer_token`` a token (one or
    the other); ``verify`` is ``True``, ``False`` or a CA bundle path; ``cert`` a client
    certificate (path, or (cert, key) paths). ``job=None`` reads the SDK's series of
    every job. ``lookback`` (seconds) is how far back a counter's previous value is
    looked for across failed scrapes; ``workers`` how many queries run at once.
    """

    def __init__(
        self,
        url: str,
        *,
        job: str | None = DEFAULT_JOB,
        auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float = 30.0,
        max_series: int = DEFAULT_MAX_SERIES,
        lookback: float = 600.0,
        fine_window: float = 6 * 3600.0,
        workers: int = 4,
    ) -> None:
        if job is not None and (not isinstance(job, str) or not _LABEL_VALUE.match(job)):
            raise ValueError(f"Prometheus source: job must be a label value (got {job!r})")
        for field_name, value, low in (
            ("max_series", max_series, 1),
            ("workers", workers, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Prometheus source: {field_name} must be an integer >= {low}")
        for field_name, number in (("lookback", lookback), ("fine_window", fine_window)):
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"Prometheus source: {field_name} must be seconds")
            if not (math.isfinite(number) and number >= MINUTE):
                raise ValueError(f"Prometheus source: {field_name} must be >= 60 seconds")
        self._api = PrometheusApi(
            url, auth=auth, bearer_token=bearer_token, verify=verify, cert=cert, timeout=timeout
        )
        self.url = self._api.url
        self.job = job
        self.max_series = max_series
        self.lookback = float(lookback)
        self.fine_window = float(fine_window)
        self.workers = workers

    # -- RollupSource ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``prometheus:URL`` (credentials written in the URL left out)."""
        return self._api.name

    def now(self) -> float:
        """The present: this host's clock (the server answers up to its newest sample)."""
        return time.time()

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """Rollups of every instance summed, whose interval starts in ``[since, until)``.

        ``fine=True`` answers minute rows whatever the window's length (for evaluations
        that slide minute by minute); otherwise a window longer than ``fine_window`` is
        answered in rows of about an hour.
        """
        a, b = check_window(since, until)
        fine_window = math.inf if fine else self.fine_window
        if api_code is not None and (
            not isinstance(api_code, str) or not _LABEL_VALUE.match(api_code)
        ):
            raise ValueError(f"api_code must be a label value (got {api_code!r})")
        now = self.now()
        if not plan_pieces(a, b, now, fine_window):
            return RollupFrame.empty(_default_bounds())  # nothing of it has happened yet
        end = min(b, now)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            # the series cap is counted while the queries run (it costs a fifth of a
            # day's read); its refusal is raised before any of their answers is used
            checked = pool.submit(self._check_series, end, api_code)
            pieces = plan_pieces(a, b, now, fine_window, self._restarted(a, end))
            jobs = [(kind, piece) for piece in pieces for kind in _KINDS]
            futures = [pool.submit(self._fetch, kind, piece, api_code) for kind, piece in jobs]
            checked.result()
            results = [future.result() for future in futures]
        points = {kind: _new_points() for kind in _KINDS}
        for (kind, piece), result in zip(jobs, results, strict=True):
            _collect(points[kind], kind, piece.length, result)
        return _frame(points)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._api.close()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PrometheusSource({self.name!r}, job={self.job!r})"

    # -- queries ---------------------------------------------------------------------------
    def _selector(
        self, metric: str, api_code: str | None, instances: tuple[str, str] | None = None
    ) -> str:
        matchers = [f'job="{self.job}"'] if self.job is not None else []
        if api_code is not None:
            matchers.append(f'api_code="{api_code}"')
        if instances is not None:
            matchers.append(f'instance{instances[0]}"{instances[1]}"')
        return f"{metric}{{{','.join(matchers)}}}"

    def _increase(self, x: str, length_ms: int, calls: str | None = None) -> str:
        """PromQL of each series' increase over the ``length_ms`` before each point.

        With ``calls`` (a selector of the call counters) a series counts as reset when
        the calls of its instance, API and org went down, whatever its own value did.
        """
        window = f"[{self.lookback:.0f}s]"
        current = f"last_over_time({x}{window})"
        previous = f"last_over_time({x}{window} offset {length_ms}ms)"
        if calls is None:
            return f"(({current} - {previous}) >= 0 or {current})"
        by = "job, instance, api_code, org_code"
        now_calls = f"sum by ({by}) (last_over_time({calls}{window}))"
        then_calls = f"sum by ({by}) (last_over_time({calls}{window} offset {length_ms}ms))"
        kept = f"(({now_calls} - {then_calls}) >= 0)"
        return f"((({current} - {previous}) and on ({by}) {kept}) or {current})"

    def _fetch(self, kind: str, piece: Piece, api_code: str | None) -> list[dict[str, Any]]:
        metric, extra = _KINDS[kind]
        labels = ",".join(["api_code", "org_code", *([extra] if extra else [])])
        x = self._selector(metric, api_code, piece.instances)
        calls = self._selector(_CALLS, api_code, piece.instances) if piece.restarted else None
        if piece.minutes:  # the sum of the row's minute increments
            inner = self._increase(x, 60_000, calls)
            increase = f"sum_over_time({inner}[{piece.length - 1:.0f}s:60s])"
        else:
            span = piece.end - piece.first if piece.instant else piece.length
            increase = self._increase(x, round(span * 1000), calls)
        expr = f"sum by ({labels}) ({increase}) > 0"
        if piece.instant:  # one point, moved to the row's nominal end
            vector = self._api.query(expr, piece.end)
            result = [
                {"metric": s.get("metric"), "values": [[piece.first + piece.length, s["value"][1]]]}
                for s in vector
            ]
        else:
            result = self._api.query_range(
                expr, piece.first + piece.length, piece.end, piece.length
            )
        if len(result) > self.max_series:
            raise SourceError(
                self.name,
                f"{metric}: {len(result)} series in the window, more than the cap "
                f"max_series={self.max_series}",
            )
        return result

    def _restarted(self, since: float, end: float) -> list[str]:
        """Instances whose call counters were reset (a restart) in ``[since, end]``."""
        span = max(MINUTE, end - since + self.lookback)
        expr = f"count by (instance) (resets({self._selector(_CALLS, None)}[{span:.0f}s]) > 0)"
        return [str(r.get("metric", {}).get("instance", "")) for r in self._api.query(expr, end)]

    def _check_series(self, at: float, api_code: str | None) -> None:
        """Refuse a window whose raw series (all instances) exceed ``max_series``: the
        series present at its end are counted first, each query's answer after."""
        names = "|".join(metric for metric, _ in _KINDS.values())
        matchers = [f'__name__=~"{names}"']
        if self.job is not None:
            matchers.append(f'job="{self.job}"')
        if api_code is not None:
            matchers.append(f'api_code="{api_code}"')
        selector = "{" + ",".join(matchers) + "}"
        expr = f"count(last_over_time({selector}[{self.lookback:.0f}s]))"
        result = self._api.query(expr, at)
        found = int(float(result[0]["value"][1])) if result else 0
        if found > self.max_series:
            raise SourceError(
                self.name,
                f"the window holds {found} series, more than the cap max_series="
                f"{self.max_series}: narrow the window or api_code, or raise max_series",
            )


def _default_bounds() -> npt.NDArray[np.float64]:
    return np.append(np.array(DEFAULT_DURATION_BUCKETS, dtype=np.float64), np.inf)


def _new_points() -> _Points:
    return _Points([], [], [], [], [], [], [])


def _collect(points: _Points, kind: str, step: float, result: list[dict[str, Any]]) -> None:
    """Append one query's series to ``points`` (row start = point time − step)."""
    extra_label = _KINDS[kind][1]
    series = [s for s in result if s.get("values")]
    if not series:
        return
    # one conversion for the whole answer: [[time, "value"], ...] pairs to floats
    table = np.array([pair for s in series for pair in s["values"]], dtype=np.float64)
    points.start.append(table[:, 0] - step)
    points.step.append(np.full(table.shape[0], step))
    points.values.append(table[:, 1])
    for s in series:
        labels = s.get("metric") or {}
        points.api.append(str(labels.get("api_code", "")))
        points.org.append(str(labels.get("org_code", "")))
        points.extra.append(str(labels.get(extra_label, "")) if extra_label else "")
        points.counts.append(len(s["values"]))


@dataclass(frozen=True)
class _Flat:
    """One kind's points as flat arrays, with string tables indexed."""

    start: npt.NDArray[np.float64]
    step: npt.NDArray[np.float64]
    api: npt.NDArray[np.int64]
    org: npt.NDArray[np.int64]
    extra: npt.NDArray[np.int64]
    extras: tuple[str, ...]
    values: npt.NDArray[np.float64]


def _flatten(points: _Points, apis: dict[str, int], orgs: dict[str, int]) -> _Flat:
    if not points.counts:
        f8, i8 = np.zeros(0), np.zeros(0, np.int64)
        return _Flat(f8, f8, i8, i8, i8, (), f8)
    extras: dict[str, int] = {}
    counts = np.array(points.counts)

    def spread(names: list[str], table: dict[str, int]) -> npt.NDArray[np.int64]:
        ids = np.array([table.setdefault(n, len(table)) for n in names], dtype=np.int64)
        return np.repeat(ids, counts)

    return _Flat(
        start=np.concatenate(points.start),
        step=np.concatenate(points.step),
        api=spread(points.api, apis),
        org=spread(points.org, orgs),
        extra=spread(points.extra, extras),
        extras=tuple(extras),
        values=np.concatenate(points.values),
    )


def _frame(points: dict[str, _Points]) -> RollupFrame:
    """The rollup frame of every kind's points (rows keyed by start, step, API, org)."""
    apis: dict[str, int] = {}
    orgs: dict[str, int] = {}
    flat = {kind: _flatten(p, apis, orgs) for kind, p in points.items()}
    bucket_bounds = _bounds(flat["buckets"].extras)
    if not any(f.start.size for f in flat.values()):
        return RollupFrame.empty(bucket_bounds)
    # one integer key per row: (millisecond of start, row length, API, org)
    starts = np.concatenate([f.start for f in flat.values()])
    lengths, length_id = np.unique(
        np.concatenate([f.step for f in flat.values()]), return_inverse=True
    )
    n_api, n_org = max(len(apis), 1), max(len(orgs), 1)
    ms = np.rint(starts * 1000).astype(np.int64)
    key = ((ms - ms.min()) * len(lengths) + length_id.reshape(-1)) * n_api
    key = (key + np.concatenate([f.api for f in flat.values()])) * n_org
    key += np.concatenate([f.org for f in flat.values()])
    unique_keys, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    rest, org_of = np.divmod(unique_keys, n_org)
    rest, api_of = np.divmod(rest, n_api)
    ms_of, length_of = np.divmod(rest, len(lengths))
    keys = np.stack(((ms_of + ms.min()) / 1000, lengths[length_of], api_of, org_of), axis=1)
    rows: dict[str, npt.NDArray[np.int64]] = {}
    offset = 0
    for kind, f in flat.items():
        rows[kind] = inverse[offset : offset + f.start.size].astype(np.int64)
        offset += f.start.size
    n = len(keys)

    def total(kind: str, mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.float64]:
        f = flat[kind]
        weights = f.values if mask is None else np.where(mask, f.values, 0.0)
        return np.bincount(rows[kind], weights=weights, minlength=n).astype(np.float64)

    def exact(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        return np.rint(values).astype(np.int64)

    calls_f = flat["calls"]
    calls = exact(total("calls"))
    success_id = calls_f.extras.index("success") if "success" in calls_f.extras else -1
    successes = exact(total("calls", calls_f.extra == success_id))
    err_offsets, err_code, err_count, codes = _errors(flat["errors"], rows["errors"], n)
    business_code = np.array([is_business_error(c) for c in codes] + [False])
    entry_rows = np.repeat(np.arange(n), np.diff(err_offsets))
    business = np.bincount(
        entry_rows, weights=np.where(business_code[err_code], err_count, 0), minlength=n
    ).astype(np.int64)
    business = np.minimum(business, calls - successes)
    hist_offsets, hist_bucket, hist_count = _histogram(
        flat["buckets"], rows["buckets"], n, bucket_bounds
    )
    nan = np.full(n, np.nan)
    zeros = np.zeros(n, dtype=np.int64)
    return replace(
        RollupFrame.empty(bucket_bounds),
        start=keys[:, 0].copy(),
        step=keys[:, 1].copy(),
        api=keys[:, 2].astype(np.int32),
        org=keys[:, 3].astype(np.int32),
        calls=calls,
        successes=successes,
        business_errors=business,
        system_errors=np.maximum(calls - successes - business, 0),
        unknown_outcomes=exact(total("unknown")),
        latency_sum=total("latency"),
        latency_sumsq=nan,
        latency_min=nan.copy(),
        latency_max=nan.copy(),
        max_concurrency=np.full(n, -1, dtype=np.int64),
        request_bytes=zeros,
        response_bytes=zeros.copy(),
        hist_offsets=hist_offsets,
        hist_bucket=hist_bucket,
        hist_count=hist_count,
        err_offsets=err_offsets,
        err_code=err_code,
        err_count=err_count,
        api_codes=tuple(apis),
        org_codes=tuple(orgs),
        error_codes=codes,
    )


def _bounds(les: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """The histogram bounds of the exported ``le`` values (``inf`` last)."""
    values = sorted({float(le) for le in les if le} | {math.inf})
    if len(values) == 1:
        return _default_bounds()
    return np.array(values, dtype=np.float64)


def _errors(
    f: _Flat, rows: npt.NDArray[np.int64], n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64], tuple[str, ...]]:
    """Error-code counts per row, CSR (codes ordered as first seen)."""
    counts = np.rint(f.values).astype(np.int64)
    keep = counts > 0
    rows, codes, counts = rows[keep], f.extra[keep], counts[keep]
    width = max(len(f.extras), 1)
    key, inverse = np.unique(rows * width + codes, return_inverse=True)
    summed = np.zeros(key.size, dtype=np.int64)
    np.add.at(summed, inverse.reshape(-1), counts)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(key // width, minlength=n))))
    return offsets.astype(np.int64), (key % width).astype(np.int32), summed, f.extras


def _histogram(
    f: _Flat, rows: npt.NDArray[np.int64], n: int, bounds: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Bucket counts per row, CSR, from the cumulative ``le`` increments.

    A row missing an ``le`` (processes exporting different bucket layouts) takes the
    cumulative count of the bound below it, so its calls go to the next bound it has.
    """
    width = len(bounds)
    cumulative = np.zeros((n, width), dtype=np.int64)
    if f.values.size:
        le_values = np.array([float(le) if le else math.inf for le in f.extras])
        column = np.searchsorted(bounds, le_values)
        np.add.at(cumulative, (rows, column[f.extra]), np.rint(f.values).astype(np.int64))
    cumulative = np.maximum.accumulate(cumulative, axis=1)
    counts = np.diff(cumulative, axis=1, prepend=0)
    row, bucket = np.nonzero(counts)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n))))
    return offsets.astype(np.int64), bucket.astype(np.int32), counts[row, bucket]
