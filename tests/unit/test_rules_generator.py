"""The rules generator: the same thresholds and error classes as the analyzer, valid
options, overrides from YAML/TOML, deterministic output and the ``misdk rules`` CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from medical_insurance_sdk import exceptions
from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core.analysis.descriptive import SYSTEM_ERROR_CLASSES, error_class
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, default_threshold
from medical_insurance_sdk.protocol.catalog import iter_interfaces
from medical_insurance_sdk.rules import (
    AlertingRule,
    RulesOptions,
    ThresholdsFileError,
    alert_groups,
    build_dashboard,
    load_thresholds,
    parse_thresholds,
    recording_groups,
    render_dashboard,
    render_rule_files,
)
from medical_insurance_sdk.rules.grafana import Panel, Target
from medical_insurance_sdk.rules.options import OTHER_API_CODE, partition_codes
from medical_insurance_sdk.rules.promql import NON_SYSTEM_ERROR_PREFIXES

CJK = re.compile(r"[\u4e00-\u9fff]")


def _alerts(options: RulesOptions) -> list[AlertingRule]:
    return [r for g in alert_groups(options) for r in g.rules if isinstance(r, AlertingRule)]


def _sdk_error_codes() -> set[str]:
    codes = set()
    for obj in vars(exceptions).values():
        if isinstance(obj, type) and issubclass(obj, exceptions.MedicalInsuranceError):
            code = getattr(obj, "code", None)
            if isinstance(code, str):
                codes.add(code)
    return codes


def test_system_error_matcher_agrees_with_the_analyzer():
    """An error code is excluded from the error ratio exactly when the analyzer calls it
    a business or validation error (case-insensitively, as the analyzer compares)."""
    samples = _sdk_error_codes() | {
        "BIZ_MBS_HygeiaException",
        "biz_lower",
        "INFCODE_-1",
        "BUSINESS",
        "VALIDATION",
        "unknown",
        "invalid_status",
        "TIMEOUT_READ",
        "GATEWAY_AUTH_CLOCK_SKEW",
        "SESSION",
    }
    assert len(samples) > 12
    pattern = re.compile(f"(?i)({'|'.join(map(re.escape, NON_SYSTEM_ERROR_PREFIXES))}).*")
    for code in sorted(samples):
        excluded = pattern.fullmatch(code) is not None
        assert excluded == (error_class(code) not in SYSTEM_ERROR_CLASSES), code


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("error_rate", lambda t: t.max_error_rate),
        ("latency", lambda t: t.max_response_time_ms / 1000.0),
    ],
    ids=["error_rate", "latency"],
)
def test_every_catalog_code_is_judged_by_its_own_threshold(name, key):
    """Each catalog code falls in exactly one group, whose limit is the analyzer's."""
    options = RulesOptions()
    groups = partition_codes(options, key)
    assert sum(g.catch_all for g in groups) == 1
    for entry in iter_interfaces():
        listed = [g for g in groups if not g.catch_all and entry.code in g.codes]
        catch_all = next(g for g in groups if g.catch_all)
        chosen = listed[0] if listed else catch_all
        assert len(listed) <= 1
        if not listed:
            assert entry.code not in catch_all.excluded
        assert chosen.limit == key(default_threshold(entry.code)), (name, entry.code)


def test_codes_outside_the_catalog_get_the_transaction_default():
    """The catch-all group (unknown codes, ``__other__``) uses the transaction limits."""
    options = RulesOptions()
    catch_all = next(g for g in partition_codes(options, lambda t: t.max_error_rate) if g.catch_all)
    assert catch_all.limit == default_threshold("9999").max_error_rate == 0.01
    assert catch_all.matcher().startswith('api_code!~"')
    assert "2207" in catch_all.excluded


def test_an_override_moves_an_api_to_its_new_limit():
    """Overriding 2207's error rate to the transaction value makes the catch-all cover it."""
    t = dataclasses.replace(default_threshold("2207"), max_error_rate=0.01)
    options = RulesOptions(thresholds={"2207": t})
    groups = partition_codes(options, lambda x: x.max_error_rate)
    catch_all = next(g for g in groups if g.catch_all)
    assert "2207" not in catch_all.excluded
    settlement = next(g for g in groups if g.limit == 0.005)
    assert "2207" not in settlement.codes
    assert "2208" in settlement.codes


