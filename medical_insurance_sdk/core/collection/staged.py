"""StagedCall: the one definition of a finished call as it is handed to the store.

Every recording path writes the same record: the collector's ``record_api_call_end``,
the SDK client through a channel (``core/collection/channel.py``) and the explicit
``record_api_call``. The hot paths build it as a plain tuple and append its fields to
the store's flat staging list in one C call (``staging.extend((…))``); those tuples are
written in the field order below, and ``tests/unit/test_staged_call.py`` drives each
building site and checks what it staged against :class:`StagedCall`.

The fields, in order, with their units:

==================  =======  ===========================================================
field               type     meaning
==================  =======  ===========================================================
``end_ns``          int      reading of the store's monotonic clock at the end, in ns
``start_ns``        int      reading of the same clock at the start, in ns
``api_code``        str      the interface code (a label: sanitised when folded)
``org_code``        str      the institution code (a label: sanitised when folded)
``success``         bool     the call succeeded
``error_code``      str|None stable error code, None on success
``error_message``   str|None error text (masked, then bounded, when folded)
``request_size``    int      bytes sent, >= 0
``response_size``   int      bytes received, >= 0
``trace_id``        str|None W3C trace id (the exemplar; any other value is dropped)
==================  =======  ===========================================================

Times have one unit and one meaning: integer nanoseconds of the store's clock (the
collector's ``Clock.monotonic_ns``). The fold turns them into the stored columns:
``timestamp = end_ns / 1e9 + wall_offset`` (epoch seconds, the clock's own ``wall()``
arithmetic) and ``duration = (end_ns - start_ns) / 1e9`` (seconds). A record that
starts from epoch seconds (a replay, a log import) is converted explicitly by
:meth:`StagedCall.from_seconds`; a float in a time field is a ``ValueError`` in
:meth:`CallStore.append <medical_insurance_sdk.core.collection.store.CallStore.append>` and a
malformed batch at the fold.

The fold checks what the hot paths guarantee (see :data:`CHECKED_FIELDS`): every
staged batch is whole records, and the ``int`` and ``bool`` fields hold only ints and
bools. A batch that fails is dropped whole (one torn record shifts every later one, so
no record of it can be trusted), counted in ``store_malformed`` and logged once a minute.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, get_type_hints

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHECKED_FIELDS",
    "STAGED_FIELDS",
    "STAGED_WIDTH",
    "MalformedBatch",
    "StagedCall",
    "seconds_to_ns",
]


class StagedCall(NamedTuple):
    """One finished call, before interning (fields and units: see the module)."""

    end_ns: int
    start_ns: int
    api_code: str
    org_code: str
    success: bool
    error_code: str | None
    error_message: str | None
    request_size: int
    response_size: int
    trace_id: str | None

    @classmethod
    def from_seconds(
        cls,
        timestamp: float,
        duration: float,
        api_code: str,
        org_code: str,
        success: bool,
        error_code: str | None = None,
        error_message: str | None = None,
        request_size: int = 0,
        response_size: int = 0,
        trace_id: str | None = None,
        *,
        wall_offset: float,
    ) -> StagedCall:
        """A call that ended at ``timestamp`` (epoch seconds) after ``duration`` seconds.

        ``wall_offset`` is the store's (epoch seconds at clock zero). The times are
        converted to the nanosecond: a timestamp near the offset (the present, for a
        collector's store) and a duration with at most nine decimals are stored exactly.
        """
        end_ns = seconds_to_ns(timestamp, wall_offset)
        return cls(
            end_ns,
            end_ns - _duration_ns(duration),
            api_code,
            org_code,
            success,
            error_code,
            error_message,
            request_size,
            response_size,
            trace_id,
        )


#: The field names, in staging order.
STAGED_FIELDS: tuple[str, ...] = StagedCall._fields
#: Fields of one staged call, laid end to end in the staging list.
STAGED_WIDTH = len(STAGED_FIELDS)

#: NumPy's kind of each field the fold checks, from the annotations above: an ``int``
#: field must convert to integers, a ``bool`` field to booleans (a float, a None or a
#: string, which is what a shifted column holds, does not).
_KINDS: dict[object, str] = {int: "iu", bool: "b"}
CHECKED_FIELDS: dict[str, str] = {
    name: _KINDS[hint] for name, hint in get_type_hints(StagedCall).items() if hint in _KINDS
}


class MalformedBatch(ValueError):
    """A staged batch that is not whole, well-typed records (the text quotes no value)."""


def seconds_to_ns(timestamp: float, wall_offset: float) -> int:
    """The clock reading in ns whose ``reading / 1e9 + wall_offset`` is ``timestamp``.

    The nearest reading is tried first, then its neighbours, so that the fold gives
    back the same float whenever one reading does; otherwise the nearest one.
    """
    offset_ns = (timestamp - wall_offset) * 1e9
    if not math.isfinite(offset_ns):
        raise ValueError(f"a staged time must be finite seconds (got {timestamp!r})")
    nearest = round(offset_ns)
    for reading in (nearest, nearest - 1, nearest + 1, nearest - 2, nearest + 2):
        if reading / 1e9 + wall_offset == timestamp:
            return reading
    return nearest


#: Sizes are stored as uint32: larger ones are clipped (an int beyond int64 included).
_SIZE_FIELDS = frozenset({"request_size", "response_size"})
_SIZE_MAX = 2**32 - 1
_INT64 = range(-(2**63), 2**63)


def _duration_ns(seconds: float) -> int:
    """``seconds`` in ns (the fold's ``/ 1e9`` gives back any nine-decimal value)."""
    ns = seconds * 1e9
    if not math.isfinite(ns):
        raise ValueError(f"a staged duration must be finite seconds (got {seconds!r})")
    return round(ns)


def check_column(name: str, values: list[Any]) -> npt.NDArray[Any]:
    """``values`` of the checked field ``name`` as an array; MalformedBatch if mistyped."""
    column = np.asarray(values)
    if column.dtype.kind == "O" and name in _SIZE_FIELDS and all(type(v) is int for v in values):
        column = np.asarray([min(max(v, 0), _SIZE_MAX) for v in values])  # beyond int64
    if len(values) and column.dtype.kind not in CHECKED_FIELDS[name]:
        kinds = sorted({type(v).__name__ for v in values})
        raise MalformedBatch(f"staged field {name!r} holds {', '.join(kinds)}")
    return column


def check_record(call: tuple[Any, ...]) -> None:
    """ValueError naming the problem if ``call`` is not one well-formed staged call."""
    if len(call) != STAGED_WIDTH:
        raise ValueError(
            f"a staged call has {STAGED_WIDTH} fields {STAGED_FIELDS} (got {len(call)})"
        )
    for name, value in zip(STAGED_FIELDS, call, strict=True):
        kinds = CHECKED_FIELDS.get(name)
        if kinds is None:
            continue
        if (kinds == "b") != (type(value) is bool) or not isinstance(value, int):
            hint = " (use StagedCall.from_seconds for epoch seconds)" if "_ns" in name else ""
            raise ValueError(
                f"staged field {name!r} must be {'a bool' if kinds == 'b' else 'an int'}"
                f" (got {type(value).__name__}){hint}"
            )
        if name.endswith("_ns") and value not in _INT64:
            raise ValueError(f"staged field {name!r} is out of range (a 64-bit ns reading)")
