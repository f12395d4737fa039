"""Alerts about the monitoring itself: exporter down, stale pushes, batch jobs that stopped
succeeding (``core.batch.batch_job``), internal errors and label overflow."""

from __future__ import annotations

from medical_insurance_sdk.rules.model import AlertingRule, RuleGroup
from medical_insurance_sdk.rules.options import RulesOptions
from medical_insurance_sdk.rules.promql import (
    MONITORING_DROPPED,
    MONITORING_ERRORS,
    increase_or_new,
    selector,
)

__all__ = ["exporter_group"]

_BATCH_SUCCESS = "medical_insurance_batch_last_success_timestamp_seconds"
_BATCH_RUN = "medical_insurance_batch_last_run_timestamp_seconds"


def exporter_group(options: RulesOptions) -> RuleGroup:
    """``up == 0``, push staleness, batch jobs, monitoring errors and cardinality overflow."""
    job, push_job = options.scrape_job, options.push_job
    age = options.push_max_age_seconds
    overflow = selector(MONITORING_DROPPED, 'reason=~"overflow_.*"')
    return RuleGroup(
        "medical_insurance_sdk.exporter",
        (
            AlertingRule(
                "MedicalInsuranceExporterDown",
                f'up{{job="{job}"}} == 0',
                "critical",
                "SDK 指标端点不可达：{{ $labels.instance }}",
                f"Prometheus 无法抓取 {{{{ $labels.instance }}}} 的 /metrics（job {job}），"
                "期间其他告警无法评估。处置：确认 SDK 进程在运行；核对 MetricConfig 的 "
                "prometheus_port 与 prometheus_host（容器内需 0.0.0.0）、防火墙，以及 TLS 或 "
                "basic auth 设置与 Prometheus 抓取配置是否一致。",
                options.alert_for("2m"),
            ),
            AlertingRule(
                "MedicalInsurancePushStale",
                f'time() - push_time_seconds{{job="{push_job}"}} > {age}',
                "warning",
                "Pushgateway 分组 {{ $labels.instance }} 已 {{ $value | humanizeDuration }} 未更新",
                f"job {push_job} 的推送分组超过 {age} 秒未更新。配置了 prometheus_gateway_url "
                "的进程按 collection_interval 定期推送，正常退出时删除自己的分组，"
                "所以分组过期说明进程崩溃、被强制结束或卡住（batch_job 批处理任务的分组会保留，"
                "由 MedicalInsuranceBatchJobNotSucceeded 监控）。处置：查看该进程日志；"
                "确认进程已结束后删除分组："
                f"curl -X DELETE http://<pushgateway>:9091/metrics/job/{push_job}/instance/<instance>。",
                options.alert_for("0m"),
            ),
            AlertingRule(
                "MedicalInsuranceBatchJobNotSucceeded",
                f"time() - max by (job) ({_BATCH_SUCCESS}) > {options.batch_max_age_seconds}",
                "warning",
                "批处理任务 {{ $labels.job }} 已 {{ $value | humanizeDuration }} 没有成功运行",
                f"batch_job 任务（如夜间 3201/3202 对账、目录下载）最近一次成功距今超过 "
                f"{options.batch_max_age_seconds} 秒。处置：检查定时任务（cron/调度器）是否运行、"
                "任务日志中的错误，以及 Pushgateway 是否可达；对账未完成时结果未知的结算无法核实。",
                options.alert_for("0m"),
            ),
            AlertingRule(
                "MedicalInsuranceBatchJobFailed",
                f"max by (job) ({_BATCH_RUN}) > max by (job) ({_BATCH_SUCCESS}) + 60\n"
                f"or\nmax by (job) ({_BATCH_RUN}) unless on (job) {_BATCH_SUCCESS}",
                "warning",
                "批处理任务 {{ $labels.job }} 最近一次运行失败",
                "batch_job 任务最近一次运行没有成功结束（推送了运行时间但没有成功时间）。"
                "处置：查看该次运行的日志；对账类任务需重新运行，结算相关任务需人工核实。",
                options.alert_for("0m"),
            ),
            AlertingRule(
                "MedicalInsuranceMonitoringErrors",
                f"{increase_or_new(MONITORING_ERRORS, 'job, instance, stage', '15m')} > 0",
                "warning",
                "SDK 监控内部错误：{{ $labels.instance }}（{{ $labels.stage }}）",
                "SDK 的监控组件在 {{ $labels.stage }} 阶段出错；业务调用不受影响，"
                "但部分指标可能缺失。"
                "处置：查看该实例日志中 medical_insurance_sdk.core 的异常记录。",
                options.alert_for("0m"),
            ),
            AlertingRule(
                "MedicalInsuranceMetricsOverflow",
                f"{increase_or_new(overflow, 'job, instance, reason', '15m')} > 0",
                "warning",
                "指标标签超出上限：{{ $labels.instance }}（{{ $labels.reason }}）",
                "超出上限的标签值被合并为 __other__，相关接口或机构的指标不再单独可见。处置："
                "多机构网关调高 MetricConfig.max_org_codes / max_series_per_metric，"
                "或设置 histogram_by_org=False 从响应时间直方图去掉 org_code。",
                options.alert_for("0m"),
            ),
        ),
    )
