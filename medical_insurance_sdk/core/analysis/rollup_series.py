"""Time buckets from rollups: the :class:`TimeSeries` of :mod:`.timeseries`, per group.

The window is cut into the same buckets as the ring's series
(:func:`~.timeseries.bucket_interval_minutes`; bucket ``i`` starts at
``now - n·interval + i·interval``). A rollup belongs to the bucket its interval starts
in: when ``now`` and the bucket edges fall on rollup boundaries (whole minutes for
minute rollups) every call is in the same bucket as in the ring; otherwise a rollup
straddling an edge is counted whole in the bucket where it starts. Counts and means
are exact, percentiles carry the histogram's error (see :mod:`.rollup_stats`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.rollup_stats import latency_figures
from medical_insurance_sdk.core.analysis.rollup_totals import group_totals
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries, bucket_interval_minutes
from medical_insurance_sdk.core.analysis.trend import trend_of
from medical_insurance_sdk.core.collection.rollups import RollupFrame, RollupTotals

__all__ = ["SeriesLayout", "rollup_time_series", "series_from_totals", "series_layout"]

_QS = (50.0, 95.0, 99.0)


@dataclass(frozen=True)
class SeriesLayout:
    """The buckets of a window: ``n`` of ``interval_minutes`` each, the first at ``since``."""

    interval_minutes: int
    n: int
    since: float

    @property
    def width(self) -> float:
        """Seconds per bucket."""
        return self.interval_minutes * 60.0

    def of(self, frame: RollupFrame) -> npt.NDArray[np.int64]:
        """The bucket of each row of ``frame`` (the one its interval starts in, clipped)."""
        idx = np.floor((frame.start - self.since) / self.width)
        return np.clip(idx, 0, self.n - 1).astype(np.int64)


def series_layout(minutes: float, now: float) -> SeriesLayout:
    """The ring's bucket layout of the window of ``minutes`` ending at ``now``."""
    interval = bucket_interval_minutes(minutes)
    n = max(1, math.ceil(minutes / interval - 1e-9))
    return SeriesLayout(interval, n, now - n * interval * 60.0)


def rollup_time_series(
    frame: RollupFrame,
    minutes: float,
    now: float,
    group: npt.NDArray[np.integer[Any]] | None = None,
    n_groups: int = 1,
) -> list[TimeSeries]:
    """One :class:`TimeSeries` per group of rows (``group`` per row; all rows when None)."""
    layout = series_layout(minutes, now)
    rows = np.zeros(len(frame), np.int64) if group is None else np.asarray(group, np.int64)
    totals = group_totals(frame, rows * layout.n + layout.of(frame), n_groups * layout.n)
    return series_from_totals(totals, n_groups, layout)


def series_from_totals(
    totals: RollupTotals, n_groups: int, layout: SeriesLayout
) -> list[TimeSeries]:
    """The series of ``n_groups`` groups from totals per ``group·n + bucket``."""
    n, since, width = layout.n, layout.since, layout.width
    figures = latency_figures(totals, _QS)
    calls = totals.calls.reshape(n_groups, n)
    errors = (totals.calls - totals.successes).reshape(n_groups, n)
    mean = figures.mean.reshape(n_groups, n)
    p50, p95, p99 = (figures.percentile[k].reshape(n_groups, n) for k in range(3))
    x = np.arange(n, dtype=np.float64)
    out = []
    for g in range(n_groups):
        has = calls[g] > 0
        out.append(
            TimeSeries(
                interval_minutes=layout.interval_minutes,
                start=since,
                calls=calls[g],
                errors=errors[g],
                p50=p50[g],
                p95=p95[g],
                p99=p99[g],
                mean=mean[g],
                call_trend=trend_of(
                    x, calls[g].astype(np.float64), bucket_seconds=width, origin=since
                ),
                response_time_trend=trend_of(
                    x[has], p50[g][has], bucket_seconds=width, origin=since, last_bucket=n - 1
                ),
            )
        )
    return out
