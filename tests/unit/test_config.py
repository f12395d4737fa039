"""MetricConfig: seed defaults, validation naming the field, files and environment."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
from local_net import self_signed

from medical_insurance_sdk.core import MetricConfig
from medical_insurance_sdk.core.runtime import config


def test_seed_fields_and_defaults():
    """The original API's seven fields keep their names and defaults."""
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
        ("collection_interval", 0, "collection_interval must be >= 0.05"),
        ("collection_interval", 0.01, "collection_interval must be >= 0.05"),
        ("collection_interval", float("nan"), "collection_interval must be >= 0.05 and finite"),
        ("prometheus_max_connections", 0, "prometheus_max_connections must be an int >= 1"),
        ("prometheus_request_timeout", 0, "prometheus_request_timeout must be > 0"),
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


def test_collection_interval_minimum_is_accepted():
    """MIN_COLLECTION_INTERVAL itself is valid; just below it is not."""
    assert MetricConfig(collection_interval=config.MIN_COLLECTION_INTERVAL).collection_interval
    with pytest.raises(ValueError, match=r"collection_interval must be >= 0\.05"):
        MetricConfig.from_env({"MISDK_COLLECTION_INTERVAL": "0.001"})


@pytest.mark.parametrize(
    "value", ["", "none", "None", "null", "  ", "user:", ":s3cret", "no-colon"], ids=repr
)
def test_empty_or_none_basic_auth_fails_closed(value):
    """MISDK_PROMETHEUS_BASIC_AUTH that is empty, 'none' or malformed is an error, not no auth."""
    with pytest.raises(ValueError, match="MISDK_PROMETHEUS_BASIC_AUTH must be 'user:password'"):
        MetricConfig.from_env({"MISDK_PROMETHEUS_BASIC_AUTH": value})


@pytest.mark.parametrize("field", ["PROMETHEUS_CERTFILE", "PROMETHEUS_KEYFILE"])
@pytest.mark.parametrize("value", ["", "none", "NULL"])
def test_empty_tls_file_variable_fails_closed(field, value):
    """An empty or 'none' TLS file variable is an error naming it, not "no TLS"."""
    with pytest.raises(ValueError, match=f"MISDK_{field} must be a file path"):
        MetricConfig.from_env({f"MISDK_{field}": value})


def test_basic_auth_from_env_and_its_errors_never_show_the_password():
    """user:password is parsed (':' allowed in the password); no error quotes the value."""
    c = MetricConfig.from_env({"MISDK_PROMETHEUS_BASIC_AUTH": "prom:pa:ss"})
    assert c.prometheus_basic_auth == ("prom", "pa:ss")
    with pytest.raises(ValueError, match="MISDK_PROMETHEUS_BASIC_AUTH") as raised:
        MetricConfig.from_env({"MISDK_PROMETHEUS_BASIC_AUTH": "s3cret-only"})
    assert "s3cret-only" not in str(raised.value)


@pytest.mark.parametrize("field", ["prometheus_certfile", "prometheus_keyfile"])
def test_missing_tls_file_is_a_config_error_naming_the_path(tmp_path, field):
    """A missing certificate or key path fails at MetricConfig construction, naming it."""
    certfile, keyfile = self_signed(tmp_path)
    missing = str(tmp_path / "nowhere" / "x.pem")
    files = {"prometheus_certfile": certfile, "prometheus_keyfile": keyfile, field: missing}
    with pytest.raises(ValueError, match=f"MetricConfig.{field}: no such file") as raised:
        MetricConfig(prometheus_port=0, **files)
    assert missing in str(raised.value)
    env = {f"MISDK_{k.upper()}": v for k, v in files.items()}
    with pytest.raises(ValueError, match="MISDK_PROMETHEUS_") as raised:
        MetricConfig.from_env(env)
    assert missing in str(raised.value)


def test_unloadable_tls_file_is_a_config_error(tmp_path):
    """A file that holds no PEM certificate fails at construction, naming the path."""
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot load a PEM certificate") as raised:
        MetricConfig(prometheus_certfile=str(bad))
    assert str(bad) in str(raised.value)


