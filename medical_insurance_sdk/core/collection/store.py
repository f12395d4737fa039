"""The call store: a bounded, columnar ring buffer of finished calls.

Hot path: the recording paths extend a flat staging list by one call's
:data:`STAGED_WIDTH` fields, a :class:`~medical_insurance_sdk.core.collection.staged.StagedCall`
(``list.extend`` of a tuple is one atomic step under the GIL, so no lock is taken and no
record is torn); :meth:`CallStore.append` does the same after checking the record. Every
``batch_size`` records, or before any read, :meth:`fold` takes the staged prefix and
converts it to columns in one vectorised step (each column is a stride slice of the flat
list: no per-record transposition), checking the fields the hot paths vouch for (a
malformed batch is dropped whole and counted), writes them into fixed-size numpy chunks
and hands the same :class:`CallBatch` to the listeners (the Prometheus exporter), so the
store and the exposition are fed from one source.

A stored call costs 41 bytes (see :data:`RECORD_DTYPES`); chunks are allocated as the
store fills, so memory follows the number of stored calls, not the capacity. When more
than ``capacity`` calls are held, the oldest are evicted (and counted).

Readers get an immutable :class:`CallSnapshot` (copies of the selected rows plus the
string tables) and never touch the store's locks again.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.labels import LabelTable, safe_str
from medical_insurance_sdk.core.collection.staged import (
    STAGED_WIDTH,
    MalformedBatch,
    StagedCall,
    check_column,
    check_record,
)
from medical_insurance_sdk.core.runtime.health import MonitoringHealth
from medical_insurance_sdk.redaction import MAX_MESSAGE_CHARS, mask_text

__all__ = [
    "RECORD_DTYPES",
    "STAGED_WIDTH",
    "CallBatch",
    "CallSnapshot",
    "CallStore",
    "StagedCall",
]

logger = logging.getLogger(__name__)

#: Column name -> dtype of one stored call (8+8+4+4+4+4+1+4+4 = 41 bytes).
RECORD_DTYPES: dict[str, npt.DTypeLike] = {
    "timestamp": np.float64,  # epoch seconds at the end of the call
    "duration": np.float64,  # seconds, from the monotonic clock
    "api": np.int32,  # index into api_codes
    "org": np.int32,  # index into org_codes
    "error": np.int32,  # index into error_codes, -1 when none
    "message": np.int32,  # index into messages (masked), -1 when none
    "success": np.bool_,
    "request_size": np.uint32,
    "response_size": np.uint32,
}
_SIZE_MAX = 2**32 - 1
_CHUNK = 16384


@dataclass(frozen=True)
class CallBatch:
    """Calls just folded into the store, as columns, for listeners."""

    columns: dict[str, np.ndarray]
    trace_ids: list[str | None]
    api_codes: tuple[str, ...]
    org_codes: tuple[str, ...]
    error_codes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.trace_ids)


def _absent(dtype: npt.DTypeLike, n: int) -> npt.NDArray[Any]:
    """A column that was not copied: ``n`` zeros as a read-only broadcast (no memory)."""
    return np.broadcast_to(np.zeros(1, dtype=dtype), (n,))


def _is_absent(col: npt.NDArray[Any]) -> bool:
    return col.ndim == 1 and col.shape[0] > 0 and col.strides[0] == 0


@dataclass(frozen=True)
class CallSnapshot:
    """An immutable copy of selected stored calls, for statistics and analysis.

    ``api``, ``org``, ``error`` and ``message`` index into the string tuples of the same
    name; ``-1`` in ``error``/``message`` means none. ``version`` identifies the store's
    content: two snapshots of the same version and selection hold the same calls.

    A snapshot taken with ``columns=`` (see :meth:`CallStore.snapshot`) copies only those;
    every other column reads as zeros.
    """

    timestamp: npt.NDArray[np.float64]
    duration: npt.NDArray[np.float64]
    api: npt.NDArray[np.int32]
    org: npt.NDArray[np.int32]
    error: npt.NDArray[np.int32]
    message: npt.NDArray[np.int32]
    success: npt.NDArray[np.bool_]
    request_size: npt.NDArray[np.uint32]
    response_size: npt.NDArray[np.uint32]
    api_codes: tuple[str, ...]
    org_codes: tuple[str, ...]
    error_codes: tuple[str, ...]
    messages: tuple[str, ...]
    version: int

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @cached_property
    def duration_ms(self) -> npt.NDArray[np.float64]:
        """Durations in milliseconds (computed once, read-only)."""
        ms = self.duration * 1000.0
        ms.flags.writeable = False
        return ms

    def api_mask(self, api_code: str) -> npt.NDArray[np.bool_]:
        """Boolean mask of the calls to ``api_code`` (all False when unknown)."""
        try:
            idx = self.api_codes.index(api_code)
        except ValueError:
            return np.zeros(len(self), dtype=np.bool_)
        mask: npt.NDArray[np.bool_] = self.api == idx
        return mask

    def select(self, mask: npt.NDArray[np.bool_]) -> CallSnapshot:
        """A snapshot of the rows where ``mask`` is true (same tables and version)."""
        return self._rows(mask, int(np.count_nonzero(mask)))

    def take(self, index: npt.NDArray[np.intp]) -> CallSnapshot:
        """A snapshot of the rows ``index``, in that order (same tables and version)."""
        return self._rows(index, int(index.shape[0]))

    def rows(self, start: int, stop: int) -> CallSnapshot:
        """Rows ``start:stop`` as views (no copy)."""
        return self._rows(slice(start, stop), len(range(len(self))[start:stop]))

    def _rows(self, key: Any, n: int) -> CallSnapshot:
        def part(name: str) -> npt.NDArray[Any]:
            col: npt.NDArray[Any] = getattr(self, name)
            return _absent(col.dtype, n) if _is_absent(col) else col[key]

        return CallSnapshot(
            **{name: part(name) for name in RECORD_DTYPES},
            api_codes=self.api_codes,
            org_codes=self.org_codes,
            error_codes=self.error_codes,
            messages=self.messages,
            version=self.version,
        )


class _Chunk:
    __slots__ = ("base", "cols")

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.cols = {name: np.empty(size, dtype=dt) for name, dt in RECORD_DTYPES.items()}


BatchListener = Callable[[CallBatch], None]


class CallStore:
    """Bounded columnar store of finished calls. Thread-safe."""

    def __init__(
        self,
        capacity: int,
        *,
        batch_size: int = 2048,
        max_api_codes: int = 4096,
        max_org_codes: int = 65535,
        max_error_codes: int = 4096,
        max_messages: int = 4096,
        on_listener_error: Callable[[BaseException], None] | None = None,
        wall_offset: float = 0.0,
        health: MonitoringHealth | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("CallStore.capacity must be >= 1")
        self.capacity = capacity
        #: Epoch seconds at clock zero: a staged ``end_ns`` is stored as
        #: ``end_ns / 1e9 + wall_offset`` (see :mod:`.staged`).
        self.wall_offset = wall_offset
        #: Where malformed batches are counted and logged (rate limited).
        self.health = health if health is not None else MonitoringHealth()
        self._batch_size = max(1, batch_size)
        self._chunk_size = min(_CHUNK, capacity)
        #: The lock-free flat staging list: ``staging.extend(staged_call)`` (the fields of
        #: one :class:`StagedCall`) is the hot path's write; only :meth:`fold` (under the
        #: lock) removes, from the front.
        self.staging: list[Any] = []
        self.lock = threading.RLock()
        self._chunks: deque[_Chunk] = deque()
        self._head = 0  # absolute index of the oldest stored call
        self._tail = 0  # absolute index of the next write
        self._version = 0
        self._listeners: list[BatchListener] = []
        self._on_listener_error = on_listener_error
        self.apis = LabelTable("api_code", max_api_codes, max_length=32)
        self.orgs = LabelTable("org_code", max_org_codes, max_length=64)
        self.errors = LabelTable("error_code", max_error_codes, max_length=64, nullable=True)
        self.messages = LabelTable(
            "error_message", max_messages, max_length=MAX_MESSAGE_CHARS, nullable=True
        )
        #: Calls evicted because the store was full, and removed by retention.
        self.evicted = 0
        self.expired = 0
        #: The latest timestamp of any call evicted or removed (``-inf``: none yet).
        self.dropped_newest = float("-inf")
        #: Staged calls dropped with a malformed batch (never raised on the hot path).
        self.dropped_malformed = 0
        #: Every call ever folded in.
        self.total_folded = 0

    # -- writing ---------------------------------------------------------------------
    def add_listener(self, listener: BatchListener) -> None:
        """Call ``listener(batch)`` for every batch folded in, under the store's lock."""
        with self.lock:
            self._listeners.append(listener)

    def append(self, call: StagedCall | tuple[Any, ...]) -> None:
        """Stage one finished call (a :class:`StagedCall`); O(1) amortised.

        Explicit API: ``ValueError`` naming the problem for a record that is not ten
        fields or whose clock readings, flag or sizes are not ints/bool (epoch seconds
        go through :meth:`StagedCall.from_seconds`).
        """
        check_record(call)  # a torn record would shift every later one
        staging = self.staging
        staging.extend(call)
        if len(staging) >= self._batch_size * STAGED_WIDTH:
            self.fold()

    @property
    def batch_size(self) -> int:
        """Staged calls that trigger a fold (the hot path's caller checks the length)."""
        return self._batch_size

    def fold(self) -> int:
        """Fold every staged call into the columns; return how many were folded.

        A staged batch that is not whole, well-typed records (see
        :mod:`~medical_insurance_sdk.core.collection.staged`) is dropped whole, counted in
        ``store_malformed`` and reported to the health (logged once a minute).
        """
        with self.lock:
            staging = self.staging
            size = len(staging)
            if not size:
                return 0
            flat = staging[:size]
            del staging[:size]  # calls staged meanwhile were appended after ``size``
            try:
                batch = self._to_batch(flat)
            except Exception as exc:  # nothing of it can be trusted: drop it whole, count
                self.dropped_malformed += -(-size // STAGED_WIDTH)
                stage = "store_malformed" if isinstance(exc, MalformedBatch) else "store_fold"
                self.health.error(stage, exc)
                return 0
            n = len(batch)
            self._write(batch.columns, n)
            self.total_folded += n
            self._version += 1
            for listener in self._listeners:
                try:
                    listener(batch)
                except Exception as exc:  # a listener must never lose the store's data
                    if self._on_listener_error is None:
                        raise
                    self._on_listener_error(exc)
            return n

    def _to_batch(self, flat: list[Any]) -> CallBatch:
        """Columns of the staged calls ``flat`` (fields laid end to end).

        The checked fields are converted (and checked) before any label is interned, so
        a malformed batch leaves the tables as they were.
        """
        w = STAGED_WIDTH
        if len(flat) % w:
            raise MalformedBatch(f"{len(flat)} staged fields are not whole calls of {w}")
        end = check_column("end_ns", flat[0::w])
        start = check_column("start_ns", flat[1::w])
        oks = check_column("success", flat[4::w])
        req = check_column("request_size", flat[7::w])
        resp = check_column("response_size", flat[8::w])
        apis, orgs, errs, msgs, traces = flat[2::w], flat[3::w], flat[5::w], flat[6::w], flat[9::w]
        n = len(apis)
        if msgs.count(None) == n:
            message_idx: list[int] | npt.NDArray[np.int32] = np.full(n, -1, dtype=np.int32)
        else:  # messages are masked, then bounded, before they are interned: never raw
            message_idx = self.messages.indices(
                [None if not m else mask_text(safe_str(m)) for m in msgs]
            )
        columns: dict[str, np.ndarray] = {
            # the clock's own wall() arithmetic, so a call ending now is at now
            "timestamp": (end / 1e9 + self.wall_offset).astype(np.float64, copy=False),
            # correctly rounded: a duration of at most nine decimals comes back exactly
            "duration": np.maximum((end - start) / 1e9, 0.0),
            "api": np.asarray(self.apis.indices(apis), dtype=np.int32),
            "org": np.asarray(self.orgs.indices(orgs), dtype=np.int32),
            "error": np.asarray(self.errors.indices(errs), dtype=np.int32),
            "message": np.asarray(message_idx, dtype=np.int32),
            "success": oks.astype(np.bool_),
            "request_size": np.clip(req, 0, _SIZE_MAX).astype(np.uint32),
            "response_size": np.clip(resp, 0, _SIZE_MAX).astype(np.uint32),
        }
        return CallBatch(
            columns=columns,
            trace_ids=traces,
            api_codes=self.apis.values(),
            org_codes=self.orgs.values(),
            error_codes=self.errors.values(),
        )

    def _write(self, columns: dict[str, np.ndarray], n: int) -> None:
        size = self._chunk_size
        done = 0
        while done < n:
            if not self._chunks or self._tail - self._chunks[-1].base >= size:
                self._chunks.append(_Chunk(self._tail, size))
            chunk = self._chunks[-1]
            offset = self._tail - chunk.base
            take = min(size - offset, n - done)
            for name, col in chunk.cols.items():
                col[offset : offset + take] = columns[name][done : done + take]
            done += take
            self._tail += take
        overflow = self._tail - self._head - self.capacity
        if overflow > 0:
            self._note_dropped(self._head, self._head + overflow)
            self._head += overflow
            self.evicted += overflow
            while self._chunks and self._chunks[0].base + size <= self._head:
                self._chunks.popleft()

    def _note_dropped(self, first: int, stop: int) -> None:
        """Remember the latest timestamp of stored calls ``first..stop-1`` (absolute)."""
        size = self._chunk_size
        for chunk in self._chunks:
            lo = max(first, chunk.base) - chunk.base
            hi = min(stop, chunk.base + size) - chunk.base
            if hi > lo:
                newest = float(chunk.cols["timestamp"][lo:hi].max())
                self.dropped_newest = max(self.dropped_newest, newest)

    def covers(self, since: float) -> bool:
        """True when every call with a timestamp at or after ``since`` is still held.

        False once a call that recent was evicted (the store was full) or removed by
        retention: a window starting at ``since`` then needs history to be complete.
        """
        return self.dropped_newest < since

    def drop_counts(self) -> dict[str, int]:
        """Calls the store let go of, by reason (all counted, none silently)."""
        return {
            "store_evicted": self.evicted,
            "store_retention": self.expired,
            "store_malformed": self.dropped_malformed,
            **self.overflow,
        }

    @property
    def overflow(self) -> dict[str, int]:
        """Calls whose string arrived after its table was full (stored as ``__other__``)."""
        return {
            f"store_overflow_{t.name}": t.overflow
            for t in (self.apis, self.orgs, self.errors, self.messages)
        }

    # -- reading ---------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Changes whenever the stored content changes (after a fold)."""
        return self._version

    def __len__(self) -> int:
        return self._tail - self._head + len(self.staging) // STAGED_WIDTH

    @property
    def nbytes(self) -> int:
        """Bytes held by the column chunks."""
        with self.lock:
            return sum(c.nbytes for ch in self._chunks for c in ch.cols.values())

    def _live_ranges(self) -> list[tuple[_Chunk, int, int]]:
        """Each chunk with the [lo, hi) offsets of its stored calls (under the lock)."""
        ranges = []
        for chunk in self._chunks:
            lo = max(self._head, chunk.base) - chunk.base
            hi = min(self._tail, chunk.base + self._chunk_size) - chunk.base
            if hi > lo:
                ranges.append((chunk, lo, hi))
        return ranges

    def snapshot(
        self,
        since: float | None = None,
        until: float | None = None,
        *,
        columns: Collection[str] | None = None,
    ) -> CallSnapshot:
        """Copy the calls whose timestamp is in ``[since, until]`` (after a fold).

        ``columns`` limits the copy to those columns (the analyzer reads five of nine);
        the others read as zeros. Unknown names raise ``ValueError``.
        """
        wanted = list(RECORD_DTYPES) if columns is None else sorted(set(columns))
        unknown = sorted(set(wanted) - RECORD_DTYPES.keys())
        if unknown:
            raise ValueError(f"unknown snapshot columns {unknown}; known: {list(RECORD_DTYPES)}")
        if "timestamp" not in wanted:
            raise ValueError("snapshot columns must include 'timestamp'")
        with self.lock:
            self.fold()
            parts: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
            for chunk, lo, hi in self._live_ranges():
                ts = chunk.cols["timestamp"][lo:hi]
                keep = np.ones(hi - lo, dtype=np.bool_)
                if since is not None:
                    keep &= ts >= since
                if until is not None:
                    keep &= ts <= until
                if keep.all():  # the whole chunk is in the window: a slice, not a mask
                    for name in wanted:
                        parts[name].append(chunk.cols[name][lo:hi])  # concatenate copies
                elif keep.any():
                    for name in wanted:
                        parts[name].append(chunk.cols[name][lo:hi][keep])
            cols = {  # np.concatenate always copies: the snapshot never aliases the store
                name: (np.concatenate(p) if p else np.empty(0, dtype=RECORD_DTYPES[name]))
                for name, p in parts.items()
            }
            n = len(cols["timestamp"])
            return CallSnapshot(
                **{
                    name: cols[name] if name in cols else _absent(dtype, n)
                    for name, dtype in RECORD_DTYPES.items()
                },
                api_codes=self.apis.values(),
                org_codes=self.orgs.values(),
                error_codes=self.errors.values(),
                messages=self.messages.values(),
                version=self._version,
            )

    # -- retention -------------------------------------------------------------------
    def remove_older_than(self, cutoff: float) -> int:
        """Remove calls with timestamp < ``cutoff``; return how many were removed."""
        with self.lock:
            self.fold()
            oldest = min(
                (
                    float(chunk.cols["timestamp"][lo:hi].min())
                    for chunk, lo, hi in self._live_ranges()
                ),
                default=cutoff,
            )
            if oldest >= cutoff:  # the usual case between two cleanups: nothing to copy
                return 0
            everything = self.snapshot()
            keep = everything.timestamp >= cutoff
            removed = int((~keep).sum())
            if not removed:
                return 0
            newest = float(everything.timestamp[~keep].max())
            self.dropped_newest = max(self.dropped_newest, newest)
            first_kept = int(np.argmax(keep)) if keep.any() else len(keep)
            if keep[first_kept:].all():
                # The usual case: the old calls are the oldest ones. Advance the head.
                self._head += first_kept
                while self._chunks and self._chunks[0].base + self._chunk_size <= self._head:
                    self._chunks.popleft()
            else:
                kept = everything.select(keep)
                self._chunks.clear()
                self._head = self._tail
                self._write({name: getattr(kept, name) for name in RECORD_DTYPES}, len(kept))
            self.expired += removed
            self._version += 1
            return removed
