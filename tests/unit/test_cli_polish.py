"""What a newcomer trips over in ``misdk``: version, ``python -m``, log levels, bad input."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medical_insurance_sdk import __version__
from medical_insurance_sdk.cli import build_parser, main

ROW = {"api_code": "1101", "org_code": "H1", "status": "success", "duration_ms": 10}


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``misdk --version`` prints the package version and exits 0."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"misdk {__version__}"


def test_python_dash_m_package_is_misdk(tmp_path: Path) -> None:
    """``python -m medical_insurance_sdk`` runs the same CLI (version, subcommands)."""
    version = _run("-m", "medical_insurance_sdk", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"misdk {__version__}")
    rules = _run("-m", "medical_insurance_sdk", "rules", "--slo", "0.999", "--out", str(tmp_path))
    assert rules.returncode == 2
    assert "--slo" in rules.stderr


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["rules"], "WARNING"),
        (["--log-level", "debug", "rules"], "DEBUG"),
        (["rules", "--log-level", "INFO"], "INFO"),
        (["--log-level", "ERROR", "rules", "--log-level", "critical"], "CRITICAL"),
    ],
    ids=["default", "before", "after", "after-wins"],
)
def test_log_level_before_or_after_the_subcommand(argv: list[str], level: str) -> None:
    """--log-level is accepted before and after the subcommand, in any case."""
    assert build_parser().parse_args(argv).log_level == level


@pytest.mark.parametrize(
    "argv",
    [["--log-level", "LOUD", "rules"], ["demo", "--log-level", "verbose"]],
    ids=["before", "after"],
)
def test_bad_log_level_exits_2_naming_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown level exits 2 and the message names the value typed."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--log-level" in err
    assert repr(argv[argv.index("--log-level") + 1]) in err


def test_demo_log_level_after_the_subcommand_takes_effect(tmp_path: Path) -> None:
    """``misdk demo --log-level INFO`` configures logging at INFO (INFO records show)."""
    proc = _run(
        "-m",
        "medical_insurance_sdk",
        "demo",
        "--duration",
        "1",
        "--metrics-port",
        "0",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--log-level",
        "INFO",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\S+ \S+ INFO \S+: ", proc.stderr, re.MULTILINE), proc.stderr[-2000:]


@pytest.mark.parametrize("slo", ["0.999", "99.9999999e3", "100", "49.9", "nan", "abc"])
def test_rules_slo_must_be_a_percent(
    slo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--slo outside 50–100 (a fraction like 0.999 included) exits 2 saying what is expected."""
    out = tmp_path / "rules"
    assert main(["rules", "--slo", slo, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "50–100" in err
    assert "99.9" in err
    assert not out.exists()


def test_rules_slo_fraction_gets_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fraction is answered with the percent it probably meant."""
    assert main(["rules", "--slo", "0.995", "--out", str(tmp_path / "rules")]) == 2
    assert "99.5" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "lines", "line"),
    [
        ("calls.jsonl", [json.dumps(ROW), "", json.dumps(ROW), '{"api_code": '], 4),
        ("calls.jsonl", ['{"api_code": ', json.dumps(ROW)], 1),
        ("calls.jsonl", [json.dumps(ROW), "[1, 2]"], 2),
        ("calls.jsonl", [json.dumps(ROW), json.dumps({**ROW, "status": "maybe"})], 2),
        ("calls.jsonl", [json.dumps(ROW), json.dumps({**ROW, "duration_ms": -1})], 2),
        ("calls.jsonl", [json.dumps(ROW), "[" * 100_000], 2),
        (
            "calls.csv",
            [
                "api_code,org_code,status,duration_ms,error_message",
                "1101,H1,success,10,",
                '1101,H1,error,10,"a message',
                'over two lines"',
                "1101,H1,success,not-a-number,",
            ],
            5,
        ),
        ("calls.csv", ["api_code,org_code,status,duration_ms", "1101,H1,success,10,extra"], 2),
        ("calls.csv", ["api_code,org_code,status", "", "1101,H1,success"], 3),
    ],
    ids=[
        "json-syntax-after-blank",
        "json-syntax-first-line",
        "json-not-object",
        "bad-status",
        "negative-duration",
        "json-too-deep",
        "csv-after-multiline-record",
        "csv-extra-field",
        "csv-missing-field",
    ],
)
def test_malformed_log_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, lines: list[str], line: int
) -> None:
    """A malformed call log exits 2 naming the file and the 1-based line of the bad row."""
    log = tmp_path / name
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["report", str(log), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{log}:{line}:" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_non_utf8_log_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log that is not UTF-8 names the line with the bad bytes."""
    log = tmp_path / "calls.jsonl"
    log.write_bytes(json.dumps(ROW).encode() + b"\n" + json.dumps(ROW).encode() + b"\n\xff\n")
    assert main(["report", str(log)]) == 2
    assert f"{log}:3:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n\n  \n"),
        ("header-only.csv", "api_code,org_code,status,duration_ms\n"),
    ],
    ids=["empty", "blank-lines", "header-only"],
)
def test_empty_log_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    """A log without any call exits 2 and says the log is empty; no report is written."""
    log = tmp_path / name
    log.write_text(text, encoding="utf-8")
    assert main(["report", str(log), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(log) in err
    assert "日志为空" in err
    assert not (tmp_path / "out").exists()


def test_library_logger_is_silent_without_logging_configured() -> None:
    """Importing the package and logging a WARNING prints nothing (no logging.lastResort)."""
    script = (
        "import logging, medical_insurance_sdk\n"
        "logging.getLogger('medical_insurance_sdk.client').warning('should not be seen')\n"
        "logging.getLogger('medical_insurance_sdk.core.metrics_collector').error('nor this')\n"
        "print('done')\n"
    )
    proc = _run("-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert proc.stderr == ""


def test_library_warnings_still_reach_a_configured_application() -> None:
    """With logging configured by the application, the SDK's warnings propagate as usual."""
    script = (
        "import logging, medical_insurance_sdk\n"
        "logging.basicConfig(format='%(name)s %(message)s')\n"
        "logging.getLogger('medical_insurance_sdk.client').warning('seen')\n"
    )
    assert _run("-c", script).stderr.strip() == "medical_insurance_sdk.client seen"


DEMO = ("-m", "medical_insurance_sdk", "demo", "--duration", "1.5", "--metrics-port", "0")


def test_demo_progress_bar_is_not_drawn_when_piped(tmp_path: Path) -> None:
    """Piped (not a terminal), the demo writes no progress bar and no carriage returns."""
    proc = _run(*DEMO, "--workers", "1", "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr
    assert "[#" not in proc.stderr
    assert "合计" in proc.stdout


def test_demo_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal (a pty for stdout and stderr) the progress bar is drawn."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, *DEMO, "--workers", "1", "--out", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the pty closes when the process exits (EIO)
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(leader)
    output = b"".join(chunks).decode("utf-8", "replace")
    assert "\r[" in output
    assert "合计" in output
