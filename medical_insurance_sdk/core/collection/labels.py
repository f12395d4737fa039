"""Bounded string interning for label values and stored strings.

A :class:`LabelTable` maps strings to small integers so that stored records hold an
``int32`` instead of a string, and bounds cardinality: once ``cap`` distinct values are
known, every new value maps to :data:`OTHER` and the overflow is counted. Values are
sanitised once, when first seen: non-strings are converted, text is truncated and
personal data is masked (a table never keeps a raw personal value, not even as a key).

Which side of the line each label is on (``GUIDE.md``: loud at construction, never at
run time): the hot path sanitises and counts (:class:`LabelTable`, :class:`LabelCache`);
explicit calls raise ``ValueError`` for a value sanitising would change
(:func:`check_clean_label`). A trace id is no label: :func:`is_trace_id` only accepts
the W3C form, and a call with any other trace id keeps no exemplar (counted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import repeat

from medical_insurance_sdk.redaction import mask_text

__all__ = [
    "OTHER",
    "LabelCache",
    "LabelTable",
    "check_clean_label",
    "is_trace_id",
    "safe_str",
    "sanitize_label",
]

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


_HEX = "0123456789abcdef"


def is_trace_id(value: object) -> bool:
    """True for a W3C trace id: 32 lowercase hex digits (what an exemplar may carry).

    Cheap (a length test and one ``str.strip`` in C): it runs once per traced call.
    """
    return type(value) is str and len(value) == 32 and not value.strip(_HEX)


def check_clean_label(name: str, value: object, max_length: int = 64) -> str:
    """``value`` if it is a label value as is: a non-empty printable ``str`` of at most
    ``max_length`` characters with no personal data; otherwise ``ValueError``.

    For explicit calls. The message does not quote the value (it may be personal data).
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty str (got {type(value).__name__})")
    if len(value) > max_length:
        raise ValueError(f"{name} must have at most {max_length} characters (got {len(value)})")
    if not value.isprintable():
        raise ValueError(f"{name} must be printable text (no control characters or surrogates)")
    if sanitize_label(value, max_length) != value:
        raise ValueError(f"{name} must not hold personal data or surrounding spaces")
    return value


class LabelCache:
    """Raw label value -> sanitised value for the hot path; each distinct value sanitised once.

    ``clean[raw]`` is the hot path's lookup (a dict read without a lock); a miss goes
    through :meth:`resolve`, which sanitises the value (:func:`sanitize_label`) and
    remembers it. At most ``cap`` distinct clean values are kept; after that, new values
    map to :data:`OTHER` without being sanitised. Counted through ``on_drop``: every
    sanitising that changed a value (``label_sanitised_<name>``: once per distinct str
    value, since it is remembered) and every value folded into :data:`OTHER`
    (``overflow_label_<name>``). Only ``str`` values are remembered, and not those whose
    sanitising masked personal data (no raw personal value is ever a key): those are
    sanitised, and counted, each time they are seen.
    """

    __slots__ = ("_cap", "_lock", "_max_length", "_on_drop", "_reasons", "clean", "values")

    def __init__(
        self,
        name: str,
        cap: int,
        *,
        max_length: int = 64,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        self._cap = cap
        self._max_length = max_length
        self._on_drop = on_drop
        self._reasons = (f"label_sanitised_{name}", f"overflow_label_{name}")
        self._lock = threading.Lock()
        #: Raw str value -> clean value (clean values map to themselves).
        self.clean: dict[object, str] = {}
        #: The distinct clean values, in order of first sight.
        self.values: list[str] = []

    def resolve(self, value: object) -> str:
        """The clean value of ``value``, sanitising it on first sight. Never raises."""
        found = self.clean.get(value) if type(value) is str else None
        if found is not None:
            return found
        if len(self.values) >= self._cap:
            self._count(1)
            return OTHER
        text = safe_str(value)
        clean = sanitize_label(text, self._max_length)
        remember = type(value) is str and mask_text(text) == text
        with self._lock:
            if self.clean.get(clean) != clean:  # a new clean value
                if len(self.values) >= self._cap:
                    clean, remember = OTHER, False
                else:
                    self.values.append(clean)
                    self.clean[clean] = clean
            if remember and len(self.clean) < 4 * self._cap:
                self.clean[value] = clean
        if clean == OTHER and text != OTHER:
            self._count(1)
        elif clean != text or type(value) is not str:
            self._count(0)
        return clean

    def _count(self, which: int) -> None:
        if self._on_drop is not None:
            self._on_drop(self._reasons[which])


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
