"""Graceful degradation: without prometheus_client or psutil, one warning, still working."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import medical_insurance_sdk

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, logging, sys
    BLOCKED = set(sys.argv[1].split(","))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Block())
    logging.basicConfig(level=logging.WARNING, format="WARN %(message)s")
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector, monitor_api_call

    cfg = MetricConfig(prometheus_port=0, background=False)
    collectors = [MetricsCollector(cfg) for _ in range(3)]
    c = collectors[0]
    for i in range(10):
        with c.track("2207", "H1") as call:
            if i % 5 == 0:
                call.fail("E1")
    c.record_custom_metric("queue", 3)
    stats = c.get_api_statistics(60)
    assert stats["total_calls"] == 10, stats
    assert stats["failed_calls"] == 2, stats
    print("EXPOSITION", repr(c.get_prometheus_metrics()))
    print("SYSTEM", c.get_system_metrics()["available"])
    for x in collectors:
        x.shutdown()
    print("OK")
    """
)


@pytest.mark.parametrize(
    ("blocked", "feature"),
    [("prometheus_client", "Prometheus export"), ("psutil", "System metrics")],
    ids=["no-prometheus_client", "no-psutil"],
)
def test_missing_optional_dependency_warns_once_and_keeps_working(blocked, feature):
    """With an optional dependency blocked, exactly one warning names it; stats still work."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, blocked],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 1, proc.stderr
    assert feature in warnings[0]
    assert blocked in warnings[0]
    assert (
        f"medical-insurance-sdk[{'prometheus' if blocked != 'psutil' else 'system'}]"
        in (warnings[0])
    )
    if blocked == "prometheus_client":
        assert "EXPOSITION ''" in proc.stdout
    else:
        assert "SYSTEM False" in proc.stdout


HOOK_SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {"opentelemetry", "matplotlib"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Block())
    from medical_insurance_sdk.client.tracing import Tracer
    from medical_insurance_sdk.optional import is_available

    print("OTEL", Tracer().uses_otel, is_available("opentelemetry.trace"))
    print("CHARTS", is_available("matplotlib"))
    """
)


def test_an_import_hook_refusing_a_package_means_not_installed_for_every_feature():
    """A package an import hook refuses is "not installed" for tracing and charts alike."""
    proc = subprocess.run(
        [sys.executable, "-c", HOOK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OTEL False False" in proc.stdout
    assert "CHARTS False" in proc.stdout


def _probes_installation(func: ast.FunctionDef) -> bool:
    """Whether ``func`` answers "is X installed": find_spec, or import-and-return-a-bool."""
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and node.attr == "find_spec":
            return True
        if isinstance(node, ast.Try):
            imports = any(
                isinstance(n, ast.Import | ast.ImportFrom)
                or (
                    isinstance(n, ast.Call)
                    and getattr(n.func, "attr", getattr(n.func, "id", ""))
                    in ("import_module", "__import__")
                )
                for statement in node.body
                for n in ast.walk(statement)
            )
            returns_false = any(
                isinstance(n, ast.Return)
                and isinstance(n.value, ast.Constant)
                and n.value.value is False
                for handler in node.handlers
                for n in handler.body
            )
            if imports and returns_false:
                return True
    return False


def test_only_optional_checks_whether_a_package_is_installed():
    """One "is this package installed" helper (optional.is_available); no copies."""
    package = Path(medical_insurance_sdk.__file__).parent
    probes = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and _probes_installation(node):
                probes.append(f"{path.relative_to(package)}:{node.name}")
    assert probes == ["optional.py:is_available"]


LAZY_SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "prometheus_client":
                raise ImportError(f"blocked {name}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    import medical_insurance_sdk.core as core

    print("LISTED", "start_metrics_server" in core.__all__ and "MetricsServer" in dir(core))
    try:
        from medical_insurance_sdk.core import start_metrics_server
    except ImportError as exc:
        print("ERROR", exc)
    """
)


def test_core_server_names_without_prometheus_client_name_the_extra():
    """Without prometheus_client, .core imports; its /metrics names raise naming the extra."""
    proc = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "LISTED True" in proc.stdout
    assert "ERROR start_metrics_server 需要可选依赖 prometheus-client" in proc.stdout
    assert "medical-insurance-sdk[prometheus]" in proc.stdout


OTEL_SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = sys.argv[1]

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == BLOCKED or name.startswith(BLOCKED + "."):
                raise ImportError(f"blocked {name}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    from medical_insurance_sdk import configure_tracing

    print("SDK LOADED", "opentelemetry.sdk.trace" in sys.modules)
    try:
        configure_tracing("his", set_global=False)
    except ValueError as exc:
        print("ERROR", exc)
    """
)


@pytest.mark.parametrize(
    "blocked",
    ["opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"],
    ids=["no-sdk", "no-otlp-exporter"],
)
def test_configure_tracing_without_the_otel_extra_names_it(blocked: str) -> None:
    """`import medical_insurance_sdk` loads no OpenTelemetry SDK; without the [otel] packages
    configure_tracing raises ValueError naming the extra."""
    proc = subprocess.run(
        [sys.executable, "-c", OTEL_SCRIPT, blocked],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SDK LOADED False" in proc.stdout
    assert "ERROR " in proc.stdout
    assert "pip install 'medical-insurance-sdk[otel]'" in proc.stdout
