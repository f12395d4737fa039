"""A Numenta Anomaly Benchmark (NAB) scorer, written from the rules in ``shared/nab/README.md``.

Not NAB's code: the rules as that README states them.

* The first ``min(floor(0.15 * rows), 750)`` rows of a file (its probationary period) are not
  scored.
* A row is a detection when its score >= the threshold. In a window ``L..R`` (width
  ``w = R - L + 1``) only the earliest detection counts; it earns
  ``A_TP * sigma(y) / sigma(-1)`` with ``y = -(R - i + 1) / w`` and the scaled sigmoid
  ``sigma(y) = 2 / (1 + exp(5 y)) - 1``. A window without a detection costs ``A_FN``.
* A detection outside every window costs ``A_FP * |sigma(y)|`` with ``y = (i - R') / (w' - 1)``
  after a window ``R'`` (width ``w'``) ended earlier in the file (the full ``A_FP`` when
  ``y > 3`` and before the first window); every such row costs separately.
* One threshold per profile for the whole corpus: every distinct score after the probationary
  periods, and one above 1 (no alarm), keeping the best raw score.
* Normalised: ``100 * (S - S_null) / (S_perfect - S_null)`` with ``S_perfect = A_TP * windows``
  and ``S_null = -A_FN * windows``.

Reading the corpus (CSV files and ``combined_windows.json``) is :func:`load_corpus`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "PROFILES",
    "CorpusResult",
    "NabFile",
    "Profile",
    "ProfileResult",
    "load_corpus",
    "probationary_rows",
    "raw_score",
    "scaled_sigmoid",
    "score_corpus",
    "score_detector",
    "window_rows",
]


@dataclass(frozen=True)
class Profile:
    """One set of NAB weights (``config/profiles.json``)."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: tuple[Profile, ...] = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True)
class NabFile:
    """One corpus file: its name, timestamps (epoch s), values and windows as row ranges."""

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ProfileResult:
    """The score of one profile at its best threshold, with what makes it up."""

    profile: str
    score: float
    raw: float
    threshold: float
    null_raw: float
    perfect_raw: float
    true_positives: int
    false_negatives: int
    false_positive_rows: int


@dataclass(frozen=True)
class CorpusResult:
    """One :class:`ProfileResult` per profile, by profile name."""

    profiles: dict[str, ProfileResult]

    @property
    def standard(self) -> float:
        """The normalised score of the standard profile."""
        return self.profiles["standard"].score


def scaled_sigmoid(y: float) -> float:
    """NAB's scaled sigmoid ``2 / (1 + e^(5y)) - 1`` (exactly -1 beyond ``y > 3``)."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probationary_rows(rows: int) -> int:
    """How many leading rows of a file of ``rows`` rows are not scored."""
    return min(math.floor(0.15 * rows), 750)


def window_rows(
    timestamps: np.ndarray, windows: Sequence[tuple[float, float]]
) -> tuple[tuple[int, int], ...]:
    """Windows given as ``(start, end)`` epoch seconds, as inclusive row ranges ``(L, R)``."""
    ts = np.asarray(timestamps, dtype=np.float64)
    rows: list[tuple[int, int]] = []
    for start, end in windows:
        inside = np.flatnonzero((ts >= start) & (ts <= end))
        if inside.size == 0:
            raise ValueError(f"window {start}..{end} holds no row")
        rows.append((int(inside[0]), int(inside[-1])))
    return tuple(rows)


def _row_weights(
    rows: int, windows: Sequence[tuple[int, int]], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the window index (-1 outside) and the detection's value (TP gain or FP cost)."""
    window_of = np.full(rows, -1, dtype=np.int64)
    value = np.full(rows, -profile.a_fp, dtype=np.float64)
    norm = scaled_sigmoid(-1.0)
    ordered = sorted(windows)
    for k, (left, right) in enumerate(ordered):
        width = right - left + 1
        for i in range(left, right + 1):
            window_of[i] = k
            value[i] = profile.a_tp * scaled_sigmoid(-(right - i + 1) / width) / norm
        end = ordered[k + 1][0] if k + 1 < len(ordered) else rows
        for i in range(right + 1, end):
            y = (i - right) / (width - 1) if width > 1 else math.inf
            value[i] = -profile.a_fp * abs(scaled_sigmoid(y))
    return window_of, value


