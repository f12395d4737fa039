"""The exposition lines of one series, byte for byte as prometheus_client writes them.

prometheus_client's ``generate_latest`` (text 0.0.4) and its OpenMetrics ``generate_latest``
write a sample as ``name{label="value",...} value`` with the labels sorted by name, values
escaped (backslash, newline, double quote), numbers through ``floatToGoString``, and, in
OpenMetrics only, `` # {trace_id="..."} value timestamp`` after a bucket with an exemplar.
For the default escaping schemes (``underscores``, ``allow-utf-8``) and our metric names
(all legacy-valid) both formats write the same sample lines except for the exemplars.

This module builds, once per family, a bytes ``%`` template of all the lines of one
series (a histogram series is its buckets, ``_count`` and ``_sum``); rendering a series is
one or two ``%`` operations (bytes ``%`` is several times faster than ``str.format``).
``tests/unit/test_exposition_cache.py`` compares the result with prometheus_client's own
rendering over random label values and numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, cast

from prometheus_client.utils import floatToGoString

__all__ = [
    "INT_TEXT_LIMIT",
    "CounterLines",
    "FamilySpec",
    "HistogramLines",
    "SummaryLines",
    "count_text",
    "counter_template",
    "escape_label_value",
    "exemplar_text",
    "float_text",
    "histogram_template",
    "sorted_order",
    "summary_template",
]

#: Integers below this are written ``<n>.0`` (``floatToGoString`` switches to an exponent
#: from seven digits before the point on).
INT_TEXT_LIMIT = 1_000_000

#: prometheus_client's number format (``repr``, Go's exponent style, ``+Inf``, ``NaN``).
float_text = cast(Callable[[float], str], floatToGoString)


class FamilySpec(NamedTuple):
    """What a line needs of its family: the family's name and label names, in order."""

    name: str
    labelnames: tuple[str, ...]


def escape_label_value(value: str) -> str:
    """A label value as prometheus_client escapes it (backslash, newline, quote)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def count_text(count: int) -> str:
    """``floatToGoString(float(count))`` for a non-negative integer, fast when small."""
    return f"{count}.0" if count < INT_TEXT_LIMIT else float_text(count)


def exemplar_text(trace_id: str, value: float, timestamp: float) -> bytes:
    """The OpenMetrics exemplar suffix of a bucket line (prometheus_client's format)."""
    text = f' # {{trace_id="{escape_label_value(trace_id)}"}} {float_text(value)} {timestamp}'
    return text.encode()


def _literal(text: str, passes: int) -> bytes:
    """Template text that survives ``passes`` rounds of ``%`` formatting unchanged."""
    return text.replace("%", "%" * (2**passes)).encode()


def sorted_order(spec: FamilySpec) -> tuple[int, ...]:
    """Positions of the family's labels in the order they are written (by name)."""
    return tuple(sorted(range(len(spec.labelnames)), key=lambda i: spec.labelnames[i]))


def _line(
    sample: str,
    names: Sequence[str],
    literals: dict[str, str],
    slot: bytes,
    value: bytes,
    passes: int,
) -> bytes:
    """``sample{labels} value``: label values are ``slot`` fields except ``literals``."""
    fields = sorted([*((name, None) for name in names), *literals.items()], key=lambda f: f[0])
    parts = [
        _literal(f'{name}="', passes) + (slot if text is None else _literal(text, passes)) + b'"'
        for name, text in fields
    ]
    labels = b"{" + b",".join(parts) + b"}" if parts else b""
    return _literal(sample, passes) + labels + b" " + value + b"\n"


def counter_template(spec: FamilySpec) -> bytes:
    """``%`` template of a counter line: the labels (in :func:`sorted_order`), the value."""
    return _line(f"{spec.name}_total", spec.labelnames, {}, b"%s", b"%s", 1)


def summary_template(spec: FamilySpec) -> bytes:
    """``_count`` and ``_sum`` lines: the labels, the count, the labels, the sum."""
    return _line(f"{spec.name}_count", spec.labelnames, {}, b"%s", b"%s", 1) + _line(
        f"{spec.name}_sum", spec.labelnames, {}, b"%s", b"%s", 1
    )


def histogram_template(
    spec: FamilySpec, les: Sequence[str], *, int_counts: bool, exemplars: bool
) -> bytes:
    """All lines of one histogram series, as a template formatted in two ``%`` steps.

    Step 1 takes the labels (in :func:`sorted_order`, ``%`` doubled) once per line
    (``len(les) + 2`` lines); step 2 the numbers in line order: per bucket its cumulative
    count (an ``int`` below :data:`INT_TEXT_LIMIT` with ``int_counts``, else its text) and,
    with ``exemplars``, its exemplar suffix (``b""`` for none); then the count and the sum.
    """
    count = b"%%d.0" if int_counts else b"%%s"
    bucket = count + (b"%%s" if exemplars else b"")
    lines = [
        _line(
            f"{spec.name}_bucket", spec.labelnames, {"le": escape_label_value(le)}, b"%s", bucket, 2
        )
        for le in les
    ]
    lines.append(_line(f"{spec.name}_count", spec.labelnames, {}, b"%s", count, 2))
    lines.append(_line(f"{spec.name}_sum", spec.labelnames, {}, b"%s", b"%%s", 2))
    return b"".join(lines)


class CounterLines:
    """The line of one counter series."""

    def __init__(self, spec: FamilySpec) -> None:
        self.order = sorted_order(spec)
        self._template = counter_template(spec)

    def render(self, labels: Sequence[bytes], count: int) -> bytes:
        """``labels``: escaped, encoded, in :attr:`order`."""
        return self._template % (*labels, count_text(count).encode())


class SummaryLines:
    """The ``_count`` and ``_sum`` lines of one summary series."""

    def __init__(self, spec: FamilySpec) -> None:
        self.order = sorted_order(spec)
        self._template = summary_template(spec)

    def render(self, labels: Sequence[bytes], count: int, total: float) -> bytes:
        """``labels``: escaped, encoded, in :attr:`order`."""
        return self._template % (
            *labels,
            count_text(count).encode(),
            *labels,
            float_text(total).encode(),
        )


class HistogramLines:
    """All lines of one histogram series (buckets, ``_count``, ``_sum``)."""

    def __init__(self, spec: FamilySpec, les: Sequence[str]) -> None:
        self.order = sorted_order(spec)
        self._buckets = len(les)
        self._templates = {
            (marks, ints): histogram_template(spec, les, int_counts=ints, exemplars=marks)
            for marks in (False, True)
            for ints in (False, True)
        }

    def render(
        self,
        labels: Sequence[bytes],
        cumulative: Sequence[int],
        total: float,
        marks: Sequence[bytes] | None = None,
    ) -> bytes:
        """One series: ``labels`` escaped, encoded, in :attr:`order`; ``cumulative`` the
        cumulative bucket counts (the last is the count); ``marks`` each bucket's exemplar
        suffix (:func:`exemplar_text`, ``b""`` for none), or None for none at all."""
        small = cumulative[-1] < INT_TEXT_LIMIT
        counts: Sequence[int | bytes] = (
            cumulative if small else [count_text(c).encode() for c in cumulative]
        )
        step1 = tuple(v.replace(b"%", b"%%") for v in labels) * (self._buckets + 2)
        if marks is None:
            values: list[int | bytes] = [*counts, counts[-1], float_text(total).encode()]
        else:
            values = [b""] * (2 * self._buckets)
            values[0::2] = counts
            values[1::2] = marks
            values += [counts[-1], float_text(total).encode()]
        return (self._templates[(marks is not None, small)] % step1) % tuple(values)
