"""Every path a message takes is masked and bounded: exceptions, stored calls, reports.

The same generated personal data (see ``tests/pii_shapes.py``) and the same 5 MB message
go through each exception class (``str``, ``repr``, ``message``, ``err_msg``) and through
both ways of recording a failed call, then everything the collector and the analyzer
store or show is searched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from pii_shapes import Secret, embedded

import medical_insurance_sdk.exceptions as exc_module
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.exceptions import BusinessError, MedicalInsuranceError
from medical_insurance_sdk.redaction import MAX_MESSAGE_CHARS

MARKER = re.compile(r"…\(已截断，原长 (\d+) 字符\)")
#: 5 MB of platform text echoing people, with an ID number at the very start.
HUGE = (
    "证件号码[440106199001011235]校验不通过 "
    + "姓名为张三 电话 139-1234-5678 ID110105194912310021 " * 100_000
)
CLUES = ("44010619900101", "1391234", "11010519491231", "张三")

#: Keyword arguments each exception class needs besides the message.
NEEDS: dict[str, dict[str, object]] = {
    "HTTPStatusError": {"status_code": 502},
    "ResponseTooLargeError": {"limit": 1024},
    "BusinessError": {"infcode": -1, "error_class": "BIZ_MBS_HygeiaException"},
    "SessionError": {"infcode": -1, "error_class": "INFCODE_-1"},
}
CLASSES = [
    obj
    for name in exc_module.__all__
    if isinstance(obj := getattr(exc_module, name), type) and issubclass(obj, Exception)
]


def _make(cls: type[MedicalInsuranceError], message: str) -> MedicalInsuranceError:
    kwargs = NEEDS.get(cls.__name__, {})
    return cls(message, api_code="2207", msgid="H43010500001202612021305420001", **kwargs)  # type: ignore[arg-type]


def _renderings(error: MedicalInsuranceError) -> list[str]:
    texts = [str(error), repr(error), error.message, str(error.args)]
    if isinstance(error, BusinessError):
        texts.append(error.err_msg)
    return texts


def _stripped(text: str) -> str:
    return text.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=25, suppress_health_check=[HealthCheck.differing_executors])
@given(case=embedded())
def test_every_exception_masks_personal_data(
    cls: type[MedicalInsuranceError], case: tuple[str, Secret, str]
) -> None:
    """str, repr, message, args and err_msg of every exception class hide every shape."""
    text, secret, around = case
    assume(not secret.exposed_in(around))
    for rendering in _renderings(_make(cls, text)):
        assert not secret.exposed_in(rendering), rendering


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_exception_bounds_a_huge_message(cls: type[MedicalInsuranceError]) -> None:
    """A 5 MB message is masked, then cut to MAX_MESSAGE_CHARS with a visible marker."""
    error = _make(cls, HUGE)
    assert len(error.message) <= MAX_MESSAGE_CHARS
    assert error.message.startswith(
        "证件号码[440106********1235]校验不通过 姓名为张* 电话 139-****-5678"
    )
    marker = MARKER.search(error.message)
    assert marker is not None
    assert int(marker.group(1)) == len(HUGE)
    for rendering in _renderings(error):
        assert len(rendering) < MAX_MESSAGE_CHARS + 200
        for clue in CLUES:
            assert clue not in _stripped(rendering)
    assert "msgid=H43010500001202612021305420001" in str(error)


def test_field_names_stay_readable_in_validation_errors() -> None:
    """``人员编号[psn_no]不能为空`` reaches the caller as written."""
    error = exc_module.ValidationError("人员编号[psn_no]不能为空", field="psn_no")
    assert error.message == "人员编号[psn_no]不能为空"


# -- stored messages ---------------------------------------------------------------------------


def _record_started(collector: MetricsCollector, message: str) -> None:
    call = collector.record_api_call_start("2207", "H43010500001")
    collector.record_api_call_end(call, "error", "BIZ_MBS_HygeiaException", message)


def _record_explicit(collector: MetricsCollector, message: str) -> None:
    collector.record_api_call(
        "2207", "H43010500001", "error", 12.0, error_code="INFCODE_-1", error_message=message
    )


def _record_tracked(collector: MetricsCollector, message: str) -> None:
    with collector.track("2207", "H43010500001") as call:
        call.fail("INFCODE_-1", message)


RECORDERS: list[Callable[[MetricsCollector, str], None]] = [
    _record_started,
    _record_explicit,
    _record_tracked,
]


def _everything_shown(collector: MetricsCollector, reports: Path) -> dict[str, str]:
    calls = collector.get_recent_calls(10_000)
    analyzer = PerformanceAnalyzer(collector)
    paths = analyzer.write_report(reports, formats=("json", "csv", "html"))
    return {
        "stored": "\n".join(c.error_message or "" for c in calls),
        "records": "\n".join(str(c.to_dict()) for c in calls),
        "statistics": str(collector.get_api_statistics(60)),
        "performance report": str(collector.generate_performance_report(1)),
        "analysis": str(analyzer.analyze_api_performance("2207", 60)),
        "exposition": collector.get_prometheus_metrics(),
        **{f"report {p.suffix}": p.read_text(encoding="utf-8-sig") for p in paths},
    }


@pytest.mark.parametrize("record", RECORDERS, ids=lambda f: f.__name__)
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)
@given(case=embedded())
def test_stored_messages_and_reports_mask_personal_data(
    record: Callable[[MetricsCollector, str], None],
    case: tuple[str, Secret, str],
    tmp_path: Path,
) -> None:
    """A failed call's message is masked in records, statistics, reports and exposition."""
    text, secret, around = case
    assume(not secret.exposed_in(around))
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    try:
        record(collector, text)
        shown = _everything_shown(collector, tmp_path / "reports")
        assert collector.get_recent_calls(1)[0].error_message
        leaks = {where: t for where, t in shown.items() if secret.exposed_in(t)}
        assert leaks == {}
    finally:
        collector.shutdown()


@pytest.mark.parametrize("record", RECORDERS, ids=lambda f: f.__name__)
def test_a_huge_stored_message_is_bounded(
    record: Callable[[MetricsCollector, str], None], tmp_path: Path
) -> None:
    """A 5 MB error message is stored masked, cut to MAX_MESSAGE_CHARS with the marker."""
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    try:
        record(collector, HUGE)
        stored = collector.get_recent_calls(1)[0].error_message
        assert stored is not None
        assert len(stored) <= MAX_MESSAGE_CHARS
        assert stored.startswith("证件号码[440106********1235]校验不通过 姓名为张*")
        marker = MARKER.search(stored)
        assert marker is not None
        assert int(marker.group(1)) == len(HUGE)
        for where, text in _everything_shown(collector, tmp_path / "reports").items():
            for clue in CLUES:
                assert clue not in _stripped(text), where
            assert len(text) < 1_000_000, where
    finally:
        collector.shutdown()
