"""The package's layers import downwards only (import-linter checks the same in `make lint`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import medical_insurance_sdk

PACKAGE_DIR = Path(medical_insurance_sdk.__file__).parent


def _imports(path: Path) -> set[str]:
    """What ``path`` imports of this package (lazy imports included), as ``module.name``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("medical_insurance_sdk")}


def _modules_under(*parts: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE_DIR)): _imports(path)
        for part in parts
        for path in sorted((PACKAGE_DIR / part).rglob("*.py"))
    }


def test_protocol_rules_and_core_never_import_the_client():
    """The protocol, the rules generator and core (the analyzer too) import no client module."""
    offenders = {
        module: sorted(n for n in names if n.startswith("medical_insurance_sdk.client"))
        for module, names in _modules_under("protocol", "rules", "core").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_no_module_outside_the_client_imports_its_private_modules():
    """The simulator (and everything else) uses no ``client._*`` module."""
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): sorted(
            n for n in _imports(path) if n.startswith("medical_insurance_sdk.client._")
        )
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path.parent.name != "client"
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_the_bottom_modules_import_nothing_of_the_package_above_them():
    """redaction and optional import only the standard library; exceptions only redaction."""
    assert _imports(PACKAGE_DIR / "redaction.py") == set()
    assert _imports(PACKAGE_DIR / "optional.py") == set()
    assert _imports(PACKAGE_DIR / "exceptions.py") == {"medical_insurance_sdk.redaction.mask_text"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, lazy and type-checking imports included."""
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        edges = set()
        for name in _imports(path):
            # ``from pkg import module`` names the module; ``from module import name`` the module
            target = name if name in modules else name.rpartition(".")[0]
            if target in modules:
                edges.add(target)
        name = _module_name(path)
        graph[name] = edges - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_not_even_behind_lazy_or_type_checking_imports():
    """No two modules import each other, directly or around a loop, however they import."""
    graph = _import_graph()
    assert "medical_insurance_sdk.core.collection.tracking" in graph
    assert _cycles(graph) == []


def test_the_import_linter_contracts_are_kept():
    """`lint-imports` (run by `make lint`) keeps every contract of pyproject.toml."""
    root = PACKAGE_DIR.parent
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 kept, 0 broken" in proc.stdout
