"""The project speaks for itself: no reference a reader of the repository cannot follow."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: "the seed" (the task summary, not in the repo), "issue 3" (a tracker the reader lacks).
UNFOLLOWABLE = re.compile(r"\bthe seed\b|\bseed's|\bseed fields\b|\bissue \d", re.IGNORECASE)


def _texts() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in ("medical_insurance_sdk", "bench", "docs", "tests"):
        files += [
            p
            for p in sorted((ROOT / folder).rglob("*"))
            if p.suffix in (".py", ".md", ".yaml", ".yml") and p.name != Path(__file__).name
        ]
    return files


def test_no_reference_to_the_seed_or_to_issue_numbers():
    """No file of the repository cites "the seed" or "issue N"."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _texts()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNFOLLOWABLE.search(line)
    ]
    assert found == []


def test_the_seed_compatibility_tests_read_only_files_of_the_repository():
    """test_seed_examples.py runs the copy in tests/data, never a file outside the repo."""
    source = (ROOT / "tests" / "unit" / "test_seed_examples.py").read_text(encoding="utf-8")
    assert "ROOT.parent" not in source
    assert "seed_python_blocks.md" in source


def test_modules_and_classes_are_named_for_what_they_do():
    """push.py pushes, LabelledNumbers holds gauges and counters, the store folds (one verb)."""
    import importlib.util

    from medical_insurance_sdk.core.collection import labelled_numbers
    from medical_insurance_sdk.core.collection.store import CallStore
    from medical_insurance_sdk.core.export import prometheus_export, push

    assert importlib.util.find_spec("medical_insurance_sdk.core.exposition") is None
    assert importlib.util.find_spec("medical_insurance_sdk.core.gauges") is None
    assert callable(push.push_registry)
    assert labelled_numbers.__all__ == ["LabelledNumbers"]
    assert "AggregatesCollector" in prometheus_export.__all__
    assert "SdkMetricsCollector" not in vars(prometheus_export)
    assert callable(CallStore.fold)
    assert not hasattr(CallStore, "flush")
