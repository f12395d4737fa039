"""The shipped Prometheus config and rules: promtool checks and unit tests, in sync with
``misdk rules``, evaluated by a real Prometheus, and alerts firing on injected errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from baseline_series import INPUT as BASELINE_INPUT
from servers import PROMTOOL, free_port

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.rules import RulesOptions, changed_files, write_rule_files

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"
ORG = "H43010500001"
RULE_FILES = ("alerts.yml", "recording.yml", "baselines.yml")


def promtool(
    *args: str, cwd: Path = DEPLOY, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _uncomment_examples(text: str) -> str:
    """Uncomment the config's commented YAML (pushgateway job, alerting), not its prose."""
    return re.sub(r"(?m)^(\s*)# ( *(?:- )?[a-z_]+:.*)$", r"\1\2", text)


def test_promtool_check_config_of_the_shipped_config():
    """prometheus.yml is valid and its three rule files exist next to it."""
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 3 rule files found" in result.stdout
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == list(RULE_FILES)
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "medical-insurance-sdk"
    assert job["scrape_interval"] == "30s"


def test_commented_pushgateway_job_is_valid_when_enabled(tmp_path: Path):
    """Uncommenting the pushgateway job (and alerting) still gives a valid config."""
    for name in RULE_FILES:
        shutil.copy(DEPLOY / name, tmp_path / name)
    enabled = _uncomment_examples((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    (tmp_path / "prometheus.yml").write_text(enabled, encoding="utf-8")
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(enabled)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["pushgateway"]["honor_labels"] is True
    assert "alertmanagers" in config["alerting"]


def test_promtool_check_rules():
    """The three rule files pass promtool's syntax and lint checks."""
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 3


def test_promtool_check_rules_without_baselines(tmp_path: Path):
    """With baselines off, baselines.yml has no groups and promtool still accepts it."""
    write_rule_files(tmp_path, RulesOptions(baselines=None))
    result = promtool("check", "rules", "baselines.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 0 rules found" in result.stdout


def test_promtool_unit_tests_pass():
    """promtool test rules passes for every test file."""
    files = sorted(p.name for p in (DEPLOY / "tests").glob("*.yml"))
    assert len(files) >= 4
    # baselines_test.yml evaluates a week of history: about 20 s of CPU
    result = promtool("test", "rules", *files, cwd=DEPLOY / "tests", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    """Each alert name of alerts.yml and baselines.yml fires in some promtool case and stays
    silent in another."""
    names: set[str] = set()
    for name in ("alerts.yml", "baselines.yml"):
        rules = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
        names |= {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert len(names) > 3
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in (DEPLOY / "tests").glob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                (fires if case["exp_alerts"] else quiet).add(case["alertname"])
    assert names - fires == set()
    assert names - quiet == set()


def test_shipped_rules_are_misdk_rules_output():
    """deploy/prometheus/{alerts,recording,baselines}.yml equal `misdk rules` with the
    defaults."""
    assert changed_files(DEPLOY, RulesOptions()) == []
    assert main(["rules", "--check", "--out", str(DEPLOY)]) == 0


def test_baseline_unit_test_input_is_the_generated_series():
    """baselines_test.yml carries the series of baseline_series.py: a week of history with
    a day/night profile, then the incidents."""
    doc = yaml.safe_load((DEPLOY / "tests" / "baselines_test.yml").read_text(encoding="utf-8"))
    (test,) = doc["tests"]
    assert test["input_series"] == BASELINE_INPUT
    assert doc["rule_files"] == ["../recording.yml", "../baselines.yml"]


def _collector() -> MetricsCollector:
    return MetricsCollector(
        MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    )


def test_shipped_rules_evaluate_without_errors(start_prometheus):
    """A real Prometheus loads the shipped rules and evaluates every rule healthily."""
    c = _collector()

    def traffic() -> None:
        for i in range(30):
            failed = i % 10 == 0
            c.record_api_call(
                "2207",
                ORG,
                "error" if failed else "success",
                900.0,
                error_code="TIMEOUT_READ" if failed else None,
            )
            rejected = i % 5 == 0
            c.record_api_call(
                "1101",
                ORG,
                "error" if rejected else "success",
                40.0,
                error_code="BIZ_MBS_HygeiaException" if rejected else None,
            )

    traffic()
    c.record_outcome_unknown("2207", ORG)
    prom = start_prometheus(
        {"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}"]},
        rule_files=[DEPLOY / name for name in RULE_FILES],
    )
    try:
        prom.wait_for("medical_insurance_api_calls_total", lambda r: len(r) == 4)
        traffic()  # rates need an increase between two scrapes

        def all_evaluated(_: object) -> bool:
            groups = prom.api("rules")["groups"]
            rules = [rule for g in groups for rule in g["rules"]]
            return len(groups) == 8 and all(
                not rule["lastEvaluation"].startswith("0001") for rule in rules
            )

        prom.wait_for("vector(1)", all_evaluated)
        groups = prom.api("rules")["groups"]
        unhealthy = [
            (rule["name"], rule.get("lastError"))
            for g in groups
            for rule in g["rules"]
            if rule["health"] != "ok"
        ]
        assert unhealthy == []
        ratio = prom.wait_for(
            "slo:sli_error:ratio_rate5m > -1",  # drops NaN (no increase yet)
            lambda r: {s["metric"]["api_code"] for s in r} == {"2207", "1101"},
        )
        by_api = {s["metric"]["api_code"]: float(s["value"][1]) for s in ratio}
        assert by_api["1101"] == 0.0  # business rejections are not system errors
        assert by_api["2207"] == pytest.approx(0.1)
    finally:
        c.shutdown()


def test_alerts_fire_on_injected_errors(tmp_path: Path, start_prometheus):
    """With a for: 0s copy of the rules, injected errors fire the per-API, seed, SLO,
    outcome-unknown and exporter-down alerts; a healthy API raises none."""
    rules = tmp_path / "rules"
    write_rule_files(rules, RulesOptions(for_override="0s"))
    c = _collector()
    c.record_api_call("2207", ORG, "error", 900.0, error_code="TIMEOUT_READ")
    for _ in range(5):
        c.record_api_call("2207", ORG, "success", 900.0)
        c.record_api_call("1101", ORG, "success", 40.0)
    dead = f"127.0.0.1:{free_port()}"  # nothing listens here: up == 0
    prom = start_prometheus(
        {"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}", dead]},
        rule_files=[rules / "alerts.yml", rules / "recording.yml"],
    )
    try:
        prom.wait_for("medical_insurance_api_errors_total", lambda r: len(r) == 1)
        for _ in range(60):
            c.record_api_call("2207", ORG, "success", 900.0)
            c.record_api_call("1101", ORG, "success", 40.0)
        for _ in range(100):
            c.record_api_call("2207", ORG, "error", 1200.0, error_code="TIMEOUT_READ")
        c.record_outcome_unknown("2207", ORG)
        wanted = {
            ("HighErrorRate", "warning"),
            ("MedicalInsuranceApiErrorRatioHigh", "warning"),
            ("MedicalInsuranceApiErrorRatioHigh", "critical"),
            ("MedicalInsuranceApiErrorBudgetBurn", "page"),
            ("MedicalInsuranceSettlementOutcomeUnknown", "critical"),
            ("MedicalInsuranceExporterDown", "critical"),
        }

        def fired(result: list[dict[str, dict[str, str]]]) -> set[tuple[str, str]]:
            return {(s["metric"]["alertname"], s["metric"]["severity"]) for s in result}

        firing = prom.wait_for('ALERTS{alertstate="firing"}', lambda r: wanted <= fired(r))
        for sample in firing:
            labels = sample["metric"]
            assert labels.get("api_code") != "1101", labels
            if labels["alertname"] == "MedicalInsuranceExporterDown":
                assert labels["instance"] == dead
            elif labels["alertname"] != "MedicalInsuranceExporterDown":
                assert labels["api_code"] == "2207", labels
        alerts = prom.api("alerts")["alerts"]
        unknown = next(
            a
            for a in alerts
            if a["labels"]["alertname"] == "MedicalInsuranceSettlementOutcomeUnknown"
        )
        assert unknown["labels"]["org_code"] == ORG
        assert "2601" in unknown["annotations"]["description"]
    finally:
        c.shutdown()
