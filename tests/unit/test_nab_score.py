"""The NAB scorer (bench/nab_score.py) on hand-made cases computed from the README's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.nab_score import (
    PROFILES,
    probationary_rows,
    raw_score,
    scaled_sigmoid,
    score_corpus,
    window_rows,
)

STANDARD, LOW_FP, LOW_FN = PROFILES
ROWS = 100  # probationary period: the first 15 rows
ONE = ((40, 49),)  # one window of width 10
TWO = ((40, 49), (70, 79))


def _scores(**rows: float) -> np.ndarray:
    """100 zero scores with the given ``r<row>=score`` set."""
    s = np.zeros(ROWS)
    for name, value in rows.items():
        s[int(name[1:])] = value
    return s


def _score(scores: np.ndarray, windows: tuple[tuple[int, int], ...], profile: str) -> float:
    return score_corpus([(scores, windows)]).profiles[profile].score


def test_scaled_sigmoid_is_tanh_of_minus_five_halves_y():
    """sigma(y) = 2 / (1 + e^(5y)) - 1 = tanh(-5y/2), and exactly -1 beyond y = 3."""
    for y in (-1.0, -0.5, 0.0, 0.3, 2.9):
        assert scaled_sigmoid(y) == pytest.approx(math.tanh(-2.5 * y))
    assert scaled_sigmoid(3.5) == -1.0


def test_probationary_rows_are_fifteen_percent_at_most_750():
    """floor(0.15 rows), capped at 750."""
    assert probationary_rows(100) == 15
    assert probationary_rows(4032) == 604
    assert probationary_rows(10_000) == 750


def test_perfect_detector_scores_100_and_null_detector_0():
    """A detection at each window's left edge scores 100; a constant 0.5 scores 0."""
    perfect = _scores(r40=1.0, r70=1.0)
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert _score(perfect, TWO, profile) == pytest.approx(100.0)
        assert _score(np.full(ROWS, 0.5), TWO, profile) == pytest.approx(0.0)


def test_one_left_edge_detection_of_two_windows_scores_half():
    """Standard: raw 1 - 1 = 0 between null -2 and perfect 2 is 50; low FN: (1-2+4)/6 = 50."""
    result = score_corpus([(_scores(r40=1.0), TWO)])
    assert result.profiles["standard"].raw == pytest.approx(0.0)
    assert result.standard == pytest.approx(50.0)
    assert result.profiles["reward_low_FN_rate"].raw == pytest.approx(-1.0)
    assert result.profiles["reward_low_FN_rate"].score == pytest.approx(50.0)


def test_detection_in_the_middle_earns_sigma_of_minus_half():
    """Row 45 of 40..49: y = -(49-45+1)/10 = -0.5, gain tanh(1.25) / tanh(2.5) = 0.860."""
    gain = math.tanh(1.25) / math.tanh(2.5)
    assert raw_score(_scores(r45=1.0), ONE, 1.0, STANDARD) == pytest.approx(gain)
    assert _score(_scores(r45=1.0), ONE, "standard") == pytest.approx(100 * (gain + 1) / 2)


def test_only_the_earliest_detection_in_a_window_counts():
    """Rows 45 and 47 detected earn what row 45 alone earns; a whole window detected earns 1."""
    assert raw_score(_scores(r45=1.0, r47=1.0), ONE, 1.0, STANDARD) == pytest.approx(
        math.tanh(1.25) / math.tanh(2.5)
    )
    every = np.zeros(ROWS)
    every[40:50] = 1.0
    assert raw_score(every, ONE, 1.0, STANDARD) == pytest.approx(1.0)


def test_missed_window_costs_a_fn():
    """No detection: -A_FN per window (-1 standard, -2 low FN)."""
    assert raw_score(np.zeros(ROWS), TWO, 1.0, STANDARD) == pytest.approx(-2.0)
    assert raw_score(np.zeros(ROWS), TWO, 1.0, LOW_FN) == pytest.approx(-4.0)


def test_false_positive_before_the_first_window_costs_the_full_a_fp():
    """Row 20 and the left edge at 1: standard (1 - 0.11 + 1) / 2, low FP (1 - 0.22 + 1) / 2."""
    result = score_corpus([(_scores(r20=1.0, r40=1.0), ONE)])
    assert result.profiles["standard"].raw == pytest.approx(0.89)
    assert result.standard == pytest.approx(94.5)
    assert result.profiles["reward_low_FP_rate"].score == pytest.approx(89.0)
    assert result.profiles["standard"].false_positive_rows == 1


def test_false_positive_after_a_window_costs_by_distance():
    """After 40..49 (w 10): row 50 costs 0.11 tanh(2.5 / 9), row 58 (y = 1) 0.11 tanh(2.5)."""
    near = raw_score(_scores(r40=1.0, r50=1.0), ONE, 1.0, STANDARD)
    assert near == pytest.approx(1.0 - 0.11 * math.tanh(2.5 / 9))
    far = raw_score(_scores(r40=1.0, r58=1.0), ONE, 1.0, STANDARD)
    assert far == pytest.approx(1.0 - 0.11 * math.tanh(2.5))
    beyond = raw_score(_scores(r40=1.0, r90=1.0), ONE, 1.0, STANDARD)  # y = 41/9 > 3
    assert beyond == pytest.approx(1.0 - 0.11)


def test_consecutive_false_positives_each_cost():
    """Rows 20, 21, 22 before the window cost 3 x 0.11."""
    assert raw_score(_scores(r20=1, r21=1, r22=1, r40=1), ONE, 1.0, STANDARD) == pytest.approx(
        1.0 - 0.33
    )


def test_probationary_period_is_ignored():
    """A detection at row 5 (in the first 15 rows) neither costs nor earns."""
    assert _score(_scores(r5=1.0, r40=1.0), ONE, "standard") == pytest.approx(100.0)
    assert raw_score(_scores(r5=1.0), ONE, 0.5, STANDARD) == pytest.approx(-1.0)


def test_threshold_is_optimised_over_the_corpus():
    """A false positive scored 0.9 below the true one at 1.0: the best threshold is 1.0."""
    result = score_corpus([(_scores(r20=0.9, r40=1.0), ONE), (_scores(r70=1.0), ((70, 79),))])
    assert result.profiles["standard"].threshold == 1.0
    assert result.standard == pytest.approx(100.0)


def test_sweep_matches_raw_score_at_every_threshold():
    """The corpus sweep's best raw score is the best of raw_score over every distinct score."""
    rng = np.random.default_rng(5)
    files = [(rng.random(ROWS), TWO), (rng.random(ROWS), ((20, 30),)), (rng.random(ROWS), ())]
    thresholds = np.unique(np.concatenate([s[probationary_rows(ROWS) :] for s, _ in files]))
    for profile in PROFILES:
        brute = max(sum(raw_score(s, w, t, profile) for s, w in files) for t in thresholds)
        no_alarm = -profile.a_fn * 3
        assert score_corpus(files, [profile]).profiles[profile.name].raw == pytest.approx(
            max(brute, no_alarm)
        )


def test_window_rows_are_inclusive_row_ranges():
    """A window [start, end] holds the rows whose timestamps lie in it, both ends included."""
    ts = 1_000.0 + 300.0 * np.arange(10)
    assert window_rows(ts, [(1_600.0, 2_200.0)]) == ((2, 4),)
    with pytest.raises(ValueError, match="holds no row"):
        window_rows(ts, [(1_610.0, 1_620.0)])
