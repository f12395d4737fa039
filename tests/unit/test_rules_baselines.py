"""Baseline bands and anomaly alerts (``baselines.yml``): names, maths in the PromQL,
options validated, texts in both languages, and the ``misdk rules`` flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.rules import (
    BASELINES_FILE,
    DEFAULT_BASELINE_OFFSETS,
    AlertingRule,
    BaselineOptions,
    RecordingRule,
    RulesOptions,
    baseline_groups,
    recording_groups,
    render_rule_files,
)
from medical_insurance_sdk.rules.promql import REFUSALS_MATCHER, SYSTEM_ERRORS_MATCHER

CJK = re.compile(r"[\u4e00-\u9fff]")
ALERT_NAMES = {
    "MedicalInsuranceApiLatencyAboveBaseline",
    "MedicalInsuranceApiTrafficDrop",
    "MedicalInsuranceApiRefusalSurge",
}


def _rules(options: RulesOptions) -> list[RecordingRule | AlertingRule]:
    return [r for g in baseline_groups(options) for r in g.rules]


def _records(options: RulesOptions) -> dict[str, str]:
    return {r.record: r.expr for r in _rules(options) if isinstance(r, RecordingRule)}


def _alerts(options: RulesOptions) -> list[AlertingRule]:
    return [r for r in _rules(options) if isinstance(r, AlertingRule)]


def test_bands_exist_per_pair_and_per_api_for_every_metric():
    """Level, spread and offset count for calls, p95, system errors and refusals, kept by
    (api_code, org_code) and by api_code."""
    records = _records(RulesOptions())
    for prefix in ("api_code", "api_code_org_code"):
        for metric in (
            "medical_insurance_api_calls:rate5m",
            "medical_insurance_api_duration_seconds:p95_rate5m",
            "medical_insurance_api_system_errors:ratio_rate5m",
            "medical_insurance_api_refusals:ratio_rate5m",
        ):
            for part in ("level", "spread", "offsets"):
                assert f"{prefix}:{metric}_baseline_{part}" in records


def test_per_api_bands_read_the_series_of_recording_yml():
    """The per-API current series a band learns from are recording.yml's, not copies."""
    shipped = {r.record for g in recording_groups(RulesOptions()) for r in g.rules}
    records = _records(RulesOptions())
    for name in records:
        if name.startswith("api_code:") and name.endswith("_baseline_level"):
            current = name.removesuffix("_baseline_level")
            assert (current in shipped) != (current in records), current
    assert not set(records) & shipped


def test_level_is_the_median_of_the_offsets_and_spread_a_floored_mad():
    """level = quantile 0.5 over one series per offset (NaN dropped); spread = 1.4826 MAD,
    at least spread_floor * level and an absolute floor."""
    records = _records(RulesOptions(baselines=BaselineOptions(spread_floor=0.2)))
    name = "api_code_org_code:medical_insurance_api_calls:rate5m"
    level = records[f"{name}_baseline_level"]
    assert level.startswith("quantile by (api_code, org_code) (0.5,")
    for offset in DEFAULT_BASELINE_OFFSETS:
        assert f'{name} offset {offset} >= 0, "offset", "{offset}"' in level
    assert records[f"{name}_baseline_offsets"].startswith("count by (api_code, org_code)")
    spread = records[f"{name}_baseline_spread"]
    assert "1.4826 * quantile by (api_code, org_code)" in spread
    assert f"0.2 * {name}_baseline_level" in spread
    assert spread.rstrip().endswith("0.003333333333\n)")  # one call per 5 min window


def test_refusals_and_system_errors_split_every_error():
    """The refusal matcher is the system-error matcher's complement."""
    assert REFUSALS_MATCHER.replace("=~", "!~", 1) == SYSTEM_ERRORS_MATCHER
    records = _records(RulesOptions())
    refusals = records["api_code_org_code:medical_insurance_api_refusals:ratio_rate5m"]
    assert REFUSALS_MATCHER in refusals


def test_alerts_carry_the_evidence_guards():
    """Latency: factor, z and min calls; drop: factor, z, expected calls, not while an SDK
    target is down; refusals: z with sampling noise and min refusals; all need offsets."""
    options = RulesOptions(
        baselines=BaselineOptions(
            z_limit=2.5, latency_factor=4, drop_factor=5, min_calls=12, min_refusals=4
        )
    )
    by_name = {a.alert: a for a in _alerts(options)}
    assert set(by_name) == ALERT_NAMES
    latency = by_name["MedicalInsuranceApiLatencyAboveBaseline"].expr
    assert ">= 4 * api_code_org_code:medical_insurance_api_duration_seconds" in latency
    assert "_baseline_spread >= 2.5" in latency
    assert "api_code_org_code:medical_insurance_api_calls:rate5m * 300 >= 12" in latency
    drop = by_name["MedicalInsuranceApiTrafficDrop"].expr
    assert "< 12 * api_code_org_code:medical_insurance_api_calls:rate5m_baseline_level" in drop
    assert "rate5m_baseline_level * 300 >= 12" in drop
    assert 'unless on () (up{job="medical-insurance-sdk"} == 0)' in drop
    refusals = by_name["MedicalInsuranceApiRefusalSurge"].expr
    assert "2.5 * sqrt(" in refusals
    assert ">= 4" in refusals
    for alert in by_name.values():
        assert "_baseline_offsets >= 3" in alert.expr
        assert alert.labels == {"scope": "org"}


