"""Cumulative per-series aggregates of the API metrics, fed batch by batch.

The store hands every folded :class:`~medical_insurance_sdk.core.collection.store.CallBatch` to
:meth:`ApiAggregates.fold`, which adds it to cumulative counters and histogram buckets
with numpy (one ``bincount`` per batch, no per-call Python work except for exemplars).
The Prometheus exporter reads these totals at scrape time, so a scrape always equals
exactly the calls the store has seen, and the hot path never touches a metric lock.

Each fold is one *generation*; every series row the fold touched records it in its
family's version array (``call_version``, ``hist_version``, ...). A renderer that keeps
each series' text remembers the generation it rendered and re-renders only the rows with
a newer version (see ``exposition_cache.py``): one vectorised assignment per fold.

Cardinality is bounded here: each label has a cap on distinct values and each metric a
cap on series. Beyond them, values fold into ``__other__`` and the overflow is counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import compress
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.labels import OTHER, LabelTable
from medical_insurance_sdk.core.collection.store import CallBatch

__all__ = ["EXEMPLAR_TRACE_LABEL", "ApiAggregates", "Exemplar", "SeriesTable"]

_MASK = (1 << 21) - 1

#: The exemplar label holding the trace id (OpenMetrics, OTLP, Grafana's trace links).
EXEMPLAR_TRACE_LABEL = "trace_id"

#: Label value used when an error call has no error code.
UNKNOWN_ERROR = "unknown"


class Exemplar(NamedTuple):
    """The last traced observation that fell into one histogram bucket."""

    trace_id: str
    value: float
    timestamp: float


class SeriesTable:
    """Label-tuple -> series index, bounded; overflow maps to the all-``__other__`` series."""

    def __init__(self, cap: int, overflow_key: Callable[[tuple[int, ...]], tuple[int, ...]]):
        self._cap = cap
        self._overflow_key = overflow_key
        self.index: dict[tuple[int, ...], int] = {}
        self.keys: list[tuple[int, ...]] = []
        self.overflow = 0

    def get(self, key: tuple[int, ...]) -> int:
        found = self.index.get(key)
        if found is not None:
            return found
        if len(self.keys) >= self._cap:
            self.overflow += 1
            key = self._overflow_key(key)
            found = self.index.get(key)
            if found is not None:
                return found
        found = len(self.keys)
        self.keys.append(key)
        self.index[key] = found
        return found

    def __len__(self) -> int:
        return len(self.keys)


class _LabelMap:
    """Maps a store string-table index to an exported label index (with its own cap)."""

    def __init__(self, table: LabelTable) -> None:
        self.table = table
        self._map: list[int] = []
        self._array: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def array(self, store_values: tuple[str, ...]) -> npt.NDArray[np.int64]:
        if len(self._map) < len(store_values):
            for value in store_values[len(self._map) :]:
                self._map.append(self.table.index(value))
            self._array = np.asarray(self._map, dtype=np.int64)
        return self._array


class ApiAggregates:
    """Counters, histogram buckets, error counts and payload sums per series."""

    def __init__(
        self,
        buckets: tuple[float, ...],
        *,
        max_api_codes: int,
        max_org_codes: int,
        max_error_codes: int,
        max_series: int,
        histogram_by_org: bool = True,
    ) -> None:
        self.lock = threading.Lock()
        self.bounds = np.asarray(buckets, dtype=np.float64)
        self.apis = LabelTable("api_code", max_api_codes)
        self.orgs = LabelTable("org_code", max_org_codes)
        self.errors = LabelTable("error_code", max_error_codes)
        self._api_map = _LabelMap(self.apis)
        self._org_map = _LabelMap(self.orgs)
        self._err_map = _LabelMap(self.errors)
        self.histogram_by_org = histogram_by_org
        self._max_series = max_series
        rows = max_series + 1
        # Beyond the cap, calls fold into one __other__ series per status and errors into
        # one per error code: their arrays hold those too.
        call_rows = max_series + 2
        error_rows = max_series + max_error_codes + 1
        nb = len(buckets) + 1  # the last column is the +Inf bucket
        self.call_series = SeriesTable(max_series, self._other3)
        self.call_counts = np.zeros(call_rows, dtype=np.int64)
        self.hist_series = SeriesTable(max_series, self._other2)
        self.hist_buckets = np.zeros((rows, nb), dtype=np.int64)
        self.hist_sums = np.zeros(rows, dtype=np.float64)
        self.exemplars: dict[tuple[int, int], Exemplar] = {}
        self.error_series = SeriesTable(max_series, self._other3)
        self.error_counts = np.zeros(error_rows, dtype=np.int64)
        self.size_series = SeriesTable(max_series, lambda key: (self.apis.index(OTHER),))
        self.size_counts = np.zeros(rows, dtype=np.int64)
        self.request_bytes = np.zeros(rows, dtype=np.float64)
        self.response_bytes = np.zeros(rows, dtype=np.float64)
        #: Folds so far; a row's version is the generation of the last fold touching it.
        self.generation = 0
        self.call_version = np.zeros(call_rows, dtype=np.int64)
        self.hist_version = np.zeros(rows, dtype=np.int64)
        self.error_version = np.zeros(error_rows, dtype=np.int64)
        self.size_version = np.zeros(rows, dtype=np.int64)

    def _other2(self, key: tuple[int, ...]) -> tuple[int, ...]:
        return (self.apis.index(OTHER), self.orgs.index(OTHER))

    def _other3(self, key: tuple[int, ...]) -> tuple[int, ...]:
        return (self.apis.index(OTHER), self.orgs.index(OTHER), key[2])

    @property
    def overflow(self) -> dict[str, int]:
        """Label values and series folded into ``__other__``, by what overflowed."""
        return {
            "label_api_code": self.apis.overflow,
            "label_org_code": self.orgs.overflow,
            "label_error_code": self.errors.overflow,
            "series_api_calls": self.call_series.overflow,
            "series_api_duration": self.hist_series.overflow,
            "series_api_errors": self.error_series.overflow,
            "series_api_sizes": self.size_series.overflow,
        }

    def fold(self, batch: CallBatch) -> None:
        """Add one batch of calls to the totals."""
        cols = batch.columns
        api = self._api_map.array(batch.api_codes)[cols["api"]]
        org = self._org_map.array(batch.org_codes)[cols["org"]]
        ok = cols["success"].astype(np.int64)
        dur = cols["duration"]
        bucket = np.searchsorted(self.bounds, dur, side="left")
        width = self.hist_buckets.shape[1]
        with self.lock:
            self.generation += 1
            gen = self.generation
            # One sort for every series: the distinct (api, org) pairs of the batch.
            pairs, inverse = np.unique((api << 21) | (org + 1), return_inverse=True)
            inverse = inverse.reshape(-1)
            pair_api = (pairs >> 21).tolist()
            pair_org = ((pairs & _MASK) - 1).tolist()
            by_ok = np.bincount(inverse * 2 + ok, minlength=2 * len(pair_api))
            for k in np.flatnonzero(by_ok).tolist():
                sid = self.call_series.get((pair_api[k // 2], pair_org[k // 2], k % 2))
                self.call_counts[sid] += by_ok[k]
                self.call_version[sid] = gen
            hist_ids = np.fromiter(
                (
                    self.hist_series.get((a, o if self.histogram_by_org else -1))
                    for a, o in zip(pair_api, pair_org, strict=True)
                ),
                dtype=np.int64,
                count=len(pair_api),
            )
            self.hist_version[hist_ids] = gen
            hseries = hist_ids[inverse]
            flat = hseries * width + bucket
            self.hist_buckets += np.bincount(flat, minlength=self.hist_buckets.size).reshape(
                self.hist_buckets.shape
            )
            self.hist_sums += np.bincount(hseries, weights=dur, minlength=self.hist_sums.shape[0])
            failed = ok == 0
            if failed.any():
                err_store = cols["error"][failed]
                err_map = self._err_map.array(batch.error_codes)
                err = err_map[np.maximum(err_store, 0)] if err_map.size else err_store
                if (err_store < 0).any():  # no error code given: label it "unknown"
                    err = np.where(err_store >= 0, err, self.errors.index(UNKNOWN_ERROR))
                eseries = self._series_of(self.error_series, api[failed], org[failed], err)
                self.error_counts += np.bincount(eseries, minlength=self.error_counts.shape[0])
                self.error_version[eseries] = gen
            size_ids = np.fromiter(
                (self.size_series.get((a,)) for a in pair_api), dtype=np.int64, count=len(pair_api)
            )
            self.size_version[size_ids] = gen
            sseries = size_ids[inverse]
            rows = self.size_counts.shape[0]
            self.size_counts += np.bincount(sseries, minlength=rows)
            self.request_bytes += np.bincount(
                sseries, weights=cols["request_size"].astype(np.float64), minlength=rows
            )
            self.response_bytes += np.bincount(
                sseries, weights=cols["response_size"].astype(np.float64), minlength=rows
            )
            self._keep_exemplars(batch, hseries * width + bucket, width)

    def _keep_exemplars(self, batch: CallBatch, keys: npt.NDArray[np.int64], width: int) -> None:
        """Keep the last traced call of each (series, bucket) of the batch as its exemplar."""
        trace_ids = batch.trace_ids
        traced = list(compress(range(len(trace_ids)), trace_ids))  # rows with a trace id
        if not traced:
            return
        rows = np.asarray(traced, dtype=np.int64)
        # The last occurrence of each key: unique over the reversed rows.
        uniq, first_in_reversed = np.unique(keys[rows][::-1], return_index=True)
        last_rows = rows[::-1][first_in_reversed]
        dur, ts = batch.columns["duration"], batch.columns["timestamp"]
        for key, row in zip(uniq.tolist(), last_rows.tolist(), strict=True):
            self.exemplars[divmod(key, width)] = Exemplar(
                str(batch.trace_ids[row]), float(dur[row]), float(ts[row])
            )

    @staticmethod
    def _series_of(table: SeriesTable, *label_cols: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Series index of every row, from its label indices (vectorised over uniques).

        Label indices are small (each label is capped below 2**20), so a row packs into
        one int64 key and ``np.unique`` runs on a flat array.
        """
        key = np.zeros(label_cols[0].shape[0], dtype=np.int64)
        for col in label_cols:
            key = (key << 21) | (col + 1)
        uniq, inverse = np.unique(key, return_inverse=True)
        mask = (1 << 21) - 1
        shifts = [21 * (len(label_cols) - 1 - j) for j in range(len(label_cols))]
        ids = np.fromiter(
            (table.get(tuple(((int(k) >> s) & mask) - 1 for s in shifts)) for k in uniq),
            dtype=np.int64,
            count=uniq.shape[0],
        )
        return ids[inverse.reshape(-1)]