def test_valid_tls_files_load(tmp_path):
    """A self-signed certificate and key pass the check, and load into an SSL context."""
    certfile, keyfile = self_signed(tmp_path)
    c = MetricConfig(prometheus_certfile=certfile, prometheus_keyfile=keyfile)
    assert c.prometheus_certfile == certfile
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)


def test_file_errors_name_the_file_and_the_field(tmp_path):
    """A bad value in a file names the file and the field; MISDK_CONFIG is named too."""
    path = tmp_path / "misdk.yaml"
    path.write_text("metrics:\n  collection_interval: 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="collection_interval must be") as raised:
        MetricConfig.from_file(path, env=False)
    assert str(raised.value).startswith(f"{path}: MetricConfig.collection_interval")
    with pytest.raises(ValueError, match="collection_interval must be") as raised:
        MetricConfig.from_env({"MISDK_CONFIG": str(path)})
    assert str(raised.value).startswith(f"MISDK_CONFIG: {path}: ")


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bad.yaml", "metrics: [unclosed\n", "is not valid YAML"),
        ("bad.toml", "[metrics\n", "is not valid TOML"),
        ("absent.yaml", None, "cannot read"),
    ],
    ids=["yaml", "toml", "missing"],
)
def test_unreadable_files_are_value_errors_naming_the_path(tmp_path, name, text, problem):
    """Syntax errors and missing files raise ValueError naming the path."""
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem) as raised:
        MetricConfig.from_file(path, env=False)
    assert str(path) in str(raised.value)


def test_env_value_errors_name_the_variable():
    """A value that parses but is invalid names the variable it came from."""
    with pytest.raises(ValueError, match="MISDK_MAX_MEMORY_METRICS") as raised:
        MetricConfig.from_env({"MISDK_MAX_MEMORY_METRICS": "0"})
    assert "max_memory_metrics must be an int >= 1" in str(raised.value)


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which unknown variables this process already warned about."""
    monkeypatch.setattr(config, "_warned_env", set())


def test_unknown_env_variable_warns_once_with_a_close_match(fresh_warnings, caplog):
    """A typo in a MISDK_* name is logged once per process, with the closest known name."""
    env = {"MISDK_PROMETHEUS_PROT": "9100", "MISDK_ZZZ_UNRELATED": "1", "MISDK_NODE_ID": "7"}
    with caplog.at_level(logging.WARNING, logger="medical_insurance_sdk.core.runtime.config"):
        MetricConfig.from_env(env)
        MetricConfig.from_env(env)
        MetricConfig().with_env(env)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "unknown environment variable MISDK_PROMETHEUS_PROT is ignored "
        "(did you mean MISDK_PROMETHEUS_PORT?)",
        "unknown environment variable MISDK_ZZZ_UNRELATED is ignored",
    ]


def test_known_env_variables_cover_every_field_and_the_readers():
    """Every field's variable and the variables other code reads are known (no warning)."""
    known = set(config.KNOWN_ENV_VARIABLES)
    assert {f"MISDK_{f.upper()}" for f in MetricConfig.__dataclass_fields__} <= known
    for name in ("MISDK_CONFIG", "MISDK_NODE_ID", "MISDK_HISTORY_PATH", "MISDK_LOG_FORMAT"):
        assert name in known
    assert config.warn_unknown_env(dict.fromkeys(known, "1")) == []


def test_repository_reads_no_unlisted_misdk_variable():
    """Every MISDK_* name in the package, tests and bench is in KNOWN_ENV_VARIABLES."""
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\bMISDK_[A-Z0-9_]*[A-Z0-9]\b")
    found: set[str] = set()
    for folder in ("medical_insurance_sdk", "bench", "tests"):
        for path in (root / folder).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    unknown = found - set(config.KNOWN_ENV_VARIABLES)
    assert unknown <= {"MISDK_PROMETHEUS_PROT", "MISDK_ZZZ_UNRELATED"}, unknown
