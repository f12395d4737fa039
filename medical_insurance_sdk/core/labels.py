"""Bounded string interning for label values and stored strings.

A :class:`LabelTable` maps strings to small integers so that stored records hold an
``int32`` instead of a string, and bounds cardinality: once ``cap`` distinct values are
known, every new value maps to :data:`OTHER` and the overflow is counted. Values are
sanitised once, when first seen: non-strings are converted, text is truncated and
personal data is masked (a table never keeps a raw personal value, not even as a key).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import repeat

from medical_insurance_sdk.core.redaction import mask_text

__all__ = ["OTHER", "LabelTable", "safe_str", "sanitize_label"]

#: The value that absorbs everything beyond a cap.
OTHER = "__other__"


def safe_str(value: object) -> str:
    """``str(value)`` that cannot raise (``None`` is ``""``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not break monitoring
        return f"<{type(value).__name__}>"


def sanitize_label(value: object, max_length: int = 128) -> str:
    """Make a safe label value: a masked, printable ``str`` of at most ``max_length``."""
    text = safe_str(value)
    if len(text) > 4 * max_length:
        text = text[: 4 * max_length]
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = mask_text(text)[:max_length].strip()
    return text or "unknown"


class LabelTable:
    """Interned, bounded set of strings. ``index`` is safe to call from many threads."""

    __slots__ = ("_cap", "_index", "_lock", "_max_length", "_values", "name", "overflow")

    def __init__(
        self, name: str, cap: int, *, max_length: int = 128, nullable: bool = False
    ) -> None:
        self.name = name
        self._cap = cap
        self._max_length = max_length
        # With ``nullable``, None and "" map to -1 ("none") without a slot of their own.
        self._index: dict[object, int] = {None: -1, "": -1} if nullable else {}
        self._values: list[str] = []
        self._lock = threading.Lock()
        #: Values that arrived after the cap and were folded into :data:`OTHER`.
        self.overflow = 0

    def index(self, value: object) -> int:
        """Return the index of ``value``, adding it (sanitised) on first sight."""
        found = self._index.get(value) if type(value) is str or value is None else None
        if found is not None:
            return found
        return self._add(value)

    def _add(self, value: object) -> int:
        if len(self._values) > self._cap:  # full (OTHER included): skip the sanitising
            with self._lock:
                self.overflow += 1
                return self._index[OTHER]
        clean = sanitize_label(value, self._max_length)
        with self._lock:
            found = self._index.get(clean)
            if found is None:
                if len(self._values) >= self._cap:
                    self.overflow += 1
                    clean = OTHER
                    found = self._index.get(OTHER)
                if found is None:
                    found = len(self._values)
                    self._values.append(clean)
                    self._index[clean] = found
            # Only sanitised values are keys: a raw value that sanitising changed (masked
            # personal data, control characters) is sanitised again on its next sight.
            return found

    def indices(self, values: Sequence[object]) -> list[int]:
        """``index`` of every value; known values are looked up at C speed."""
        try:
            out = list(map(self._index.get, values, repeat(-2)))
        except TypeError:  # an unhashable value: resolve one by one
            out = [-2] * len(values)
        if -2 in out:
            for i, value in enumerate(values):
                if out[i] == -2:
                    out[i] = self.index(value)
        return out

    def get(self, value: str) -> int | None:
        """Index of an already known (sanitised) value, or ``None``."""
        return self._index.get(value)

    def values(self) -> tuple[str, ...]:
        """All known values, in index order."""
        return tuple(self._values)

    def __len__(self) -> int:
        return len(self._values)
