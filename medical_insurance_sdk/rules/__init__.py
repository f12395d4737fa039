"""Prometheus rules and the Grafana dashboard, generated from the analyzer's thresholds.

``misdk rules`` writes ``alerts.yml``, ``recording.yml`` and ``baselines.yml`` (baseline bands
and anomaly alerts, :class:`BaselineOptions`) with :func:`write_rule_files`
(and, with ``--dashboard``, the dashboard JSON of :func:`render_dashboard`);
the shipped files under ``deploy/prometheus`` are its output with the default
:class:`RulesOptions`. The per-API limits are the analyzer's
(:func:`~medical_insurance_sdk.core.analysis.thresholds.default_threshold`, overridden by a
:func:`load_thresholds` file), so Prometheus and the in-process analyzer never disagree.
"""

from medical_insurance_sdk.rules.baseline_options import DEFAULT_BASELINE_OFFSETS, BaselineOptions
from medical_insurance_sdk.rules.dashboard import (
    DASHBOARD_UID,
    build_dashboard,
    dashboard_queries,
    render_dashboard,
)
from medical_insurance_sdk.rules.model import AlertingRule, RecordingRule, RuleGroup
from medical_insurance_sdk.rules.options import (
    MULTIWINDOW_BURN_ALERTS,
    BurnRateAlert,
    BurnRateCondition,
    RulesOptions,
)
from medical_insurance_sdk.rules.recording import recording_groups
from medical_insurance_sdk.rules.render import (
    ALERTS_FILE,
    BASELINES_FILE,
    RECORDING_FILE,
    RuleFiles,
    alert_groups,
    baseline_groups,
    changed_files,
    render_groups,
    render_rule_files,
    write_rule_files,
)
from medical_insurance_sdk.rules.thresholds_file import (
    ThresholdsFileError,
    load_thresholds,
    parse_thresholds,
)

__all__ = [
    "ALERTS_FILE",
    "BASELINES_FILE",
    "DASHBOARD_UID",
    "DEFAULT_BASELINE_OFFSETS",
    "MULTIWINDOW_BURN_ALERTS",
    "RECORDING_FILE",
    "AlertingRule",
    "BaselineOptions",
    "BurnRateAlert",
    "BurnRateCondition",
    "RecordingRule",
    "RuleFiles",
    "RuleGroup",
    "RulesOptions",
    "ThresholdsFileError",
    "alert_groups",
    "baseline_groups",
    "build_dashboard",
    "changed_files",
    "dashboard_queries",
    "load_thresholds",
    "parse_thresholds",
    "recording_groups",
    "render_dashboard",
    "render_groups",
    "render_rule_files",
    "write_rule_files",
]
