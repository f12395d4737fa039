"""Input series of ``deploy/prometheus/tests/baselines_test.yml``: one sample a minute
over 7 days and 12 hours, in promtool's ``a+bxn`` expansion syntax.

Six institutions follow a day/night profile (1 call a minute 00:00-08:12, then 40, or 4
at the clinics); 1101's histogram has no org_code, as with ``histogram_by_org: false``; the
incidents start on day 7 at 10:00 (see the test file's header). The
test evaluates every 15 minutes, so the profile turns at 08:12 for the 08:15 evaluation's
window to straddle the ramp, incidents last 45 minutes and the typo falls in the window
evaluated at 10:15. The shipped test file must carry exactly :data:`INPUT`
(``test_rules.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["INPUT", "minute"]

DAY = 1440
INCIDENT_DAY = 7
END = INCIDENT_DAY * DAY + 11 * 60 + 30  # day 7, 11:30
MORNING = 8 * 60 + 12  # 08:12

Rate = Callable[[int], int]


def minute(day: int, hour: int, minutes: int = 0) -> int:
    """Minutes from the start of the test."""
    return day * DAY + hour * 60 + minutes


def _values(rate: Rate, end: int = END) -> str:
    """Counter values at minutes 0..end, ``rate(m)`` the increment in (m-1, m]; a series
    that ends early is marked stale and then has no samples."""
    segments: list[list[int]] = []
    for m in range(1, end + 1):
        inc = rate(m)
        if segments and segments[-1][0] == inc:
            segments[-1][1] += 1
        else:
            segments.append([inc, 1])
    out, total = ["0"], 0
    for inc, n in segments:
        out.append(f"{total + inc}+{inc}x{n - 1}" if n > 1 else f"{total + inc}")
        total += inc * n
    if end < END:
        out.append(f"stale _x{END - end - 2}")
    return " ".join(out)


def _profile(night: int, day: int) -> Rate:
    return lambda m: day if (m - 1) % DAY >= MORNING else night


def _incident(base: Rate, start: int, end: int, during: int) -> Rate:
    return lambda m: during if start < m <= end else base(m)


def _series(metric: str, **labels: str) -> str:
    items = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f'{metric}{{{items}, job="medical-insurance-sdk", instance="sdk-1:8000"}}'


def _build() -> list[dict[str, str]]:
    org = {i: f"H4301050000{i}" for i in range(1, 7)}
    start = minute(INCIDENT_DAY, 10)
    calls, errors = "medical_insurance_api_calls_total", "medical_insurance_api_errors_total"
    bucket = "medical_insurance_api_duration_seconds_bucket"
    out: list[dict[str, str]] = []

    def add(series: str, rate: Rate, end: int = END) -> None:
        out.append({"series": series, "values": _values(rate, end)})

    busy = _profile(1, 40)
    # H1 2207: p95 833 ms -> 4.86 s from 10:00 to 10:45
    add(_series(calls, api_code="2207", org_code=org[1], status="success"), busy)
    normal = {"0.5": 36, "1": 39, "2.5": 40, "5": 40, "+Inf": 40}
    slow = {"0.5": 0, "1": 0, "2.5": 4, "5": 40, "+Inf": 40}
    for le, per_minute in normal.items():
        add(
            _series(bucket, api_code="2207", org_code=org[1], le=le),
            _incident(_profile(1, per_minute), start, start + 45, slow[le]),
        )
    # H2 2207: calls stop at 10:00 (the counter stays)
    add(
        _series(calls, api_code="2207", org_code=org[2], status="success"),
        _incident(busy, start, END, 0),
    )
    # H3 2207: the series vanishes at 10:00 (SDK restarted while the HIS is down)
    add(_series(calls, api_code="2207", org_code=org[3], status="success"), busy, end=start)
    # H4 1101: a clinic whose calls stop at night, 03:00-05:00
    night = (minute(INCIDENT_DAY, 3), minute(INCIDENT_DAY, 5))
    add(
        _series(calls, api_code="1101", org_code=org[4], status="success"),
        _incident(_profile(1, 4), *night, 0),
    )
    # H5 2207: business refusals 1 in 40 (2.5 %), 8 in 40 (20 %) from 10:00 to 10:45
    add(
        _series(calls, api_code="2207", org_code=org[5], status="success"),
        _incident(_profile(1, 39), start, start + 45, 32),
    )
    refused = _incident(_profile(0, 1), start, start + 45, 8)
    add(_series(calls, api_code="2207", org_code=org[5], status="error"), refused)
    add(
        _series(errors, api_code="2207", org_code=org[5], error_code="BIZ_MBS_HygeiaException"),
        refused,
    )
    # H6 1101: a clinic with 4 calls a minute (20 per 5 min), one mistyped ID number at 10:11
    typo_at = start + 11
    add(
        _series(calls, api_code="1101", org_code=org[6], status="success"),
        _incident(_profile(1, 4), typo_at - 1, typo_at, 3),
    )
    typo = _incident(lambda m: 0, typo_at - 1, typo_at, 1)
    add(_series(calls, api_code="1101", org_code=org[6], status="error"), typo)
    add(_series(errors, api_code="1101", org_code=org[6], error_code="BIZ_INVALID_CERTNO"), typo)
    # 1101's histogram without org_code (histogram_by_org: false): p95 x5 10:00-10:45
    normal = {"0.5": 7, "1": 8, "2.5": 8, "5": 8, "+Inf": 8}
    slow = {"0.5": 0, "1": 0, "2.5": 1, "5": 8, "+Inf": 8}
    for le, per_minute in normal.items():
        add(
            _series(bucket, api_code="1101", le=le),
            _incident(_profile(2, per_minute), start, start + 45, slow[le]),
        )
    down = minute(INCIDENT_DAY, 11, 10)  # a second SDK target goes down at 11:10
    out.append(
        {"series": 'up{job="medical-insurance-sdk", instance="sdk-1:8000"}', "values": f"1+0x{END}"}
    )
    out.append(
        {
            "series": 'up{job="medical-insurance-sdk", instance="sdk-2:8000"}',
            "values": f"1+0x{down} 0+0x{END - down - 1}",
        }
    )
    return out


INPUT = _build()
