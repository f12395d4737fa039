"""`misdk report --source`: the call-log form, the window options and their errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.source import MemorySource
from medical_insurance_sdk.core.report_source import (
    EndingAt,
    ReportArgumentError,
    ReportSource,
    parse_source,
    parse_time,
    report_window,
)

DAY = datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()


def _log(path: Path) -> Path:
    """1101 at H1 every 10 minutes for two days (144 calls a day), all successes."""
    rows = [
        {
            "api_code": "1101",
            "org_code": "H1",
            "status": "success",
            "duration_ms": 100,
            "timestamp": DAY + 300 + 600 * k,
        }
        for k in range(288)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def _report(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (out / "performance_report.json").read_text(encoding="utf-8")
    )
    return data


def test_source_file_is_the_positional_form(tmp_path):
    """--source FILE.jsonl replays the log as the positional FILE does."""
    log = _log(tmp_path / "calls.jsonl")
    assert main(["report", "--source", str(log), "--out", str(tmp_path / "a")]) == 0
    assert main(["report", str(log), "--out", str(tmp_path / "b")]) == 0
    a, b = _report(tmp_path / "a"), _report(tmp_path / "b")
    assert a["overview"] == b["overview"]
    assert a["overview"]["total_calls"] == 145  # the last 24 hours, both ends included


def test_from_and_to_restrict_the_window(tmp_path):
    """--from/--to with offsets: the first day only; --hours N ends at --to."""
    log = _log(tmp_path / "calls.jsonl")
    out = tmp_path / "out"
    first = ["--from", "2026-03-02T00:00:00+00:00", "--to", "2026-03-02T12:00:00+00:00"]
    assert main(["report", "--source", str(log), "--out", str(out), *first]) == 0
    report = _report(out)
    assert report["time_range_hours"] == 12.0
    assert report["overview"]["total_calls"] == 72
    to = ["--to", "2026-03-03T00:00:00+00:00", "--hours", "6"]
    assert main(["report", "--source", f"file:{log}", "--out", str(out), *to]) == 0
    assert _report(out)["overview"]["total_calls"] == 36


def test_times_without_offset_are_local(tmp_path):
    """A date without offset is local midnight: the window matches the local day."""
    start = datetime(2026, 3, 2).timestamp()  # local midnight
    assert parse_time("2026-03-02") == start
    assert parse_time("2026-03-02T14:30") == datetime(2026, 3, 2, 14, 30).timestamp()
    assert parse_time("1772460000") == 1772460000.0
    log = _log(tmp_path / "calls.jsonl")
    out = tmp_path / "out"
    assert main(["report", str(log), "--out", str(out), "--from", "2026-03-02"]) == 0
    expected = sum(1 for k in range(288) if DAY + 300 + 600 * k >= start)
    assert _report(out)["overview"]["total_calls"] == expected


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--source", "ftp://host/x"], "--source"),
        (["--source", "history:"], "history:PATH"),
        (["--source", "prometheus:localhost:9090"], "http(s)"),
        (["--source", "calls.txt"], "--source"),
        (["--from", "2026-03-03", "--to", "2026-03-02"], "--from"),
        (["--from", "2026-03-02", "--hours", "3"], "--hours"),
        (["--from", "yesterday"], "ISO 8601"),
        (["--hours", "0"], "--hours"),
        (["--now", "1772460000", "--to", "2026-03-02"], "--now"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, needle):
    """Each bad --source or window exits 2 with one line naming the problem."""
    log = _log(tmp_path / "calls.jsonl")
    source = [] if "--source" in args else [str(log)]
    out = tmp_path / "out"
    assert main(["report", *source, *args, "--out", str(out), "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert needle in err
    assert not out.exists()


def test_file_and_source_together_or_neither_exit_2(tmp_path, capsys):
    """A FILE and --source together, or neither, exit 2 (Chinese by default)."""
    log = _log(tmp_path / "calls.jsonl")
    assert main(["report", str(log), "--source", str(log)]) == 2
    assert capsys.readouterr().err.strip().startswith("错误：")
    assert main(["report"]) == 2
    assert "--source" in capsys.readouterr().err


def test_parse_source_kinds():
    """history:, prometheus: and log paths parse to their kinds."""
    assert parse_source("history:/var/lib/misdk/h.db") == ReportSource(
        "history", "/var/lib/misdk/h.db"
    )
    assert parse_source("prometheus:https://vm:8428") == ReportSource(
        "prometheus", "https://vm:8428"
    )
    assert parse_source("C:/logs/calls.CSV") == ReportSource("file", "C:/logs/calls.CSV")
    with pytest.raises(ReportArgumentError) as caught:
        parse_source("mysql://x")
    assert "--source" in caught.value.text("zh")


def test_window_resolution_and_a_source_ending_at_to():
    """The window ends at --to or the data's end; EndingAt moves a source's present."""
    assert report_window().resolve(1000.0) == (1000.0, 24.0)
    assert report_window(None, None, 2.0).resolve(1000.0) == (1000.0, 2.0)
    assert report_window("0", "7200").resolve(99999.0) == (7200.0, 2.0)
    with pytest.raises(ReportArgumentError, match="--from"):
        report_window("99999", None).resolve(1000.0)
    source = EndingAt(MemorySource(RollupFrame.empty(), now=5000.0, name="memory"), 3600.0)
    assert source.now() == 3600.0
    assert source.name == "memory"
    assert len(source.rollups(0.0, 3600.0)) == 0