def raw_score(
    scores: np.ndarray, windows: Sequence[tuple[int, int]], threshold: float, profile: Profile
) -> float:
    """The raw score of one file at one threshold (probationary rows ignored)."""
    scores = np.asarray(scores, dtype=np.float64)
    window_of, value = _row_weights(scores.size, windows, profile)
    start = probationary_rows(scores.size)
    total = 0.0
    caught: set[int] = set()
    for i in range(start, scores.size):
        if scores[i] < threshold:
            continue
        k = int(window_of[i])
        if k < 0:
            total += float(value[i])
        elif k not in caught:
            caught.add(k)
            total += float(value[i])
    return total - profile.a_fn * (len(windows) - len(caught))


def _sweep(
    files: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]], profile: Profile
) -> tuple[float, float, int, int, int]:
    """Best (raw, threshold, true positives, missed windows, FP rows) over all thresholds."""
    all_scores: list[np.ndarray] = []
    all_window: list[np.ndarray] = []
    all_value: list[np.ndarray] = []
    all_row: list[np.ndarray] = []
    n_windows = 0
    for file_scores, windows in files:
        scores = np.asarray(file_scores, dtype=np.float64)
        window_of, value = _row_weights(scores.size, windows, profile)
        start = probationary_rows(scores.size)
        all_scores.append(scores[start:])
        all_window.append(np.where(window_of[start:] >= 0, window_of[start:] + n_windows, -1))
        all_value.append(value[start:])
        all_row.append(np.arange(start, scores.size))
        n_windows += len(windows)
    score = np.concatenate(all_scores) if all_scores else np.empty(0)
    window = np.concatenate(all_window) if all_window else np.empty(0, np.int64)
    value = np.concatenate(all_value) if all_value else np.empty(0)
    row = np.concatenate(all_row) if all_row else np.empty(0, np.int64)
    order = np.lexsort((row, -score))  # descending score
    best = (-profile.a_fn * n_windows, math.inf, 0, n_windows, 0)
    earliest: dict[int, int] = {}  # window -> earliest detected row
    gain: dict[int, float] = {}
    total_fp = 0.0
    total_tp = 0.0
    fp_rows = 0
    j = 0
    while j < order.size:
        theta = score[order[j]]
        while j < order.size and score[order[j]] == theta:
            i = order[j]
            k = int(window[i])
            if k < 0:
                total_fp += float(value[i])
                fp_rows += 1
            elif k not in earliest or row[i] < earliest[k]:
                total_tp += float(value[i]) - gain.get(k, 0.0)
                earliest[k] = int(row[i])
                gain[k] = float(value[i])
            j += 1
        raw = total_tp + total_fp - profile.a_fn * (n_windows - len(earliest))
        if raw > best[0]:
            best = (raw, float(theta), len(earliest), n_windows - len(earliest), fp_rows)
    return best


def score_corpus(
    files: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]],
    profiles: Sequence[Profile] = PROFILES,
) -> CorpusResult:
    """Normalised NAB score per profile of ``(scores, windows)`` per file, at the best threshold."""
    n_windows = sum(len(windows) for _, windows in files)
    results: dict[str, ProfileResult] = {}
    for profile in profiles:
        raw, theta, tp, fn, fp_rows = _sweep(files, profile)
        perfect = profile.a_tp * n_windows
        null = -profile.a_fn * n_windows
        span = perfect - null
        results[profile.name] = ProfileResult(
            profile=profile.name,
            score=100.0 * (raw - null) / span if span else 0.0,
            raw=raw,
            threshold=theta,
            null_raw=null,
            perfect_raw=perfect,
            true_positives=tp,
            false_negatives=fn,
            false_positive_rows=fp_rows,
        )
    return CorpusResult(results)


def _epoch(text: str) -> float:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` read as UTC, in epoch seconds."""
    return float(np.datetime64(text.strip().replace(" ", "T"), "us").astype(np.int64)) / 1e6


def load_corpus(root: Path) -> list[NabFile]:
    """Every file listed in ``root/labels/combined_windows.json`` with its windows as rows."""
    labels = json.loads((root / "labels" / "combined_windows.json").read_text(encoding="utf-8"))
    files: list[NabFile] = []
    for name in sorted(labels):
        with (root / "data" / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows = [(r[0], r[1]) for r in reader if r]
        ts = np.array([_epoch(t) for t, _ in rows], dtype=np.float64)
        values = np.array([float(v) for _, v in rows], dtype=np.float64)
        windows = window_rows(ts, [(_epoch(a), _epoch(b)) for a, b in labels[name]])
        files.append(NabFile(name, ts, values, windows))
    return files


def score_detector(
    files: Sequence[NabFile], detect: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> CorpusResult:
    """Run ``detect(timestamps, values)`` on every file and score the corpus."""
    return score_corpus([(detect(f.timestamps, f.values), f.windows) for f in files])
