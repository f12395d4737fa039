"""The analyzer's result cache: keyed on what the answer depends on, and measured.

A result is reused only for the same kind of analysis over the same calls: the key holds
the store's version (it changes with every fold and every retention pass, so a new call
is never missed), the window, the number of calls the window selected (a call leaving
the window at its old edge changes it), the thresholds' version, the language and the
alert policy, and ``now`` in buckets of ``resolution`` seconds: within one bucket the
only difference a recomputation could make is the ``now`` the result carries (its
timestamp and its time buckets' edges, at most ``resolution`` seconds older).

:meth:`ResultCache.info` gives the hits and misses, so the hit rate is measured, not
assumed (``tests/unit/test_analyzer_cache.py``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CacheInfo", "ResultCache"]


@dataclass(frozen=True)
class CacheInfo:
    """Hits and misses so far, entries held and the bound."""

    hits: int
    misses: int
    size: int
    maxsize: int

    @property
    def hit_rate(self) -> float:
        """Hits per lookup (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hit_rate": self.hit_rate}


class ResultCache:
    """A thread-safe LRU of analysis results (see the module for the key)."""

    def __init__(self, maxsize: int, resolution: float) -> None:
        if not (math.isfinite(resolution) and resolution > 0):
            raise ValueError(f"cache_resolution must be a number > 0 (got {resolution!r})")
        self._maxsize = max(1, maxsize)
        self._resolution = resolution
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def key(self, now: float, *parts: Hashable) -> tuple[Hashable, ...]:
        """The key of a result computed at ``now`` from what ``parts`` name."""
        return (math.floor(now / self._resolution), *parts)

    def get(self, key: Hashable) -> Any | None:
        """The result under ``key``, or None (a lookup: counted as a hit or a miss)."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self._misses += 1
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, evicting the least recently used beyond the bound."""
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def info(self) -> CacheInfo:
        """Hits, misses, size and bound."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self._maxsize)
