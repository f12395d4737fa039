"""What the simulator received: counts per interface, last headers, msgids, trace ids, outcomes.

Tests compare these with what the client and the collector saw (e.g. that a W$ call was
sent exactly once, or that the ``traceparent`` header arrived). Secrets in headers are
replaced by ``***`` before they are kept. Memory is bounded.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from typing import Any

__all__ = ["SECRET_HEADERS", "Recorder"]

#: Header names (lower case) whose values are never kept.
SECRET_HEADERS = frozenset(
    {
        "_api_signature",
        "_api_access_key",
        "x-tif-signature",
        "x-tif-paasid",
        "authorization",
        "cookie",
    }
)
_MAX_MSGIDS = 100_000
_MAX_PEERS = 100_000
_RECENT = 1000


class Recorder:
    """Counters of one simulator; used from its event loop only."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self.received: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.auth_failures: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.duplicate_msgids = 0
        self.total = 0
        self.last_headers: dict[str, dict[str, str]] = {}
        self.recent_msgids: dict[str, deque[str]] = {}
        self.recent_trace_ids: dict[str, deque[str]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._peers: set[object] = set()

    def request(
        self, infno: str, msgid: str, headers: Mapping[str, str], trace_id: str = ""
    ) -> None:
        """Record one authenticated request (``trace_id``: its ``traceparent``'s, if valid)."""
        if trace_id:
            self.recent_trace_ids.setdefault(infno, deque(maxlen=_RECENT)).append(trace_id)
        self.total += 1
        self.received[infno] += 1
        self.last_headers[infno] = {
            name.lower(): ("***" if name.lower() in SECRET_HEADERS else value)
            for name, value in headers.items()
        }
        if msgid:
            if msgid in self._seen:
                self.duplicate_msgids += 1
            else:
                self._seen[msgid] = None
                if len(self._seen) > _MAX_MSGIDS:
                    self._seen.popitem(last=False)
            self.recent_msgids.setdefault(infno, deque(maxlen=_RECENT)).append(msgid)

    def connection(self, peer: object) -> None:
        """Note the TCP peer ``(host, port)`` a request came on (one per connection)."""
        if peer is not None and len(self._peers) < _MAX_PEERS:
            self._peers.add(peer)

    def outcome(self, infno: str, outcome: str) -> None:
        """Record how a request was answered (``ok``, ``business_error``, a fault name…)."""
        self.responses[f"{infno}:{outcome}"] += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the counters."""
        return {
            "total": self.total,
            "received": dict(self.received),
            "responses": dict(self.responses),
            "auth_failures": dict(self.auth_failures),
            "faults": dict(self.faults),
            "duplicate_msgids": self.duplicate_msgids,
            "connections": len(self._peers),
            "last_headers": {k: dict(v) for k, v in self.last_headers.items()},
            "recent_msgids": {k: list(v) for k, v in self.recent_msgids.items()},
            "recent_trace_ids": {k: list(v) for k, v in self.recent_trace_ids.items()},
        }