def test_a_custom_code_in_the_thresholds_gets_its_own_group():
    """A code outside the catalog with its own limit is listed explicitly."""
    t = PerformanceThreshold("9901", 1000.0, 0.03, 0.97)
    options = RulesOptions(thresholds={"9901": t})
    groups = partition_codes(options, lambda x: x.max_error_rate)
    assert [g.codes for g in groups if g.limit == 0.03] == [("9901",)]
    assert "9901" in next(g for g in groups if g.catch_all).excluded


def test_default_rules_contain_the_required_alerts_with_chinese_annotations():
    """Every alert has a severity and Chinese summary/description; the original rule is intact."""
    alerts = _alerts(RulesOptions())
    names = {a.alert for a in alerts}
    assert names == {
        "HighErrorRate",
        "MedicalInsuranceApiErrorRatioHigh",
        "MedicalInsuranceApiLatencyHigh",
        "MedicalInsuranceSettlementOutcomeUnknown",
        "MedicalInsuranceGatewayClockSkew",
        "MedicalInsuranceGatewayAuthFailed",
        "MedicalInsuranceApiErrorBudgetBurn",
        "MedicalInsuranceExporterDown",
        "MedicalInsurancePushStale",
        "MedicalInsuranceBatchJobNotSucceeded",
        "MedicalInsuranceBatchJobFailed",
        "MedicalInsuranceMonitoringErrors",
        "MedicalInsuranceMetricsOverflow",
    }
    for a in alerts:
        assert a.severity in ("warning", "critical", "page", "ticket")
        assert CJK.search(a.summary), a.alert
        assert CJK.search(a.description), a.alert
    seed = next(a for a in alerts if a.alert == "HighErrorRate")
    assert seed.expr == "rate(medical_insurance_api_errors_total[5m]) > 0.05"
    assert (seed.for_, seed.severity, seed.summary) == ("2m", "warning", "API错误率过高")
    assert "每秒" in seed.description
    skew = next(a for a in alerts if a.alert == "MedicalInsuranceGatewayClockSkew")
    assert "NTP" in skew.description
    unknown = next(a for a in alerts if a.alert == "MedicalInsuranceSettlementOutcomeUnknown")
    assert unknown.severity == "critical"
    assert "2601" in unknown.description


def test_slo_burn_rates_follow_the_sre_workbook():
    """99.9 %: page at 14.4x (1h, 5m) or 6x (6h, 30m); ticket at 1x (3d, 6h)."""
    burns = {
        a.severity: a.expr
        for a in _alerts(RulesOptions())
        if a.alert == "MedicalInsuranceApiErrorBudgetBurn"
    }
    assert set(burns) == {"page", "ticket"}
    for window, factor in (("1h", "14.4"), ("5m", "14.4"), ("6h", "6"), ("30m", "6")):
        assert f"slo:sli_error:ratio_rate{window} > ({factor} * 0.001)" in burns["page"]
    for window in ("3d", "6h"):
        assert f"slo:sli_error:ratio_rate{window} > (1 * 0.001)" in burns["ticket"]
    records = {r.record for g in recording_groups(RulesOptions()) for r in g.rules}  # type: ignore[union-attr]
    for window in ("5m", "30m", "1h", "6h", "3d"):
        assert f"slo:sli_error:ratio_rate{window}" in records


def test_slo_option_sets_the_error_budget():
    """--slo 99.5 gives a 0.5 % budget in the objective, budget and burn expressions."""
    options = RulesOptions(slo_percent=99.5)
    assert options.error_budget == 0.005
    text = render_rule_files(options)
    assert "vector(0.995)" in text.recording
    assert "vector(0.005)" in text.recording
    assert "> (14.4 * 0.005)" in text.alerts


