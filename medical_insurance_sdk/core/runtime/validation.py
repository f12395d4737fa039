"""Argument checks of the explicit API: each raises ``ValueError`` naming the problem."""

from __future__ import annotations

import math

__all__ = ["check_finite", "check_label", "check_positive", "check_size"]


def check_finite(name: str, value: object) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number (got {value!r})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite (got {value!r})")
    return number


def check_positive(name: str, value: object) -> float:
    """``value`` as a finite float > 0."""
    number = check_finite(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0 (got {value!r})")
    return number


def check_label(name: str, value: object) -> str:
    """``value`` as a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty str (got {value!r})")
    return value


def check_size(name: str, value: object) -> int:
    """``value`` as an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0 (got {value!r})")
    return value
