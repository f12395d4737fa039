"""The API families' exposition lines, kept per series and re-rendered only where they changed.

A scrape of 8 000 histogram series is 13 MB of text; most series do not change between
two scrapes 15 s apart. :class:`ExpositionCache` keeps the rendered bytes of every series
of the five API families (and, when a scraper asks for gzip, each series' bytes as an
independent raw-deflate chunk). On each scrape it asks the aggregates which rows a fold
touched since the generation it last rendered (``ApiAggregates.*_version``; the folds
mark them, off the hot path) and re-renders only those, with the line templates of
``series_text.py``. The histogram has a text and an OpenMetrics (exemplars) variant; the
other families' lines are the same in both formats.

:class:`CachedFamily` is what :class:`~medical_insurance_sdk.core.prometheus_export.
SdkMetricsCollector` yields for these families: a real prometheus_client ``Metric`` whose
samples are filled only when something reads them (prometheus_client's own
``generate_latest``, a push, a ``name[]`` filter, ``get_sample_value``), while the scrape
renderer (``scrape.py``) takes its lines from the cache and never builds the samples.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from medical_insurance_sdk.core.aggregates import ApiAggregates
from medical_insurance_sdk.core.series_rows import (
    KINDS,
    CounterRows,
    HistogramRows,
    SummaryRows,
    call_rows,
    changed_rows,
    error_rows,
    histogram_rows,
    size_rows,
)
from medical_insurance_sdk.core.series_text import (
    INT_TEXT_LIMIT,
    FamilySpec,
    count_text,
    counter_template,
    escape_label_value,
    exemplar_text,
    float_text,
    histogram_template,
    summary_template,
)

__all__ = ["DEFLATE_LEVEL", "ApiScrape", "CachedFamily", "ExpositionCache", "RenderedRows"]

#: zlib level of the per-series deflate chunks. Measured over 8 000 histogram series
#: (13.7 MB): level 1 took 0.69x level 6's time for a body 7 % larger (1.74 vs 1.62 MB).
DEFLATE_LEVEL = 1


@dataclass(frozen=True)
class RenderedRows:
    """One family's series, in series order: their bytes, and their deflate chunks if asked."""

    rows: list[bytes]
    deflated: list[bytes] | None


class _Rows:
    """The cached rows of one family variant."""

    __slots__ = ("deflated", "rows", "seen")

    def __init__(self) -> None:
        self.rows: list[bytes] = []
        self.deflated: list[bytes | None] = []
        #: The aggregates generation these rows show (0: nothing rendered yet).
        self.seen = 0


def deflate_chunk(compressor: Any, data: bytes) -> bytes:
    """``data`` as raw deflate blocks that refer to nothing before them (a full flush)."""
    return cast(bytes, compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH))


def new_compressor() -> Any:
    """A raw-deflate compressor (no zlib/gzip framing) at :data:`DEFLATE_LEVEL`."""
    return zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)


