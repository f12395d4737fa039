"""Small labelled numbers kept by the collector itself (no Prometheus needed).

``LabelledNumbers`` holds gauges (``set``: active connections, cache hit ratio) and
counters (``add``: outcome-unknown settlements, abandoned calls) alike. Label values are
interned in bounded :class:`~medical_insurance_sdk.core.collection.labels.LabelTable` objects, so
they are sanitised (masked, truncated) once and capped.
"""

from __future__ import annotations

import threading

from medical_insurance_sdk.core.collection.labels import LabelTable

__all__ = ["LabelledNumbers"]


class LabelledNumbers:
    """Thread-safe ``{label tuple: float}`` with set/add; label values capped per label."""

    def __init__(self, labelnames: tuple[str, ...], cap: int = 200) -> None:
        self.labelnames = labelnames
        self._tables = tuple(LabelTable(name, cap, max_length=64) for name in labelnames)
        self._lock = threading.Lock()
        self._values: dict[tuple[int, ...], float] = {}
        # Raw label tuples already known to be clean -> their key: the hot path's lookup.
        self._known: dict[tuple[object, ...], tuple[int, ...]] = {}

    def _key(self, labels: tuple[object, ...]) -> tuple[int, ...]:
        try:
            return self._known[labels]
        except (KeyError, TypeError):  # new, or unhashable
            pass
        if len(labels) != len(self._tables):
            raise ValueError(f"expected labels {self.labelnames}, got {len(labels)} values")
        key = tuple(t.index(v) for t, v in zip(self._tables, labels, strict=True))
        names = [t.values() for t in self._tables]
        if len(self._known) < 1024 and all(
            type(v) is str and names[i][k] == v
            for i, (k, v) in enumerate(zip(key, labels, strict=True))
        ):  # only raw values that sanitising kept as they are are remembered
            self._known[labels] = key
        return key

    def set(self, value: float, *labels: object) -> None:
        """Set the value of one label tuple."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = value

    def add(self, delta: float, *labels: object) -> None:
        """Add ``delta`` to the value of one label tuple."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + delta

    def items(self) -> list[tuple[tuple[str, ...], float]]:
        """A consistent copy of every (label values, value) pair."""
        with self._lock:
            pairs = list(self._values.items())
        tables = [t.values() for t in self._tables]
        return [(tuple(tables[i][k] for i, k in enumerate(key)), v) for key, v in pairs]

    def get(self, *labels: str) -> float:
        """The value of one label tuple (0 when never set)."""
        key = tuple(t.get(v) for t, v in zip(self._tables, labels, strict=True))
        if any(k is None for k in key):
            return 0.0
        with self._lock:
            return self._values.get(key, 0.0)  # type: ignore[arg-type]

    @property
    def overflow(self) -> int:
        """Label values folded into ``__other__``."""
        return sum(t.overflow for t in self._tables)
