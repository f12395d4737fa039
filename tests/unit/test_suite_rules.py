"""The suite's own rules: tests use our public API only, and CI runs every test."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
PACKAGE = "medical_insurance_sdk"

#: Private names of other libraries that tests may use (``os._exit`` in a forked child).
FOREIGN = {"_exit"}

#: The client's frame-free recording channel is internal by design (a protocol between our
#: client and our collector, not public API); its own unit tests open it directly.
INTERNAL_PROTOCOL = {
    ("unit/test_channel.py", "_open_channel"),
    ("unit/test_hostile_labels.py", "_open_channel"),
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_reads(path: Path) -> list[tuple[int, str]]:
    """(line, name) of each private attribute, module or name of ours a test file reaches."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            assert node.module is not None
            parts = [p for p in node.module.split(".") if _private(p)]
            parts += [a.name for a in node.names if _private(a.name)]
            found += [(node.lineno, part) for part in parts]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            found.append((node.lineno, node.args[1].value))
    return [(line, name) for line, name in found if name not in FOREIGN]


def test_no_test_reads_private_attributes():
    """No test reaches a private attribute, module or function of ours (public API only)."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        if relative.startswith("data/"):  # verbatim copies of the original API's code
            continue
        offenders += [
            f"tests/{relative}:{line}: {name}"
            for line, name in _private_reads(path)
            if (relative, name) not in INTERNAL_PROTOCOL
        ]
    assert offenders == []


def test_the_slow_marker_is_used_and_make_test_runs_it():
    """`slow` marks real tests, and neither pytest's options nor `make test` deselect it."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^\s*"slow: ', pyproject, re.M)
    addopts = re.search(r"^addopts = (.*)$", pyproject, re.M)
    assert addopts is not None
    assert "-m" not in addopts.group(1).split()
    uses = re.compile(r"^\s*(@pytest\.mark\.slow\b|pytestmark = .*pytest\.mark\.slow\b)", re.M)
    marked = [
        path.name for path in TESTS.rglob("test_*.py") if uses.search(path.read_text("utf-8"))
    ]
    assert marked, "no test is marked slow: drop the marker or use it"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = re.findall(r"^\t.*pytest.*$", makefile, re.M)
    assert recipes
    assert all("not slow" not in recipe for recipe in recipes)


def _stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)


def test_make_servers_needs_root_only_when_a_server_is_missing(tmp_path: Path):
    """`make servers` (run by `make unit`) passes as non-root when all four are installed."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-get-calls"
    _stub(bin_dir, "id", "echo 1000")  # not root
    _stub(bin_dir, "apt-get", f'echo "$@" >> "{calls}"')
    for name in ("prometheus", "promtool", "prometheus-pushgateway", "victoria-metrics"):
        _stub(bin_dir, name, "exit 0")

    def servers() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [make, "-s", "servers"],
            cwd=ROOT,
            env={"PATH": str(bin_dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    installed = servers()
    assert (installed.returncode, installed.stdout, installed.stderr) == (0, "", "")
    (bin_dir / "promtool").unlink()
    missing = servers()
    assert missing.returncode != 0
    assert "promtool" in missing.stdout
    assert "run as root" in missing.stderr
    _stub(bin_dir, "promtool", "exit 0")
    (bin_dir / "victoria-metrics").unlink()
    missing = servers()
    assert missing.returncode != 0
    assert "missing: victoria-metrics" in missing.stdout
    assert "apt-get install -y prometheus prometheus-pushgateway victoria-metrics" in (
        missing.stderr
    )
    assert not calls.exists()