class ExpositionCache:
    """Rendered series of the five API families over one :class:`ApiAggregates`.

    Thread-safe: concurrent scrapes render one at a time. Rows are read under the
    aggregates' lock (a copy of the changed rows only), rendered outside it.
    """

    def __init__(
        self, aggregates: ApiAggregates, specs: Mapping[str, FamilySpec], les: Sequence[str]
    ) -> None:
        self._agg = aggregates
        self._lock = threading.Lock()
        self._caches: dict[tuple[str, bool], _Rows] = {}
        self._escaped: dict[str, str] = {}
        self._buckets = len(les)
        hist = specs["duration"]
        self._hist = {
            (om, ints): histogram_template(hist, les, int_counts=ints, exemplars=om)
            for om in (False, True)
            for ints in (False, True)
        }
        self._counter = {kind: counter_template(specs[kind]) for kind in ("calls", "errors")}
        self._summary = {
            kind: summary_template(specs[kind]) for kind in ("request_size", "response_size")
        }
        #: Series rendered, and series served from the cache, over all scrapes.
        self.rows_rendered = 0
        self.rows_reused = 0

    def rendered(self, openmetrics: bool, deflate: bool) -> dict[str, RenderedRows]:
        """Every family's series now, re-rendering those changed since the last call."""
        agg = self._agg
        with self._lock:
            work: list[tuple[str, _Rows, int, list[int], Any]] = []
            with agg.lock:
                generation = agg.generation
                for kind in KINDS:
                    om = openmetrics and kind == "duration"
                    cache = self._caches.get((kind, om))
                    if cache is None:
                        cache = self._caches[(kind, om)] = _Rows()
                    changed = changed_rows(agg, kind, cache.seen)
                    # new series are always among the changed ones (a fold created them)
                    n = max(len(cache.rows), changed[-1] + 1 if changed else 0)
                    work.append((kind, cache, n, changed, self._read(kind, changed, om)))
                    cache.seen = generation
            out: dict[str, RenderedRows] = {}
            compressor = new_compressor() if deflate else None
            for kind, cache, n, changed, data in work:
                self._store(kind, cache, n, changed, data, openmetrics)
                deflated: list[bytes] | None = None
                if compressor is not None:
                    rows, chunks = cache.rows, cache.deflated
                    for i, chunk in enumerate(chunks):
                        if chunk is None:
                            chunks[i] = deflate_chunk(compressor, rows[i])
                    deflated = cast(list[bytes], list(chunks))
                out[kind] = RenderedRows(list(cache.rows), deflated)
            return out

    def _read(self, kind: str, rows: list[int], om: bool) -> Any:
        agg = self._agg
        if kind == "calls":
            return call_rows(agg, rows)
        if kind == "errors":
            return error_rows(agg, rows)
        if kind == "duration":
            return histogram_rows(agg, rows, exemplars=om)
        return size_rows(agg, kind, rows)

    def _store(
        self, kind: str, cache: _Rows, n: int, changed: list[int], data: Any, om: bool
    ) -> None:
        if kind == "duration":
            texts = self._histograms(data, om)
        elif kind in self._counter:
            texts = self._counters(self._counter[kind], data)
        else:
            texts = self._summaries(self._summary[kind], data)
        grow = n - len(cache.rows)
        cache.rows.extend([b""] * grow)
        cache.deflated.extend([None] * grow)
        for i, text in zip(changed, texts, strict=True):
            cache.rows[i] = text
            cache.deflated[i] = None
        self.rows_rendered += len(changed)
        self.rows_reused += n - len(changed)

    def _escape(self, labels: tuple[str, ...]) -> list[str]:
        escaped = self._escaped
        out = []
        for value in labels:
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = escape_label_value(value)
            out.append(text)
        return out

    def _counters(self, template: str, data: CounterRows) -> list[bytes]:
        fmt, esc = template.format, self._escape
        return [
            fmt(*esc(labels), count_text(count)).encode()
            for labels, count in zip(data.labels, data.counts, strict=True)
        ]

    def _summaries(self, template: str, data: SummaryRows) -> list[bytes]:
        fmt, esc = template.format, self._escape
        return [
            fmt(*esc(labels), count_text(count), float_text(total)).encode()
            for labels, count, total in zip(data.labels, data.counts, data.sums, strict=True)
        ]

    def _histograms(self, data: HistogramRows, om: bool) -> list[bytes]:
        esc, out = self._escape, []
        plain_int, plain_str = self._hist[(False, True)].format, self._hist[(False, False)].format
        om_int, om_str = self._hist[(True, True)].format, self._hist[(True, False)].format
        exemplars = data.exemplars if om else None
        for i, labels in enumerate(data.labels):
            cum = data.cumulative[i]
            total = cum[-1]
            sum_text = float_text(data.sums[i])
            marks: list[str] = []
            if exemplars is not None and any(e is not None for e in exemplars[i]):
                marks = ["" if e is None else exemplar_text(*e) for e in exemplars[i]]
            if total < INT_TEXT_LIMIT:
                fmt = om_int if marks else plain_int
                text = fmt(*esc(labels), *cum, total, sum_text, *marks)
            else:
                fmt = om_str if marks else plain_str
                counts = [count_text(c) for c in cum]
                text = fmt(*esc(labels), *counts, counts[-1], sum_text, *marks)
            out.append(text.encode())
        return out


class ApiScrape:
    """The API families of one ``collect()``: one consistent read, whichever path asks."""

    def __init__(
        self, cache: ExpositionCache, families: Mapping[str, Metric], fill: Callable[[], None]
    ) -> None:
        self._cache = cache
        self._families = families
        self._fill: Callable[[], None] | None = fill
        self._rendered: dict[tuple[bool, bool], dict[str, RenderedRows]] = {}

    def fill(self) -> None:
        """Fill the prometheus_client families' samples (once)."""
        fill, self._fill = self._fill, None
        if fill is not None:
            fill()

    def rendered(self, kind: str, openmetrics: bool, deflate: bool) -> RenderedRows:
        """The family's cached series (all five families are read at the first call)."""
        key = (openmetrics, deflate)
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = self._cache.rendered(openmetrics, deflate)
        return found[kind]


class CachedFamily(Metric):
    """A prometheus_client family whose samples are built only when read (see the module)."""

    def __init__(self, family: Metric, kind: str, scrape: ApiScrape) -> None:
        # Not Metric.__init__: it would reset the samples, and ``family`` is valid already.
        self._family = family
        self._scrape = scrape
        self.kind = kind
        self.name = family.name
        self.documentation = family.documentation
        self.unit = family.unit
        self.type = family.type

    @property
    def samples(self) -> list[Sample]:
        """The family's samples, filled on first access."""
        self._scrape.fill()
        return self._family.samples

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        self._family.samples = value

    def header_family(self) -> Metric:
        """The family without samples (its HELP/TYPE/UNIT lines)."""
        return Metric(self.name, self.documentation, self.type, self.unit)

    def rendered(self, openmetrics: bool, deflate: bool) -> RenderedRows:
        """This family's series lines from the cache."""
        return self._scrape.rendered(self.kind, openmetrics, deflate)
