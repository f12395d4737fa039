"""The original API's code blocks (监控装饰器, MetricConfig配置, 使用示例) run verbatim.

They are kept, character for character, in ``tests/data/seed_python_blocks.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medical_insurance_sdk.core import MetricConfig, get_metrics_collector, monitor_api_call

ROOT = Path(__file__).resolve().parents[2]
COPY = ROOT / "tests" / "data" / "seed_python_blocks.md"


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


BLOCKS = _blocks(COPY.read_text(encoding="utf-8"))


def test_the_copy_holds_the_four_blocks():
    """The copy in tests/data holds the original API's four Python blocks."""
    assert len(BLOCKS) == 4
    assert "@monitor_api_call" in BLOCKS[0]


def test_decorator_block_runs_and_records(capsys):
    """监控装饰器: the decorated function records a 1101/test_org call."""
    namespace = {"monitor_api_call": monitor_api_call}
    exec(BLOCKS[0], namespace)
    namespace["my_function"]()
    stats = get_metrics_collector().get_api_statistics(60)
    assert stats["api_breakdown"]["1101"]["count"] == 1
    (call,) = get_metrics_collector().get_recent_calls()
    assert (call.api_code, call.org_code, call.status) == ("1101", "test_org", "success")


@pytest.mark.parametrize("index", [1, 3], ids=["MetricConfig配置", "生产环境推荐配置"])
def test_config_blocks_run(index):
    """The two MetricConfig blocks construct valid configs."""
    namespace: dict[str, object] = {"MetricConfig": MetricConfig}
    exec(BLOCKS[index], namespace)
    config = namespace["config"]
    assert isinstance(config, MetricConfig)
    assert config.prometheus_port == 8000


def test_usage_block_runs_verbatim(capsys):
    """使用示例: record a call, print the success rate and the analyzer's score."""
    exec(BLOCKS[2], {})
    out = capsys.readouterr().out
    assert "成功率: 100.00%" in out
    score = re.search(r"性能评分: ([0-9.]+)", out)
    assert score is not None
    assert 0.0 <= float(score.group(1)) <= 100.0
