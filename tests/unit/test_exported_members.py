"""The public API: every package's ``__all__`` is sorted, complete and resolves; README agrees.

Modelled on httpx's tests/test_exported_members.py: each package ``__init__`` lists exactly
the public names it defines or re-exports, every listed name exists (lazy ones included)
and comes from this package, and every class or function of ours the package exposes is
listed. README's imports resolve from the entry points a newcomer looks at.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import medical_insurance_sdk
from medical_insurance_sdk import core

PACKAGE = "medical_insurance_sdk"
README = Path(__file__).resolve().parents[2] / "README.md"

#: Where README imports from: the package entry points, nothing private-looking.
ENTRY_POINTS = (
    PACKAGE,
    f"{PACKAGE}.core",
    f"{PACKAGE}.client",
    f"{PACKAGE}.simulator",
    f"{PACKAGE}.rules",
)

#: Every package of the distribution (an ``__init__`` each), found, not listed by hand.
PACKAGES = sorted(
    [PACKAGE]
    + [
        info.name
        for info in pkgutil.walk_packages(medical_insurance_sdk.__path__, f"{PACKAGE}.")
        if info.ispkg
    ]
)

#: Modules (not packages) whose ``__all__`` is part of the documented surface too.
MODULES = [
    f"{PACKAGE}.exceptions",
    f"{PACKAGE}.logging_setup",
    f"{PACKAGE}.simulator.testing",
    f"{PACKAGE}.redaction",
]

SEED_NAMES = {
    "MetricsCollector",
    "MetricConfig",
    "APICallMetric",
    "PerformanceMetric",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "monitor_api_call",
}


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def _bound_names(module: ModuleType) -> set[str]:
    """Public names the module's top level defines or imports from this package (its source).

    Lazy (PEP 562) names count too: the ones ``dir()`` lists beyond the module's namespace,
    and those imported under ``if TYPE_CHECKING:`` for type checkers (a lazy name stays
    lazy in the source once a first access has put it in the namespace).
    """
    names: set[str] = set()
    body = ast.parse(inspect.getsource(module)).body
    checking = [
        statement
        for node in body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
    ]
    for node in [*body, *checking]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            names.update(alias.asname or alias.name for alias in node.names)
    lazy = set(dir(module)) - set(vars(module))
    return {n for n in names | lazy if not n.startswith("_")}


def _ours(value: object) -> bool:
    return getattr(value, "__module__", "").partition(".")[0] == PACKAGE


def test_every_package_is_checked():
    """The package list is discovered and holds every entry point README may import from."""
    assert set(ENTRY_POINTS) <= set(PACKAGES)
    assert {f"{PACKAGE}.cli", f"{PACKAGE}.core.analysis"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_all_is_sorted_and_exactly_its_public_names(name: str) -> None:
    """__all__ is sorted (ruff's order), without duplicates, and equals the names it binds."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=isort_key)
    assert len(exported) == len(set(exported))
    assert set(exported) - {"__version__"} == _bound_names(module)
    assert ("__version__" in exported) == (name == PACKAGE)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_exist_and_come_from_the_package(name: str) -> None:
    """Every name in __all__ resolves (lazy ones too) and our classes/functions are ours."""
    module = importlib.import_module(name)
    assert set(module.__all__) <= set(dir(module))
    for member in module.__all__:
        value = getattr(module, member)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert _ours(value), f"{name}.{member} comes from {value.__module__}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_class_or_function_of_ours_a_package_exposes_is_exported(name: str) -> None:
    """No public class or function of the package is reachable but missing from __all__."""
    module = importlib.import_module(name)
    missing = [
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and _ours(value)
        and member not in module.__all__
    ]
    assert missing == []


@pytest.mark.parametrize("name", MODULES)
def test_module_all_is_sorted_and_importable(name: str) -> None:
    """Every name in the module's __all__ exists, and the list is sorted as ruff sorts it."""
    module = importlib.import_module(name)
    assert list(module.__all__) == sorted(module.__all__, key=isort_key)
    for member in module.__all__:
        assert getattr(module, member) is not None, member


def test_top_level_exports_the_whole_exception_tree():
    """Every exception class (and enum) of medical_insurance_sdk.exceptions is top-level."""
    from medical_insurance_sdk import exceptions

    classes = {
        n
        for n, v in vars(exceptions).items()
        if inspect.isclass(v) and v.__module__ == exceptions.__name__
    }
    assert {"NetworkCause", "GatewayAuthReason", "SessionError"} <= classes
    assert classes == set(exceptions.__all__)
    for member in classes:
        assert getattr(medical_insurance_sdk, member) is getattr(exceptions, member)


def test_core_exports_the_seed_api():
    """medical_insurance_sdk.core exports every name the original API imports."""
    assert set(core.__all__) >= SEED_NAMES
    for name in core.__all__:
        assert getattr(core, name) is not None


def test_client_surface() -> None:
    """The two clients and the catalog helpers are reachable from the client package."""
    client = importlib.import_module(f"{PACKAGE}.client")
    assert {
        "AsyncMedicalInsuranceClient",
        "MedicalInsuranceClient",
        "get_interface",
        "RetryPolicy",
        "ResponseCache",
        "Timeouts",
    } <= set(client.__all__)


def _readme_imports() -> list[tuple[str, str, int]]:
    """(module, name, README line) of every ``from medical_insurance_sdk... import`` in a
    ```python block; ``import medical_insurance_sdk...`` statements as (module, "", line)."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```python[^\n]*\n(.*?)^```", text, re.M | re.S):
        first = text.count("\n", 0, match.start()) + 1
        for node in ast.walk(ast.parse(match.group(1))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                assert node.module is not None
                found += [(node.module, a.name, first + node.lineno) for a in node.names]
            elif isinstance(node, ast.Import):
                found += [
                    (a.name, "", first + node.lineno)
                    for a in node.names
                    if a.name.startswith(PACKAGE)
                ]
    return found


README_IMPORTS = _readme_imports()


def test_readme_has_imports_to_check():
    """The README parser finds the imports of the examples (the clients, core, simulator)."""
    modules = {module for module, _, _ in README_IMPORTS}
    assert {PACKAGE, f"{PACKAGE}.core", f"{PACKAGE}.client", f"{PACKAGE}.simulator"} <= modules


@pytest.mark.parametrize(
    ("module", "name", "line"),
    README_IMPORTS,
    ids=[f"README.md:{line}:{module}.{name}" for module, name, line in README_IMPORTS],
)
def test_readme_import_resolves_from_an_entry_point(module: str, name: str, line: int) -> None:
    """README imports each name from a package entry point, where it is exported."""
    assert module in ENTRY_POINTS, f"README.md:{line} imports from {module}"
    imported = importlib.import_module(module)
    if name:
        assert name in imported.__all__, f"README.md:{line}: {name} not in {module}.__all__"
        assert getattr(imported, name) is not None


def test_importing_the_package_does_not_import_prometheus_client():
    """`import medical_insurance_sdk` (and .core) leaves prometheus_client unimported."""
    code = (
        "import sys, medical_insurance_sdk, medical_insurance_sdk.core as core\n"
        "assert 'start_metrics_server' in dir(core)\n"
        "print('prometheus_client' in sys.modules)\n"
        "core.start_metrics_server\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_importing_the_package_loads_neither_the_collector_nor_numpy():
    """`import medical_insurance_sdk` (clients, exceptions) loads no collector, store or numpy."""
    heavy = (
        "numpy",
        "prometheus_client",
        f"{PACKAGE}.core.metrics_collector",
        f"{PACKAGE}.core.collection.store",
        f"{PACKAGE}.core.performance_analyzer",
    )
    code = (
        "import sys, medical_insurance_sdk, medical_insurance_sdk.exceptions\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_initialize_replaces_global_collector():
    """initialize_metrics_collector installs a new process-wide collector."""
    from medical_insurance_sdk.core import MetricConfig

    first = core.get_metrics_collector()
    second = core.initialize_metrics_collector(MetricConfig(prometheus_port=0, background=False))
    assert second is not first
    assert core.get_metrics_collector() is second
