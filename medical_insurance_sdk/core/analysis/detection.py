"""Multi-window alerts and alerts against baselines (the short window's part).

docs/alerting.md states the rules and their defaults. :func:`combine` gives the short
window (``policy.short_window_minutes``) its say over the long window's conditions
(:func:`.conditions.judge`): with ``min_short_calls`` calls there, *clear* resolves at
once and blocks a fire, *holding* lets the long condition fire (a ratio also on the short
window's evidence alone while its long figure is above the limit), in between nothing
changes; with fewer, the long window decides, but clean calls in the short window or in
the last 5 minutes block a fire (no late fire from a long window still full of an
incident that has ended). :func:`baseline_observations` adds ``latency_baseline`` (p95
and median far above their usual), ``refusal_rate`` (business refusals above their
usual, with evidence) and ``traffic_drop`` (a Poisson test on the calls of the short
window or its latest half, observed for every series with a baseline, so that an org
that stopped calling altogether is seen).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from medical_insurance_sdk.core.analysis.alerts import Observation
from medical_insurance_sdk.core.analysis.baselines import Baseline, SeriesKey
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.evidence import (
    failures_needed,
    has_evidence,
    poisson_lower_tail,
)
from medical_insurance_sdk.core.analysis.short_window import (
    RecentCounts,
    ShortWindow,
)
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message, baseline_message

__all__ = ["baseline_observations", "combine"]

#: A traffic-drop alert clears when the calls are back to this share of the usual.
DROP_CLEAR = 0.8
#: A latency alert also needs the median this many times its usual: a few slow calls
#: (a tail) move the p95 of a thin window, a slowdown moves the median too.
MEDIAN_FACTOR = 2.0
#: Series expecting fewer calls than this in the short window are not tested for drops.
MIN_EXPECTED = 5.0


def _short_figure(obs: Observation, s: ShortWindow, i: int) -> tuple[float, float]:
    """The short window's figure of ``obs``'s type (larger is worse), and its failures."""
    n = max(s.calls[i], 1.0)
    if obs.alert_type == "response_time":
        return float(s.p95[i]), 0.0
    if obs.alert_type == "error_rate":
        return float(s.system[i] / n), float(s.system[i])
    return float(s.failed[i] / n), float(s.failed[i])  # success_rate: the failed share


def combine(
    observations: Iterable[Observation],
    s: ShortWindow,
    policy: AlertPolicy,
    active: frozenset[tuple[str, str, str]] | None = None,
    recent: RecentCounts | None = None,
) -> list[Observation]:
    """The long window's observations with the short window's say (see the module).

    ``recent``: the counts of the last :data:`RECENT_MINUTES` minutes: when the short
    window is thin, clean calls there (failure share or p95 inside the margin) block a
    fire.

    ``active``: the (API, org, type) of the active alerts, when known: an observation of
    another identity that does not hold can only fire from the short window's evidence,
    and is passed on untouched otherwise (no resolve to decide).
    """
    out: list[Observation] = []
    h = policy.hysteresis
    for obs in observations:
        if (
            active is not None
            and obs.severity is None
            and (
                obs.alert_type in _NOT_FROM_SHORT
                or obs.calls < policy.min_calls
                or (obs.value >= obs.threshold if obs.alert_type == "success_rate"
                    else obs.value <= obs.threshold)
            )
            and (obs.api_code, obs.org_code, obs.alert_type) not in active
        ):  # fmt: skip
            out.append(obs)
            continue
        if obs.alert_type == "concurrency":
            out.append(obs)
            continue
        i = s.index.get((obs.api_code, obs.org_code))
        ratio = obs.alert_type != "response_time"
        success = obs.alert_type == "success_rate"
        limit = 1.0 - obs.threshold if success else obs.threshold
        if i is None or s.calls[i] < policy.min_short_calls:
            # too few calls to resolve anything, but clean recent ones block a fire: a
            # long window still full of an incident that has ended does not fire late
            key = (obs.api_code, obs.org_code)
            if ratio:
                counts = None if recent is None else recent.shares(key)
                share = None if counts is None else counts[2 if success else 1]
                clean = share is not None and share <= limit * (1.0 - h)
            else:
                clean = recent is not None and recent.p95_clean(key)
            # clean calls in the short window block too (an incident just over)
            clean = clean or (i is not None and _short_figure(obs, s, i)[0] <= limit * (1.0 - h))
            out.append(obs._replace(severity=None, message="") if clean else obs)
            continue
        figure, failures = _short_figure(obs, s, i)
        if figure <= limit * (1.0 - h):
            out.append(obs._replace(severity=None, cleared=True, message=""))
            continue
        short_holds = figure > limit and (
            not ratio
            or failures
            >= failures_needed(int(s.calls[i]), limit, policy.confidence, policy.min_failures)
        )
        long_figure = 1.0 - obs.value if success else obs.value
        if not short_holds:  # neither fires nor resolves
            out.append(obs._replace(severity=None, cleared=False, message=""))
        elif (
            obs.severity is None and ratio and obs.calls >= policy.min_calls and long_figure > limit
        ):
            # the long figure is above the limit, the short window's failures are evidence
            severity = "critical" if long_figure > 2.0 * limit else "warning"
            text = alert_message(
                obs.lang,
                obs.alert_type,
                obs.api_code,
                obs.org_code,
                obs.value,
                obs.threshold,
                obs.calls,
            )
            out.append(obs._replace(severity=severity, cleared=False, message=text))
        else:
            out.append(obs)
    return out


#: Types the short window alone never fires (their long condition must hold).
_NOT_FROM_SHORT = frozenset({"response_time", "concurrency"})


def _observation(
    kind: str, key: tuple[str, str], calls: int, value: float, usual: float, level: int,
    cleared: bool, lang: Lang,
) -> Observation:  # fmt: skip
    return Observation(
        api_code=key[0],
        org_code=key[1],
        alert_type=kind,
        calls=calls,
        value=value,
        threshold=usual,
        severity=(None, "warning", "critical")[level],
        cleared=cleared,
        message=baseline_message(lang, kind, key[0], key[1], value, usual, calls) if level else "",
        lang=lang,
    )


def baseline_observations(
    s: ShortWindow,
    baselines: dict[SeriesKey, Baseline],
    present: Iterable[tuple[str, str]],
    policy: AlertPolicy,
    lang: Lang,
    api_codes: frozenset[str] | None = None,
    half: ShortWindow | None = None,
    active: frozenset[tuple[str, str, str]] | None = None,
) -> list[Observation]:
    """``latency_baseline``, ``refusal_rate`` and ``traffic_drop`` observations.

    ``present``: the series with calls in the long window (they get an observation of
    each type, so that a quiet short window keeps, not resolves, their alerts);
    ``api_codes``: only those APIs (None: all); ``half``: the latest part of the short
    window, where a drop is also looked for (an org that stopped is seen sooner);
    ``active``: the (API, org, type) of the active alerts, when known: a condition that
    does not hold is observed only for those (nothing to fire, only a resolve to decide).
    """
    out: list[Observation] = []
    h = policy.hysteresis
    keys = [k for k in s.index if api_codes is None or k[0] in api_codes]
    rows = np.array([s.index[k] for k in keys], dtype=np.int64)
    base = [baselines.get(k) for k in keys]
    usual_p95 = np.array([b.p95_ms if b is not None else np.nan for b in base])
    limits_s = np.full(s.calls.size, np.inf)
    limits_s[rows] = np.nan_to_num(usual_p95 * policy.latency_factor / 1000.0, nan=np.inf)
    slow_all = s.slow(limits_s)
    refusal_ok = has_evidence(
        s.refused[rows],
        s.calls[rows],
        [_refusal_limit(b, policy) for b in base],
        policy.confidence,
        policy.min_failures,
    )
    seen: set[tuple[str, str]] = set()
    for j, key in enumerate(keys):
        b, i = base[j], int(rows[j])
        if b is None:
            continue
        seen.add(key)
        n = int(s.calls[i])
        enough = n >= policy.min_short_calls
        p95, usual = float(s.p95[i]), b.p95_ms
        if usual > 0:
            spread = 0.0 if np.isnan(b.p95_spread_ms) else b.p95_spread_ms
            factor = p95 / usual
            holds = (
                enough
                and factor >= policy.latency_factor
                and p95 >= usual + policy.latency_z * spread
                and slow_all[i] >= policy.min_failures
                and not float(s.p50[i]) < MEDIAN_FACTOR * b.p50_ms  # the bulk, not a tail
            )
            level = (2 if factor >= 2.0 * policy.latency_factor else 1) if holds else 0
            clear = enough and factor < policy.latency_factor * (1.0 - h)
            if level or active is None or (*key, "latency_baseline") in active:
                out.append(_observation("latency_baseline", key, n, p95, usual, level, clear, lang))
        limit = _refusal_limit(b, policy)
        ratio = float(s.refused[i]) / max(n, 1)
        level = (2 if ratio > 2.0 * limit else 1) if bool(refusal_ok[j]) and ratio > limit else 0
        clear = enough and ratio <= limit * (1.0 - h)
        if level or active is None or (*key, "refusal_rate") in active:
            out.append(
                _observation("refusal_rate", key, n, ratio, b.refusal_ratio, level, clear, lang)
            )
    for key in present:
        if key not in seen and (key[0], key[1]) in baselines:
            for kind, usual in (
                ("latency_baseline", baselines[key].p95_ms),
                ("refusal_rate", baselines[key].refusal_ratio),
            ):
                if active is None or (*key, kind) in active:
                    out.append(_observation(kind, key, 0, 0.0, usual, 0, False, lang))
    out.extend(_drops(s, half, baselines, policy, lang, api_codes, active))
    return out


def _refusal_limit(b: Baseline | None, policy: AlertPolicy) -> float:
    if b is None:
        return 1.0
    usual = b.refusal_ratio
    return min(max(policy.refusal_factor * usual, usual + policy.refusal_margin), 1.0)


def _dropped(seen: int, expected: float, ratio: float, alpha: float) -> bool:
    return seen <= ratio * expected and poisson_lower_tail(seen, expected) <= alpha


def _drops(
    s: ShortWindow,
    half: ShortWindow | None,
    baselines: dict[SeriesKey, Baseline],
    policy: AlertPolicy,
    lang: Lang,
    api_codes: frozenset[str] | None,
    active: frozenset[tuple[str, str, str]] | None,
) -> list[Observation]:
    out: list[Observation] = []
    alpha = 1.0 - policy.drop_confidence
    for (api, org), b in baselines.items():
        if org is None or (api_codes is not None and api not in api_codes):
            continue
        expected = b.calls_per_minute * s.minutes
        if expected < MIN_EXPECTED:
            continue
        i = s.index.get((api, org))
        seen = 0 if i is None else int(s.calls[i])
        rate = seen / s.minutes
        holds = _dropped(seen, expected, policy.drop_ratio, alpha)
        if not holds and half is not None:  # the latest part of the window alone
            j = half.index.get((api, org))
            holds = _dropped(
                0 if j is None else int(half.calls[j]),
                b.calls_per_minute * half.minutes,
                policy.drop_ratio,
                alpha,
            )
        level = (2 if seen == 0 else 1) if holds else 0
        if not level and active is not None and (api, org, "traffic_drop") not in active:
            continue  # nothing to fire, nothing to resolve
        clear = seen >= DROP_CLEAR * expected
        out.append(
            _observation(
                "traffic_drop", (api, org), seen, rate, b.calls_per_minute, level, clear, lang
            )
        )
    return out
