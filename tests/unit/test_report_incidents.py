"""A day's replayed log: the report lists the afternoon incident with start and end."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from medical_insurance_sdk.cli import main

DAY = datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()


def _at(hour: int, minute: int = 0) -> float:
    return DAY + hour * 3600 + minute * 60


def _day_log(path: Path) -> Path:
    """2207 at H1 every 30 s for a day; 14:00-15:30 every 5th call fails, slow, timed out."""
    rows = []
    for k in range(24 * 120):
        when = DAY + 15 + 30 * k
        bad = _at(14) <= when < _at(15, 30) and k % 5 == 0
        rows.append(
            {
                "api_code": "2207",
                "org_code": "H1",
                "status": "error" if bad else "success",
                "duration_ms": 7000 if bad else 200,
                "timestamp": when,
                **({"error_code": "TIMEOUT_READ", "error_message": "姓名 张三"} if bad else {}),
            }
        )
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_day_report_lists_the_afternoon_incident_and_no_active_alert(tmp_path):
    """24-hour report of a replayed log: the 14:00-15:30 incident has a start and an end."""
    log = _day_log(tmp_path / "day.jsonl")
    out = tmp_path / "out"
    assert main(["report", str(log), "--out", str(out)]) == 0
    report = json.loads((out / "performance_report.json").read_text(encoding="utf-8"))
    assert report["overview"]["active_alerts"] == []
    assert report["overview"]["alert_summary"]["active"] == 0
    kinds = {i["alert_type"]: i for i in report["incidents"]}
    assert sorted(kinds) == ["error_rate", "response_time", "success_rate"]
    for incident in kinds.values():
        start = datetime.fromisoformat(incident["start"]).timestamp()
        end = datetime.fromisoformat(incident["end"]).timestamp()
        assert _at(14) < start <= _at(14, 10)  # p95 needs a few slow calls in the window
        assert _at(15, 30) < end <= _at(15, 46)  # the last failure leaves the 15-min window
        assert incident["api_code"] == "2207"
        assert incident["org_code"] == "H1"
    error = kinds["error_rate"]
    # the third failure (14:05:15) is the first evidence at 99 %: one or two of 30 calls
    # could be a settlement's 0.5 % budget
    assert (error["start"], error["end"]) == (
        "2026-03-02T14:06:00+00:00",
        "2026-03-02T15:43:00+00:00",
    )
    assert error["system_errors"] == 36  # 180 calls, every 5th failed
    assert error["severity"] == "critical"
    csv_text = (out / "performance_report.csv").read_text(encoding="utf-8-sig")
    assert "2026-03-02T14:0" in csv_text
    html = (out / "performance_report.html").read_text(encoding="utf-8")
    assert "2026-03-02T15:4" in html
    for path in out.iterdir():
        assert "张三" not in path.read_text(encoding="utf-8-sig")


def test_english_report_names_the_incident_columns(tmp_path, capsys):
    """--lang en: English incident headers in the CSV and English lines on stdout."""
    log = _day_log(tmp_path / "day.jsonl")
    out = tmp_path / "out"
    assert main(["report", "--source", str(log), "--out", str(out), "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("replayed 2880 calls")
    rows = (out / "performance_report.csv").read_text(encoding="utf-8-sig").splitlines()
    header = rows[rows.index("") + 1]
    assert header.startswith("start_utc,end_utc,type,api_code,org_code,peak_severity")
    assert "Incidents" in (out / "performance_report.html").read_text(encoding="utf-8")