def test_latency_limits_beyond_the_top_bucket_are_capped():
    """p95 cannot exceed the largest finite bucket, so 2x30 s becomes '>= 60'."""
    alerts = [a for a in _alerts(RulesOptions()) if a.alert == "MedicalInsuranceApiLatencyHigh"]
    capped = [a for a in alerts if a.labels["threshold"] == "60s"]
    assert len(capped) == 1
    assert ">= 60" in capped[0].expr
    assert all(">= " not in a.expr.split("\n")[0] for a in alerts if a is not capped[0])


def test_for_override_replaces_every_for():
    """A short-interval test copy sets every alert's ``for`` to the override."""
    alerts = _alerts(RulesOptions(for_override="0s"))
    assert {a.for_ for a in alerts} == {"0s"}
    assert {a.for_ for a in _alerts(RulesOptions())} >= {"2m", "5m", "0m", "15m"}


def test_rendering_is_deterministic_and_valid_yaml():
    """Two renders are identical and parse back to the groups' mappings."""
    a, b = render_rule_files(RulesOptions()), render_rule_files(RulesOptions())
    assert a == b
    doc = yaml.safe_load(a.alerts)
    assert doc == {"groups": [g.to_dict() for g in alert_groups(RulesOptions())]}
    assert a.alerts.startswith("# ")
    assert "misdk rules" in a.alerts.splitlines()[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slo_percent": 100}, "slo_percent"),
        ({"slo_percent": 0}, "slo_percent"),
        ({"slo_percent": True}, "slo_percent"),
        ({"window": "5 minutes"}, "not a Prometheus duration"),
        ({"for_override": "soon"}, "not a Prometheus duration"),
        ({"min_calls": 0}, "min_calls"),
        ({"batch_max_age_seconds": 0}, "batch_max_age_seconds"),
        ({"thresholds": {"2207": default_threshold("2208")}}, "2207"),
    ],
    ids=[
        "slo-100",
        "slo-0",
        "slo-bool",
        "window",
        "for",
        "min-calls",
        "batch-age",
        "mismatched-code",
    ],
)
def test_invalid_options_are_rejected(kwargs, message):
    """Options are validated at construction."""
    with pytest.raises(ValueError, match=message):
        RulesOptions(**kwargs)


def test_load_thresholds_yaml_merges_onto_class_defaults(tmp_path: Path):
    """Omitted fields keep the class default; unquoted YAML codes become strings."""
    path = tmp_path / "t.yml"
    path.write_text(
        "thresholds:\n  2207: {max_error_rate: 0.01}\n  '1101': {max_response_time_ms: 1500}\n",
        encoding="utf-8",
    )
    got = load_thresholds(path)
    assert got["2207"] == dataclasses.replace(default_threshold("2207"), max_error_rate=0.01)
    assert got["1101"].max_response_time_ms == 1500
    assert got["1101"].max_error_rate == default_threshold("1101").max_error_rate


