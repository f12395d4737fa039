"""The package's layers import downwards only (import-linter checks the same in `make lint`)."""

from __future__ import annotations

import ast
from pathlib import Path

import medical_insurance_sdk

PACKAGE_DIR = Path(medical_insurance_sdk.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module of this package that ``path`` imports (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
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
    assert _imports(PACKAGE_DIR / "exceptions.py") == {
        "medical_insurance_sdk.redaction",
        "medical_insurance_sdk.redaction.mask_text",
    }
