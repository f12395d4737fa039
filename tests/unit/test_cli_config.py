"""`misdk config --example`: the packaged example configuration, valid for MetricConfig."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.cli.config_cmd import example_config_text
from medical_insurance_sdk.core import MetricConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "medical_insurance_sdk" / "data" / "misdk.example.yaml"


def test_example_prints_a_config_that_metric_config_loads(tmp_path, capsys):
    """The printed YAML, saved as a file, loads with MetricConfig.from_file."""
    assert main(["config", "--example"]) == 0
    printed = capsys.readouterr().out
    assert printed == example_config_text()
    saved = tmp_path / "misdk.yaml"
    saved.write_text(printed, encoding="utf-8")
    config = MetricConfig.from_file(saved, env=False)
    assert (config.prometheus_port, config.retention_days) == (8000, 30)
    assert config == MetricConfig.from_mapping(yaml.safe_load(printed)["metrics"])


def test_example_is_package_data_and_equals_the_repository_copy():
    """The example ships inside the package (pyproject package-data) and examples/ has the
    same text, so the README needs neither the repository nor a second version."""
    assert PACKAGED.read_text(encoding="utf-8") == example_config_text()
    assert (ROOT / "examples" / "misdk.yaml").read_text(encoding="utf-8") == example_config_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["medical_insurance_sdk"]
    package = ROOT / "medical_insurance_sdk"
    assert any(PACKAGED in package.glob(pattern) for pattern in globs)


def test_config_without_a_request_exits_2(capsys):
    """`misdk config` alone says what to ask for and exits 2."""
    assert main(["config"]) == 2
    assert "--example" in capsys.readouterr().err
