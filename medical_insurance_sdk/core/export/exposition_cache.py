"""The API families' exposition lines, kept per series and re-rendered only where they changed.

A scrape of 8 000 histogram series is 13 MB of text; most series do not change between
two scrapes 15 s apart. :class:`ExpositionCache` keeps the rendered bytes of every series
of the five API families (and, when a scraper asks for gzip, each series' bytes as an
independent raw-deflate chunk). On each scrape it asks the aggregates which rows a fold
touched since the generation it last rendered (``ApiAggregates.*_version``; the folds
mark them, off the hot path) and re-renders only those, with the line templates of
``series_text.py``. The histogram has a text and an OpenMetrics (exemplars) variant; the
other families' lines are the same in both formats.

:class:`CachedFamily` is what :class:`~medical_insurance_sdk.core.export.prometheus_export.
AggregatesCollector` yields for these families: a real prometheus_client ``Metric`` whose
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

from medical_insurance_sdk.core.export.aggregates import ApiAggregates, Exemplar
from medical_insurance_sdk.core.export.series_rows import (
    KINDS,
    CounterRows,
    ExemplarCheck,
    HistogramRows,
    SummaryRows,
    call_rows,
    changed_rows,
    error_rows,
    histogram_rows,
    size_rows,
)
from medical_insurance_sdk.core.export.series_text import (
    CounterLines,
    FamilySpec,
    HistogramLines,
    SummaryLines,
    escape_label_value,
    exemplar_text,
)

__all__ = [
    "CHUNKED_KINDS",
    "CHUNKED_SHARE",
    "DEFLATE_LEVEL",
    "STREAM_LEVEL",
    "ApiScrape",
    "CachedFamily",
    "ExpositionCache",
    "RenderedRows",
]

#: zlib level of the per-series deflate chunks. Over 8 000 histogram series (12.8 MB),
#: each chunk ending in a full flush, level 6 took no longer than level 1 (the flushes
#: dominate) for a body 10 % smaller (1.47 vs 1.62 MB).
DEFLATE_LEVEL = 6
#: zlib level of a whole-text stream (when most series changed): gzip's fastest level.
STREAM_LEVEL = 1
#: Above this share of changed series a scrape compresses one stream instead of chunks.
CHUNKED_SHARE = 0.5
#: Families kept as per-series chunks: a histogram series is 1.5-2.5 kB of text; a counter
#: or summary line of 100-200 bytes costs more to flush as a chunk (about 15 µs) than to
#: compress again with its whole family in the scrape's stream.
CHUNKED_KINDS = frozenset({"duration"})


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


def new_compressor(level: int = DEFLATE_LEVEL) -> Any:
    """A raw-deflate compressor (no zlib/gzip framing)."""
    return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)


class ExpositionCache:
    """Rendered series of the five API families over one :class:`ApiAggregates`.

    Thread-safe: concurrent scrapes render one at a time. Rows are read under the
    aggregates' lock (a copy of the changed rows only), rendered outside it.
    """

    def __init__(
        self,
        aggregates: ApiAggregates,
        specs: Mapping[str, FamilySpec],
        les: Sequence[str],
        check: ExemplarCheck | None = None,
    ) -> None:
        self._agg = aggregates
        self._check = check
        self._lock = threading.Lock()
        self._caches: dict[tuple[str, bool], _Rows] = {}
        self._escaped: dict[str, bytes] = {}
        #: Per series, its exemplars by bucket and their rendered suffixes.
        self._marks: dict[int, tuple[list[Exemplar | None], list[bytes]]] = {}
        self._hist = HistogramLines(specs["duration"], les)
        self._counter = {kind: CounterLines(specs[kind]) for kind in ("calls", "errors")}
        self._summary = {
            kind: SummaryLines(specs[kind]) for kind in ("request_size", "response_size")
        }
        #: Series rendered, and series served from the cache, over all scrapes.
        self.rows_rendered = 0
        self.rows_reused = 0

    def rendered(self, openmetrics: bool, deflate: bool) -> dict[str, RenderedRows]:
        """Every family's series now, re-rendering those changed since the last call.

        With ``deflate``, each series of the :data:`CHUNKED_KINDS` also comes as its deflate
        chunk, unless more than :data:`CHUNKED_SHARE` of all series changed; ``deflated``
        is None for the rest (the scrape compresses them in its stream).
        """
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
                    work.append((kind, cache, n, changed, self._read(kind, changed)))
            out: dict[str, RenderedRows] = {}
            # When most series changed, compressing them one by one costs about three times
            # one stream over the whole text: leave the chunks stale (the scrape compresses
            # one stream), and compress them when few series change again.
            changed_total = sum(len(item[3]) for item in work)
            chunked = deflate and changed_total <= CHUNKED_SHARE * sum(item[2] for item in work)
            compressor = new_compressor() if chunked else None
            for kind, cache, n, changed, data in work:
                self._store(kind, cache, n, changed, data, openmetrics)
                # only now: a fork or an error mid-way leaves the rows due again
                cache.seen = generation
                deflated: list[bytes] | None = None
                if compressor is not None and kind in CHUNKED_KINDS:
                    rows, chunks = cache.rows, cache.deflated
                    for i, chunk in enumerate(chunks):
                        if chunk is None:
                            chunks[i] = deflate_chunk(compressor, rows[i])
                    deflated = cast(list[bytes], list(chunks))
                out[kind] = RenderedRows(list(cache.rows), deflated)
            return out

    def nbytes(self) -> int:
        """Bytes of rendered text and deflate chunks held (the cache's memory, roughly)."""
        with self._lock:
            return sum(
                sum(map(len, cache.rows)) + sum(len(c) for c in cache.deflated if c is not None)
                for cache in self._caches.values()
            )

    def _read(self, kind: str, rows: list[int]) -> Any:
        agg = self._agg
        if kind == "calls":
            return call_rows(agg, rows)
        if kind == "errors":
            return error_rows(agg, rows)
        if kind == "duration":
            # exemplars read in both formats: the check counts invalid ones either way,
            # as prometheus_client's rendering of the same registry does
            return histogram_rows(agg, rows, exemplars=True, check=self._check)
        return size_rows(agg, kind, rows)

    def _store(
        self, kind: str, cache: _Rows, n: int, changed: list[int], data: Any, om: bool
    ) -> None:
        if kind == "duration":
            texts = self._histograms(changed, data, om)
        elif kind in self._counter:
            texts = self._counters(kind, data)
        else:
            texts = self._summaries(kind, data)
        grow = n - len(cache.rows)
        cache.rows.extend([b""] * grow)
        cache.deflated.extend([None] * grow)
        for i, text in zip(changed, texts, strict=True):
            cache.rows[i] = text
            cache.deflated[i] = None
        self.rows_rendered += len(changed)
        self.rows_reused += n - len(changed)

    def _escape(self, labels: tuple[str, ...], order: tuple[int, ...]) -> list[bytes]:
        """A row's label values escaped and encoded, in their written order."""
        escaped, out = self._escaped, []
        for i in order:
            value = labels[i]
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = escape_label_value(value).encode()
            out.append(text)
        return out

    def _counters(self, kind: str, data: CounterRows) -> list[bytes]:
        lines, esc = self._counter[kind], self._escape
        return [
            lines.render(esc(labels, lines.order), count)
            for labels, count in zip(data.labels, data.counts, strict=True)
        ]

    def _summaries(self, kind: str, data: SummaryRows) -> list[bytes]:
        lines, esc = self._summary[kind], self._escape
        return [
            lines.render(esc(labels, lines.order), count, total)
            for labels, count, total in zip(data.labels, data.counts, data.sums, strict=True)
        ]

    def _histograms(self, rows: list[int], data: HistogramRows, om: bool) -> list[bytes]:
        lines, esc, cache = self._hist, self._escape, self._marks
        exemplars = data.exemplars if om else None
        out = []
        for i, labels in enumerate(data.labels):
            marks: list[bytes] | None = None
            if exemplars is not None and any(e is not None for e in exemplars[i]):
                found, row = exemplars[i], rows[i]
                seen, texts = cache.get(row) or ([None] * len(found), [b""] * len(found))
                marks = [
                    b"" if ex is None else text if ex is old else exemplar_text(*ex)
                    for ex, old, text in zip(found, seen, texts, strict=True)
                ]
                cache[row] = (found, marks)
            text = lines.render(esc(labels, lines.order), data.cumulative[i], data.sums[i], marks)
            out.append(text)
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

    def rendered(self, openmetrics: bool, deflate: bool) -> RenderedRows:
        """This family's series lines from the cache."""
        return self._scrape.rendered(self.kind, openmetrics, deflate)