def test_load_thresholds_toml_top_level(tmp_path: Path):
    """TOML tables at the top level work; ``__other__`` is a code like any other, so the
    default of unlisted codes stays the analyzer's transaction class."""
    path = tmp_path / "t.toml"
    path.write_text(
        '["2207"]\nmax_error_rate = 0.02\n\n["__other__"]\nmax_error_rate = 0.03\n',
        encoding="utf-8",
    )
    got = load_thresholds(path)
    assert got["2207"].max_error_rate == 0.02
    options = RulesOptions(thresholds=got)
    assert options.fallback_threshold() == default_threshold(OTHER_API_CODE)
    assert options.fallback_threshold().max_error_rate == default_threshold("9999").max_error_rate
    assert options.threshold_table()[OTHER_API_CODE].max_error_rate == 0.03
    groups = partition_codes(options, lambda t: t.max_error_rate)
    assert [g.codes for g in groups if g.limit == 0.03] == [(OTHER_API_CODE,)]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.yml", "thresholds:\n  '2207': {max_latency: 3}\n", "unknown field"),
        ("a.yml", "thresholds:\n  '2207': {max_error_rate: 2}\n", "max_error_rate"),
        ("a.yml", "thresholds: [1, 2]\n", "mapping"),
        ("a.yml", "thresholds:\n  '2207': 5\n", "mapping of fields"),
        ("a.yml", "thresholds: {a: [\n", "a.yml"),
        ("a.toml", "x = = 1\n", "a.toml"),
        ("a.json", "{}", "unsupported"),
    ],
    ids=[
        "unknown-field",
        "bad-value",
        "not-mapping",
        "entry-not-mapping",
        "bad-yaml",
        "bad-toml",
        "suffix",
    ],
)
def test_invalid_thresholds_files_name_the_problem(tmp_path: Path, name, text, message):
    """Every invalid file raises ThresholdsFileError naming the problem."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThresholdsFileError, match=message):
        load_thresholds(path)


def test_missing_thresholds_file(tmp_path: Path):
    """A missing file is a ThresholdsFileError, not an OSError."""
    with pytest.raises(ThresholdsFileError):
        load_thresholds(tmp_path / "missing.yml")


def test_empty_thresholds_mapping():
    """An empty document overrides nothing."""
    assert parse_thresholds(None) == {}
    assert parse_thresholds({"thresholds": None}) == {}


def test_cli_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """misdk rules writes both files; --check passes, then fails after an edit."""
    assert main(["rules", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "alerts.yml").read_text(encoding="utf-8") == render_rule_files(
        RulesOptions()
    ).alerts
    assert "已生成" in capsys.readouterr().out
    assert main(["rules", "--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "recording.yml").write_text("groups: []\n", encoding="utf-8")
    assert main(["rules", "--out", str(tmp_path), "--check"]) == 1
    assert "recording.yml" in capsys.readouterr().err


def test_cli_thresholds_and_slo(tmp_path: Path):
    """--thresholds and --slo reach the generated files."""
    thresholds = tmp_path / "t.yml"
    thresholds.write_text("'2207': {max_response_time_ms: 8000}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["rules", "--out", str(out), "--thresholds", str(thresholds), "--slo", "99"]) == 0
    alerts = (out / "alerts.yml").read_text(encoding="utf-8")
    assert '{api_code=~"2207"} > 8' in alerts
    assert "> (14.4 * 0.01)" in alerts
    assert "2207" in alerts.splitlines()[3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slo", "100"], "应为 50–100 之间的百分比"),
        (["--thresholds", "missing.yml"], "阈值文件无效"),
    ],
    ids=["slo", "thresholds"],
)
def test_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args, message):
    """Bad arguments exit 2 with a Chinese message and write nothing."""
    assert main(["rules", "--out", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_dashboard_write_and_check(tmp_path: Path):
    """--dashboard writes the dashboard JSON next to the rules, and --check compares it."""
    board = tmp_path / "grafana" / "board.json"
    assert main(["rules", "--out", str(tmp_path / "p"), "--dashboard", str(board)]) == 0
    assert board.read_text(encoding="utf-8") == render_dashboard(RulesOptions())
    args = ["rules", "--out", str(tmp_path / "p"), "--dashboard", str(board), "--check"]
    assert main(args) == 0
    board.write_text("{}", encoding="utf-8")
    assert main(args) == 1


def test_dashboard_burn_rate_thresholds_follow_the_burn_alerts():
    """The SLO panel draws the alerts' burn factors as threshold lines."""
    board = build_dashboard(RulesOptions())
    (panel,) = [p for p in board["panels"] if p["title"] == "错误预算消耗速率（按接口）"]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 1.0, 6.0, 14.4]
    assert [t["legendFormat"].split()[-1] for t in panel["targets"]] == ["1h", "6h", "3d"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"width": 25}, "width"), ({"targets": ()}, "targets")],
    ids=["too-wide", "no-targets"],
)
def test_invalid_panels_are_rejected(kwargs, message):
    """Panels are validated at construction."""
    base = {"title": "x", "targets": (Target("up"),)}
    with pytest.raises(ValueError, match=message):
        Panel(**{**base, **kwargs})
