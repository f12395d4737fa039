"""core.replay: a saved call log read and replayed into a collector, without the CLI."""

from __future__ import annotations

import json

import pytest

from medical_insurance_sdk.core.replay import (
    CallLogError,
    read_call_log,
    read_numbered_call_log,
    replay,
)

ROWS = [
    {
        "api_code": "1101",
        "org_code": "H1",
        "status": "success",
        "duration_ms": 100 + i,
        "timestamp": 1_700_000_000 + i,
    }
    for i in range(5)
] + [
    {
        "api_code": "2207",
        "org_code": "H2",
        "status": "error",
        "duration_ms": 900,
        "timestamp": 1_700_000_010,
        "error_code": "TIMEOUT_READ",
    },
]


def test_replay_puts_every_call_in_a_collector_whose_clock_ends_at_the_last_call(tmp_path):
    """read_call_log + replay give a collector holding each call, its clock at the last one."""
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    calls = read_call_log(log)
    assert [c["api_code"] for c in calls] == ["1101"] * 5 + ["2207"]
    with replay(calls) as collector:
        assert collector.now() == 1_700_000_010
        stats = collector.get_api_statistics(60)
        assert stats["total_calls"] == 6


def test_an_invalid_row_is_named_by_file_and_line(tmp_path):
    """A row without api_code raises CallLogError naming path:line."""
    log = tmp_path / "calls.jsonl"
    rows = [json.dumps(ROWS[0]), json.dumps({"org_code": "H1", "status": "success"})]
    log.write_text("\n".join(rows), encoding="utf-8")
    with pytest.raises(CallLogError, match=rf"{log.name}:2"):
        read_numbered_call_log(log)
