"""Per-API threshold overrides from a YAML or TOML file, for the rules *and* the analyzer.

The file maps ``api_code`` to any of :class:`PerformanceThreshold`'s fields; omitted
fields keep the class default (codes outside the catalog default to the transaction
class, exactly as in the analyzer). The table may sit at the top level or under
``thresholds``::

    thresholds:
      "2207": {max_response_time_ms: 8000, max_error_rate: 0.01}
      "1101": {max_response_time_ms: 1500}

Feed the same mapping to the analyzer so both judge alike::

    for code, threshold in load_thresholds("thresholds.yml").items():
        analyzer.set_threshold(code, threshold)
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, default_threshold

__all__ = ["ThresholdsFileError", "load_thresholds", "parse_thresholds"]

_FIELDS = frozenset(f.name for f in dataclasses.fields(PerformanceThreshold)) - {"api_code"}


class ThresholdsFileError(ValueError):
    """The thresholds file cannot be read or holds an invalid entry (named in the message)."""


def parse_thresholds(data: Any, source: str = "thresholds") -> dict[str, PerformanceThreshold]:
    """Validate a decoded mapping ``{api_code: {field: value}}`` into thresholds."""
    if isinstance(data, dict) and "thresholds" in data:
        data = data["thresholds"]
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ThresholdsFileError(f"{source}: expected a mapping of api_code to thresholds")
    out: dict[str, PerformanceThreshold] = {}
    for raw_code, values in data.items():
        code = str(raw_code)
        if not isinstance(values, dict):
            raise ThresholdsFileError(f"{source}: {code}: expected a mapping of fields")
        unknown = sorted(set(values) - _FIELDS)
        if unknown:
            raise ThresholdsFileError(
                f"{source}: {code}: unknown field(s) {', '.join(map(str, unknown))}; "
                f"allowed: {', '.join(sorted(_FIELDS))}"
            )
        try:
            out[code] = dataclasses.replace(default_threshold(code), api_code=code, **values)
        except (TypeError, ValueError) as exc:
            raise ThresholdsFileError(f"{source}: {code}: {exc}") from exc
    return out


def load_thresholds(path: str | os.PathLike[str]) -> dict[str, PerformanceThreshold]:
    """Read a ``.yml``/``.yaml`` or ``.toml`` thresholds file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdsFileError(f"{p}: {exc.strerror or exc}") from exc
    suffix = p.suffix.lower()
    data: Any
    if suffix in (".yml", ".yaml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ThresholdsFileError(f"{p}: {exc}") from exc
    elif suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ThresholdsFileError(f"{p}: {exc}") from exc
    else:
        raise ThresholdsFileError(f"{p}: unsupported file type {p.suffix!r} (.yml/.toml)")
    return parse_thresholds(data, str(p))
