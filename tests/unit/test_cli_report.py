"""`misdk report`: replays a CSV/JSONL call log and writes the three reports."""

from __future__ import annotations

import csv
import json

from medical_insurance_sdk.cli import main

ROWS = [
    {
        "api_code": "1101",
        "org_code": "H1",
        "status": "success",
        "duration_ms": 100,
        "timestamp": 1_700_000_000 + i,
    }
    for i in range(30)
] + [
    {
        "api_code": "2207",
        "org_code": "H2",
        "status": "error",
        "duration_ms": 900,
        "timestamp": 1_700_000_040,
        "error_code": "TIMEOUT_READ",
        "error_message": "证件号 110101199003074518",
    },
]


def test_report_from_jsonl_writes_all_formats(tmp_path, capsys):
    """A JSONL log replays into JSON, CSV and HTML reports; exit code 0."""
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS), encoding="utf-8")
    out = tmp_path / "reports"
    assert main(["report", str(log), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "已回放 31 次调用" in printed
    report = json.loads((out / "performance_report.json").read_text(encoding="utf-8"))
    assert report["overview"]["total_calls"] == 31
    assert report["overview"]["apis"]["2207"]["basic_stats"]["failed_calls"] == 1
    assert (out / "performance_report.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    html = (out / "performance_report.html").read_text(encoding="utf-8")
    assert "110101199003074518" not in html


def test_report_from_csv_with_iso_times_and_one_format(tmp_path):
    """A CSV log with ISO-8601 end times replays; --format limits the output."""
    log = tmp_path / "calls.csv"
    with log.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, ["api_code", "org_code", "status", "duration_ms", "end_time"])
        writer.writeheader()
        for i in range(5):
            writer.writerow(
                {
                    "api_code": "2201",
                    "org_code": "H1",
                    "status": "success",
                    "duration_ms": 50 + i,
                    "end_time": f"2024-03-01T08:00:0{i}+08:00",
                }
            )
    out = tmp_path / "r"
    assert main(["report", str(log), "--out", str(out), "--format", "csv", "--language", "en"]) == 0
    assert [p.name for p in out.iterdir()] == ["performance_report.csv"]
    lines = (out / "performance_report.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("api_code,name,calls")
    assert lines[1].startswith("2201,门诊挂号,5,100.00%,52.0")


def test_invalid_log_exits_2_naming_the_line(tmp_path, capsys):
    """A row without duration_ms fails with exit code 2 and its line number."""
    log = tmp_path / "bad.jsonl"
    log.write_text('{"api_code": "1101", "org_code": "H1", "status": "success"}\n', "utf-8")
    assert main(["report", str(log), "--out", str(tmp_path / "o")]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.csv")]) == 2
