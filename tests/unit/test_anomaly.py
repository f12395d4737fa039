"""AnomalyDetector: scores in [0, 1], causal, deterministic, on synthetic series."""

from __future__ import annotations

import numpy as np
import pytest

from medical_insurance_sdk.core import AnomalyDetector

T0 = 1_700_000_000.0
HIGH = 0.9  # a clear alarm


def _noise(n: int = 800, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Minute samples of steady noise around 100 (sd 5)."""
    rng = np.random.default_rng(seed)
    return T0 + 60.0 * np.arange(n), rng.normal(100.0, 5.0, n)


def _daily(days: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five-minute samples of a daily sine (50 +- 20) with noise (sd 2)."""
    rng = np.random.default_rng(seed)
    ts = T0 + 300.0 * np.arange(288 * days)
    return ts, 50 + 20 * np.sin(2 * np.pi * ts / 86_400.0) + rng.normal(0, 2, ts.size)


def test_scores_lie_in_unit_interval_one_per_point():
    """One float score per point, all in [0, 1]."""
    ts, x = _noise()
    scores = AnomalyDetector().score(ts, x)
    assert scores.shape == x.shape
    assert scores.dtype == np.float64
    assert float(scores.min()) >= 0.0
    assert float(scores.max()) <= 1.0


def test_steady_noise_raises_no_alarm():
    """800 points of steady noise: no score reaches 0.9."""
    ts, x = _noise()
    assert float(AnomalyDetector().score(ts, x).max()) < HIGH


def test_a_week_of_steady_noise_raises_no_clear_alarm():
    """Seven days of five-minute steady noise (new extremes are looked for after the first
    day): no score reaches 0.9."""
    rng = np.random.default_rng(12)
    ts = T0 + 300.0 * np.arange(288 * 7)
    x = rng.normal(100.0, 5.0, ts.size)
    assert float(AnomalyDetector().score(ts, x).max()) < HIGH


def test_step_times_five_scores_high_within_a_few_points():
    """Values x5 from point 600: a score >= 0.9 among points 600-602, not again after 610."""
    ts, x = _noise()
    x[600:] *= 5
    scores = AnomalyDetector().score(ts, x)
    assert float(scores[600:603].max()) >= HIGH
    assert float(scores[:600].max()) < HIGH
    assert float(scores[610:].max()) < HIGH


def test_step_down_scores_high():
    """Values down to a fifth from point 600: a score >= 0.9 within three points."""
    ts, x = _noise()
    x[600:] *= 0.2
    assert float(AnomalyDetector().score(ts, x)[600:603].max()) >= HIGH


def test_single_spike_scores_high_and_alone():
    """One point 12 sd above: scored >= 0.9; its neighbours are not."""
    ts, x = _noise()
    x[500] += 60.0
    scores = AnomalyDetector().score(ts, x)
    assert scores[500] >= HIGH
    assert float(np.delete(scores, 500).max()) < HIGH


@pytest.mark.parametrize("spacing_s", [1.0, 10.0])
def test_step_on_a_seconds_series_is_seen_within_a_minute(spacing_s):
    """1-s and 10-s samples, latency x5 from point 600: an alarm (>= 0.5) within 60 s, none
    before the step."""
    rng = np.random.default_rng(4)
    ts = T0 + spacing_s * np.arange(900)
    x = rng.normal(620.0, 40.0, ts.size)
    x[600:] *= 5
    scores = AnomalyDetector().score(ts, x)
    within = ts <= ts[600] + 60.0
    assert float(scores[600:][within[600:]].max()) >= HIGH
    assert float(scores[:600].max()) < 0.5


def test_points_after_an_alarm_are_quiet_for_the_refractory_period():
    """Spikes at 300, 500 and 700: a refractory period of 250 points silences the second (which
    alarms without one), not the third."""
    ts, x = _noise()
    for i in (300, 500, 700):
        x[i] += 60.0
    quiet = AnomalyDetector(refractory=250).score(ts, x)
    assert quiet[300] >= HIGH
    assert float(quiet[301:551].max()) == 0.0
    assert quiet[700] >= HIGH
    assert AnomalyDetector(refractory=0).score(ts, x)[500] >= HIGH


def _spike_then_extreme(extreme_at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Five-minute noise (100, sd 5) for three days, a 12-sd spike 50 points before
    ``extreme_at`` and there a value beyond the range of everything before by half that range;
    the scores with the defaults."""
    rng = np.random.default_rng(8)
    ts = T0 + 300.0 * np.arange(864)
    x = rng.normal(100.0, 5.0, ts.size)
    x[extreme_at - 50] += 60.0
    past = x[:extreme_at]
    x[extreme_at] = past.max() + 0.5 * (past.max() - past.min())
    return ts, x, AnomalyDetector().score(ts, x)


def test_new_extreme_alarms_even_in_the_quiet_after_an_alarm():
    """A value beyond the whole past range (after a day of history) scores 1, even 50 points
    after an alarm; a lesser spike there is silenced."""
    ts, x, scores = _spike_then_extreme(700)
    assert scores[650] >= HIGH
    assert scores[700] == 1.0
    x[700] = 130.0  # 6 sd, inside the range the 12-sd spike made
    assert AnomalyDetector().score(ts, x)[700] == 0.0


def test_new_extremes_count_once_a_day_is_known():
    """The same extreme 50 points after an alarm on the first day is silenced: a range that has
    not seen a whole day (a daily peak) means little."""
    _, _, scores = _spike_then_extreme(250)
    assert scores[200] >= HIGH
    assert scores[250] == 0.0


def test_no_alarm_while_the_first_points_are_learned():
    """Steady noise: the first 70 points (too little history to be surprised) score 0."""
    ts, x = _noise()
    x[50] += 60.0
    assert float(AnomalyDetector().score(ts, x)[:70].max()) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_daily_pattern_repeats_raise_no_alarm(seed):
    """Eight days of a noisy daily pattern: no score reaches 0.9 after the first day."""
    ts, x = _daily(seed=seed)
    assert float(AnomalyDetector().score(ts, x)[288:].max()) < HIGH


def _daily_spikes() -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Eight days of five-minute noise (100, sd 5) with a 12-sd spike every day at about 03:00
    (jittered by up to 25 minutes) and one at 18:20 on day six; the daily spikes' indices."""
    rng = np.random.default_rng(6)
    midnight = 1_699_920_000.0  # 2023-11-14 00:00 UTC
    ts = midnight + 300.0 * np.arange(288 * 8)
    x = rng.normal(100.0, 5.0, ts.size)
    daily = [288 * day + 36 + int(rng.integers(-5, 6)) for day in range(8)]
    x[daily] += 60.0
    x[288 * 6 + 220] += 60.0
    return ts, x, daily


def test_a_spike_usual_at_this_time_of_day_is_not_news():
    """The daily spike raises no alarm once it was as surprising on two earlier days (the
    first is learned); the same spike at 18:20 alarms."""
    ts, x, daily = _daily_spikes()
    scores = AnomalyDetector().score(ts, x)
    assert float(scores[daily[4:]].max()) < 0.5
    assert scores[288 * 6 + 220] >= 0.5


def test_broken_daily_pattern_scores_high():
    """Half an hour in antiphase on day seven (values within the usual range): >= 0.9."""
    ts, x = _daily()
    part = slice(288 * 6 + 100, 288 * 6 + 130)
    x[part] = 50 + 20 * np.sin(2 * np.pi * ts[part] / 86_400.0 + np.pi)
    assert float(AnomalyDetector().score(ts, x)[part].max()) >= HIGH


def test_irregular_and_repeated_timestamps_are_accepted():
    """Irregular spacing with repeated timestamps: scores, and the spike is still found."""
    rng = np.random.default_rng(3)
    ts = T0 + np.cumsum(rng.choice([0.0, 30.0, 60.0, 300.0], 700))
    x = rng.normal(10.0, 1.0, ts.size)
    x[650] = 30.0
    scores = AnomalyDetector().score(ts, x)
    assert scores[650] >= HIGH


def test_score_is_causal_prefixes_score_the_same():
    """The score at i uses points <= i only: scoring any prefix gives the same scores."""
    ts, x = _daily(days=4, seed=5)
    x[900:] += 15.0
    full = AnomalyDetector().score(ts, x)
    for end in (1, 2, 40, 500, 901, 1000):
        np.testing.assert_array_equal(AnomalyDetector().score(ts[:end], x[:end]), full[:end])


def test_score_is_causal_with_quiet_periods_extremes_and_daily_spikes():
    """Prefixes ending around the alarms, the quiet period, the new extreme and the daily
    spikes score the same as the whole series."""
    ts, x, _ = _spike_then_extreme(700)
    full = AnomalyDetector().score(ts, x)
    assert full[700] == 1.0
    for end in (70, 71, 288, 289, 650, 651, 700, 701, 760):
        np.testing.assert_array_equal(AnomalyDetector().score(ts[:end], x[:end]), full[:end])
    ts, x, daily = _daily_spikes()
    full = AnomalyDetector().score(ts, x)
    for end in (daily[2] + 1, daily[5], daily[5] + 1, 288 * 6 + 221):
        np.testing.assert_array_equal(AnomalyDetector().score(ts[:end], x[:end]), full[:end])


def test_score_is_deterministic():
    """The same inputs give bit-identical scores."""
    ts, x = _daily(days=3, seed=9)
    np.testing.assert_array_equal(AnomalyDetector().score(ts, x), AnomalyDetector().score(ts, x))


def test_empty_and_short_series():
    """An empty series gives an empty array; a few points score 0 (nothing to compare yet)."""
    assert AnomalyDetector().score([], []).shape == (0,)
    np.testing.assert_array_equal(AnomalyDetector().score([1.0, 2.0, 3.0], [5, 9, 1]), [0, 0, 0])


@pytest.mark.parametrize(
    ("timestamps", "values", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], "differ in length: 3 != 2"),
        ([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0], "timestamps must be finite.*index 1"),
        ([1.0, 2.0, float("inf")], [1.0, 2.0, 3.0], "timestamps must be finite.*index 2"),
        ([1.0, 2.0, 3.0], [1.0, float("nan"), 3.0], "values must be finite.*index 1"),
        ([1.0, 3.0, 2.0], [1.0, 2.0, 3.0], "must not decrease: index 2"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "one-dimensional"),
        (["a", "b"], [1.0, 2.0], "must be numbers"),
    ],
)
def test_invalid_input_raises_value_error_naming_the_problem(timestamps, values, message):
    """Mismatched lengths, NaN or infinite entries, decreasing times, wrong shapes or types."""
    with pytest.raises(ValueError, match=message):
        AnomalyDetector().score(timestamps, values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 1}, "window"),
        ({"ewma_alphas": (0.0,)}, "ewma_alphas"),
        ({"tail_fraction": 1.5}, "tail_fraction"),
        ({"memory": -1}, "memory"),
        ({"half_surprise": 0.0}, "half_surprise"),
        ({"refractory": -1}, "refractory"),
        ({"range_margin": -0.1}, "range_margin"),
    ],
)
def test_invalid_parameters_raise_value_error(kwargs, message):
    """Each out-of-range parameter is named in the error."""
    with pytest.raises(ValueError, match=message):
        AnomalyDetector(**kwargs)
