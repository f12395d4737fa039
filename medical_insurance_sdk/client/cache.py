"""Response cache for R interfaces: TTL, size-bounded (LRU), keyed by a salted hash.

Keys are HMAC-SHA256 digests of the request (its scope: the platform's URL, the account
signing it, the institution and region; the interface, input and envelope overrides) under
a random per-cache salt, so one cache shared by several clients never serves one client's
answer to another, so the cache holds no personal data in clear and
a key cannot be matched to a guessed ID number offline. Entries expire after the TTL
(a shorter one for personal interfaces such as 1101) and are never served stale. Values
are deep-copied on the way in and out, so callers cannot alter what the cache holds.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CacheStats", "ResponseCache"]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of one cache."""

    hits: int
    misses: int
    size: int

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups (0.0 before the first lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ResponseCache:
    """A thread-safe TTL + LRU cache of R-interface outputs.

    ``ttl`` applies to non-personal interfaces (catalogs, dictionaries), ``personal_ttl``
    to interfaces whose output is about a person.
    """

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        ttl: float = 300.0,
        personal_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl <= 0 or personal_ttl <= 0:
            raise ValueError("cache TTLs must be positive")
        self.max_entries = max_entries
        self.ttl = ttl
        self.personal_ttl = personal_ttl
        self._clock = clock
        self._salt = os.urandom(32)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._hits = 0
        self._misses = 0

    def key(
        self,
        scope: str | Sequence[str],
        api_code: str,
        input_data: Any,
        extra: Mapping[str, Any] | None,
    ) -> str:
        """Return the hashed key of a request (hex; no personal data recoverable).

        ``scope`` names who asks whom: everything besides the input that the answer
        depends on (the clients pass base URL, account, institution and region).
        """
        material = json.dumps(
            [scope, api_code, input_data, dict(extra or {})],
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        return hmac.new(self._salt, material.encode("utf-8"), hashlib.sha256).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """Return a copy of the cached output, or None (counts a hit or a miss)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                self._hits += 1
                value = entry[1]
            else:
                if entry is not None:
                    del self._entries[key]
                self._misses += 1
                return None
        return copy.deepcopy(value)

    def put(self, key: str, output: Mapping[str, Any], *, personal: bool) -> None:
        """Store a copy of ``output`` with the TTL for its kind; evict the oldest if full."""
        expires = self._clock() + (self.personal_ttl if personal else self.ttl)
        value = copy.deepcopy(dict(output))
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        with self._lock:
            self._entries.clear()

    def keys(self) -> list[str]:
        """The current keys (hashes), oldest first."""
        with self._lock:
            return list(self._entries)

    def stats(self) -> CacheStats:
        """Return the hit and miss counters and the current size."""
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries))