def test_per_org_off_keeps_only_per_api_bands_and_alerts():
    """per_org=False: no (api_code, org_code) series at all, alerts per api_code."""
    options = RulesOptions(baselines=BaselineOptions(per_org=False))
    assert not [n for n in _records(options) if n.startswith("api_code_org_code:")]
    alerts = _alerts(options)
    assert {a.labels["scope"] for a in alerts} == {"api"}
    assert all("org_code" not in a.expr for a in alerts)


def test_alert_texts_chinese_by_default_english_on_request():
    """Summaries and descriptions in Chinese by default, English with language='en';
    both say how far from usual and give guidance."""
    for alert in _alerts(RulesOptions()):
        assert CJK.search(alert.summary)
        assert "处置" in alert.description
        assert "baseline_level" in alert.summary  # the usual value, queried
    for alert in _alerts(RulesOptions(baselines=BaselineOptions(language="en"))):
        assert not CJK.search(alert.summary + alert.description)
        assert "What to do" in alert.description


def test_queries_in_templates_pass_one_argument_per_matcher():
    """Each printf in an annotation has as many label arguments as %q verbs."""
    for alert in _alerts(RulesOptions()):
        for text in (alert.summary, alert.description):
            for fmt, args in re.findall(r'printf "([^"]*)" ((?:\$labels\.\w+ ?)+)\|', text):
                assert fmt.count("%q") == len(args.split()), fmt


def test_baselines_off_writes_an_empty_file():
    """baselines=None: no rule groups, a file that still parses."""
    text = render_rule_files(RulesOptions(baselines=None)).baselines
    assert yaml.safe_load(text) == {"groups": []}
    assert baseline_groups(RulesOptions(baselines=None)) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"offsets": ()}, "non-empty"),
        ({"offsets": "1d"}, "non-empty"),
        ({"offsets": ("1d", "12h")}, "at least 1d"),
        ({"offsets": ("1d", "24h")}, "distinct"),
        ({"offsets": ("1d", "yesterday")}, "not a Prometheus duration"),
        ({"min_offsets": 6}, "exceeds the number of offsets"),
        ({"min_offsets": 0}, "min_offsets"),
        ({"z_limit": 0}, "z_limit"),
        ({"z_limit": float("nan")}, "z_limit"),
        ({"latency_factor": 1}, "latency_factor"),
        ({"drop_factor": 0.5}, "drop_factor"),
        ({"min_calls": 2.5}, "min_calls must be an int"),
        ({"min_refusals": True}, "min_refusals"),
        ({"spread_floor": -0.1}, "spread_floor"),
        ({"per_org": "yes"}, "per_org"),
        ({"language": "fr"}, "language"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_invalid_baseline_options_are_rejected(kwargs, message):
    """Each bad figure raises ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        BaselineOptions(**kwargs)


def test_rules_options_rejects_a_non_baseline_options():
    """RulesOptions(baselines=...) takes BaselineOptions or None only."""
    with pytest.raises(ValueError, match="baselines must be BaselineOptions"):
        RulesOptions(baselines={"z_limit": 3})  # type: ignore[arg-type]


def test_cli_writes_baselines_and_takes_its_flags(tmp_path: Path):
    """misdk rules writes baselines.yml; --baseline-* flags reach it; --no-baselines
    empties it; a bad flag exits 2."""
    assert main(["rules", "--out", str(tmp_path)]) == 0
    assert (tmp_path / BASELINES_FILE).read_text(encoding="utf-8") == (
        render_rule_files(RulesOptions()).baselines
    )
    args = ["rules", "--out", str(tmp_path), "--baseline-offsets", "1w, 2w,3w"]
    args += ["--baseline-z", "4", "--baseline-min-calls", "20", "--baseline-language", "en"]
    assert main(args) == 0
    text = (tmp_path / BASELINES_FILE).read_text(encoding="utf-8")
    assert "offset 1d" not in text
    assert "offset 3w" in text
    assert "_baseline_spread >= 4" in text
    assert "* 300 >= 20" in text
    assert "What to do" in text
    assert main([*args, "--check"]) == 0
    assert main(["rules", "--out", str(tmp_path), "--no-baselines"]) == 0
    assert yaml.safe_load((tmp_path / BASELINES_FILE).read_text(encoding="utf-8")) == {"groups": []}
    assert main(["rules", "--out", str(tmp_path), "--baseline-offsets", "1d,6h"]) == 2


def test_latency_without_org_in_the_histogram_is_judged_per_api():
    """With histogram_by_org: false the pair p95 has no org_code: the latency alert has a
    branch for it guarded by the API's calls, and its text then says all orgs."""
    (latency,) = [
        a for a in _alerts(RulesOptions()) if a.alert == "MedicalInsuranceApiLatencyAboveBaseline"
    ]
    assert 'p95_rate5m{org_code=""} >= 3 *' in latency.expr
    assert "and on (api_code) api_code:medical_insurance_api_calls:rate5m * 300 >= 10" in (
        latency.expr
    )
    assert "{{ else }}（全部机构合计）{{ end }}" in latency.summary
