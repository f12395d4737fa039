"""The PerformanceAnalyzer's building blocks, one concern per module.

* :mod:`.descriptive`: counts, rates, latency percentiles, errors, concurrency;
* :mod:`.trend` and :mod:`.timeseries`: buckets, Mann-Kendall, Theil-Sen, forecasts;
* :mod:`.thresholds`: per-API targets with per-class defaults;
* :mod:`.scoring`: the documented 0-100 score and A-F grade;
* :mod:`.alerts` and :mod:`.conditions`: alert lifecycle and conditions per (API, org);
* :mod:`.evidence`, :mod:`.detection`: the statistical evidence behind ratio alerts, the
  short window of the multi-window evaluation and the alerts against baselines;
* :mod:`.baselines` (with :mod:`.baseline_book`): what is usual per API, org and hour
  of the week;
* :mod:`.incidents`: the alert conditions replayed over minute rollups, as a timeline;
* :mod:`.recommendations` and :mod:`.texts`: data-derived advice, zh-CN or en;
* :mod:`.api_analysis` and :mod:`.overview`: the typed results;
* :mod:`.rollup_overview` (with :mod:`.rollup_totals`, :mod:`.rollup_stats`,
  :mod:`.rollup_series`): the same results from rollups (history, the fleet);
* :mod:`.anomaly` (with :mod:`.anomaly_baselines`, :mod:`.anomaly_tail`): causal anomaly
  scores of any series; :mod:`.series_anomaly` runs it on a series' minutes;
* :mod:`.forecast` and :mod:`.capacity` (with :mod:`.capacity_series`,
  :mod:`.capacity_options`, :mod:`.capacity_plan`, :mod:`.capacity_texts`): hourly call
  forecasts and the date each capacity limit is reached;
* :mod:`.reports`: the JSON, CSV and HTML reports, and writing them to files.
"""

from medical_insurance_sdk.core.analysis.alerts import AlertManager, PerformanceAlert
from medical_insurance_sdk.core.analysis.anomaly import AnomalyDetector
from medical_insurance_sdk.core.analysis.api_analysis import ApiAnalysis
from medical_insurance_sdk.core.analysis.baselines import Baseline
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.incidents import Incident
from medical_insurance_sdk.core.analysis.overview import SystemOverview
from medical_insurance_sdk.core.analysis.scoring import PerformanceScore
from medical_insurance_sdk.core.analysis.series_anomaly import SeriesAnomaly
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.analysis.trend import Trend

__all__ = [
    "AlertManager",
    "AlertPolicy",
    "AnomalyDetector",
    "ApiAnalysis",
    "Baseline",
    "Incident",
    "PerformanceAlert",
    "PerformanceScore",
    "PerformanceThreshold",
    "SeriesAnomaly",
    "SystemOverview",
    "Trend",
]
