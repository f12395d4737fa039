"""MetricConfig: seed defaults, validation naming the field, files and environment."""

from __future__ import annotations

import pytest

from medical_insurance_sdk.core import MetricConfig


def test_seed_fields_and_defaults():
    """The seed's seven fields keep their names and defaults."""
    c = MetricConfig()
    assert (c.enabled, c.prometheus_enabled, c.prometheus_port) == (True, True, 8000)
    assert c.prometheus_gateway_url is None
    assert (c.collection_interval, c.retention_days, c.max_memory_metrics) == (60, 7, 10000)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_memory_metrics", 0, "max_memory_metrics must be an int >= 1"),
        ("prometheus_port", 70000, "prometheus_port must be an int in 0..65535"),
        ("prometheus_port", -1, "prometheus_port must be an int in 0..65535"),
        ("retention_days", -1, "retention_days must be >= 0"),
        ("collection_interval", 0, "collection_interval must be > 0"),
        ("collection_interval", float("nan"), "collection_interval must be > 0 and finite"),
        ("enabled", "yes", "enabled must be a bool"),
        ("duration_buckets", (1.0, 0.5), "duration_buckets must be strictly increasing"),
        ("prometheus_gateway_url", "", "prometheus_gateway_url must be a non-empty URL"),
        ("max_org_codes", 0, "max_org_codes must be an int >= 1"),
        ("prometheus_host", "bad host!", "prometheus_host must be a host name"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_validation_names_the_field(field, value, message):
    """An invalid value raises ValueError naming the field."""
    with pytest.raises(ValueError, match=f"MetricConfig.{message}"):
        MetricConfig(**{field: value})


def test_port_none_and_zero_mean_no_server():
    """prometheus_port 0 and None are both accepted (no HTTP server)."""
    assert MetricConfig(prometheus_port=None).prometheus_port is None
    assert MetricConfig(prometheus_port=0).prometheus_port == 0


def test_from_yaml_file(tmp_path, monkeypatch):
    """A YAML file under a `metrics` key configures the collector."""
    monkeypatch.delenv("MISDK_PROMETHEUS_PORT")
    path = tmp_path / "misdk.yaml"
    path.write_text(
        "metrics:\n  prometheus_port: 9100\n  retention_days: 30\n"
        "  duration_buckets: [0.1, 1, 10]\n",
        encoding="utf-8",
    )
    c = MetricConfig.from_file(path)
    assert (c.prometheus_port, c.retention_days) == (9100, 30)
    assert c.duration_buckets == (0.1, 1.0, 10.0)


def test_from_toml_file_and_env_override(tmp_path, monkeypatch):
    """A TOML file is read and MISDK_* variables override it."""
    path = tmp_path / "misdk.toml"
    path.write_text(
        '[metrics]\nmax_memory_metrics = 50000\nprometheus_gateway_url = "http://gw:9091"\n'
    )
    monkeypatch.setenv("MISDK_MAX_MEMORY_METRICS", "123")
    c = MetricConfig.from_file(path)
    assert c.max_memory_metrics == 123
    assert c.prometheus_gateway_url == "http://gw:9091"


def test_file_errors_name_the_problem(tmp_path):
    """Unknown keys and unsupported formats raise ValueError naming them."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics:\n  prometheus_prot: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field\\(s\\) prometheus_prot"):
        MetricConfig.from_file(bad)
    ini = tmp_path / "x.ini"
    ini.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported file type"):
        MetricConfig.from_file(ini)


def test_from_env_parses_types():
    """MISDK_* variables are parsed to each field's type; errors name the variable."""
    c = MetricConfig.from_env(
        {
            "MISDK_ENABLED": "false",
            "MISDK_PROMETHEUS_PORT": "none",
            "MISDK_COLLECTION_INTERVAL": "2.5",
            "MISDK_PUSH_GROUPING_KEY": "site=hn,zone=a",
        }
    )
    assert (c.enabled, c.prometheus_port, c.collection_interval) == (False, None, 2.5)
    assert c.push_grouping_key == {"site": "hn", "zone": "a"}
    with pytest.raises(ValueError, match="MISDK_MAX_MEMORY_METRICS: cannot parse"):
        MetricConfig.from_env({"MISDK_MAX_MEMORY_METRICS": "lots"})


def test_misdk_config_points_to_a_file(tmp_path):
    """MISDK_CONFIG names a file read before the other variables."""
    path = tmp_path / "c.yml"
    path.write_text("retention_days: 3\n", encoding="utf-8")
    c = MetricConfig.from_env({"MISDK_CONFIG": str(path), "MISDK_PROMETHEUS_PORT": "0"})
    assert (c.retention_days, c.prometheus_port) == (3, 0)


def test_shipped_example_config_is_valid():
    """The example file in the repository loads."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "misdk.yaml"
    c = MetricConfig.from_file(example, env=False)
    assert c.prometheus_port == 8000
