"""The exposition lines of one series, byte for byte as prometheus_client writes them.

prometheus_client's ``generate_latest`` (text 0.0.4) and its OpenMetrics ``generate_latest``
write a sample as ``name{label="value",...} value`` with the labels sorted by name, values
escaped (backslash, newline, double quote), numbers through ``floatToGoString``, and, in
OpenMetrics only, `` # {trace_id="..."} value timestamp`` after a bucket with an exemplar.
For the default escaping schemes (``underscores``, ``allow-utf-8``) and our metric names
(all legacy-valid) both formats write the same sample lines except for the exemplars.

This module builds, once per family, a ``str.format`` template of all the lines of one
series (a histogram series is its buckets, ``_count`` and ``_sum``); rendering a series is
one ``format`` call. ``tests/unit/test_scrape.py`` compares the result with
prometheus_client's own rendering over random label values and numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, cast

from prometheus_client.utils import floatToGoString

__all__ = [
    "INT_TEXT_LIMIT",
    "FamilySpec",
    "count_text",
    "counter_template",
    "escape_label_value",
    "exemplar_text",
    "float_text",
    "histogram_template",
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


def exemplar_text(trace_id: str, value: float, timestamp: float) -> str:
    """The OpenMetrics exemplar suffix of a bucket line (prometheus_client's format)."""
    return f' # {{trace_id="{escape_label_value(trace_id)}"}} {float_text(value)} {timestamp}'


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _line(sample: str, labels: Sequence[tuple[str, str]], value: str) -> str:
    """One line template: ``labels`` pairs (name, literal or ``{i}`` field), sorted by name."""
    if labels:
        inner = ",".join(f'{name}="{field}"' for name, field in sorted(labels))
        return f"{_literal(sample)}{{{{{inner}}}}} {value}\n"
    return f"{_literal(sample)} {value}\n"


def _fields(spec: FamilySpec) -> list[tuple[str, str]]:
    return [(name, f"{{{i}}}") for i, name in enumerate(spec.labelnames)]


def counter_template(spec: FamilySpec) -> str:
    """``{name}_total{labels} {value}``: fields 0..L-1 the labels, L the value text."""
    return _line(f"{spec.name}_total", _fields(spec), f"{{{len(spec.labelnames)}}}")


def summary_template(spec: FamilySpec) -> str:
    """``_count`` and ``_sum`` lines: fields 0..L-1 the labels, L the count, L+1 the sum."""
    n = len(spec.labelnames)
    labels = _fields(spec)
    return _line(f"{spec.name}_count", labels, f"{{{n}}}") + _line(
        f"{spec.name}_sum", labels, f"{{{n + 1}}}"
    )


def histogram_template(
    spec: FamilySpec, les: Sequence[str], *, int_counts: bool, exemplars: bool
) -> str:
    """All lines of one histogram series.

    Fields: 0..L-1 the labels; L+b the cumulative count of bucket ``b`` (``le=les[b]``);
    L+B the count, L+B+1 the sum text; with ``exemplars``, L+B+2+b the exemplar suffix of
    bucket ``b`` (``""`` for none). With ``int_counts`` the counts are ints below
    :data:`INT_TEXT_LIMIT` (written ``<n>.0``), else their texts.
    """
    n, nb = len(spec.labelnames), len(les)
    labels = _fields(spec)
    dot = ".0" if int_counts else ""
    lines = []
    for b, le in enumerate(les):
        value = f"{{{n + b}}}{dot}" + (f"{{{n + nb + 2 + b}}}" if exemplars else "")
        lines.append(
            _line(f"{spec.name}_bucket", [*labels, ("le", _literal(escape_label_value(le)))], value)
        )
    lines.append(_line(f"{spec.name}_count", labels, f"{{{n + nb}}}{dot}"))
    lines.append(_line(f"{spec.name}_sum", labels, f"{{{n + nb + 1}}}"))
    return "".join(lines)
