"""Timeouts per interface category.

A catalog download may take a minute while a sign-in should answer in seconds, so the read
timeout depends on the category of the interface; the connect timeout is shared. The
httpx timeout objects are built once, at construction.

A timeout bounds one wait (one read); a call's *deadline* bounds the whole call. With a
deadline, each attempt's timeouts are cut to what it leaves (:func:`cut_to_deadline`), and
between two chunks of an answer the next read is cut again (:func:`shorten_read`: httpcore
reads the request's ``timeout`` extension before every read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from medical_insurance_sdk.protocol.catalog import Category

__all__ = ["DEFAULT_READ_TIMEOUTS", "Timeouts", "check_deadline", "cut_to_deadline", "shorten_read"]

#: Default read timeouts in seconds per category.
DEFAULT_READ_TIMEOUTS: Mapping[Category, float] = {
    Category.SYSTEM: 10.0,
    Category.BASIC: 10.0,
    Category.CATALOG: 60.0,
    Category.SETTLEMENT: 15.0,
    Category.PHARMACY: 30.0,
    Category.OUTPATIENT: 30.0,
    Category.INPATIENT: 30.0,
    Category.COMPENSATION: 30.0,
    Category.RECONCILIATION: 60.0,
    Category.UPLOAD: 30.0,
    Category.QUERY: 15.0,
    Category.FILE: 120.0,
    Category.OTHER: 30.0,
}


@dataclass(frozen=True)
class Timeouts:
    """Connect timeout, default read timeout and per-category read timeouts (seconds)."""

    connect: float = 3.0
    read: float = 30.0
    per_category: Mapping[Category, float] = field(
        default_factory=lambda: dict(DEFAULT_READ_TIMEOUTS)
    )
    pool: float = 5.0
    _built: dict[Category, httpx.Timeout] = field(init=False, repr=False, compare=False)
    _default: httpx.Timeout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = [self.connect, self.read, self.pool, *self.per_category.values()]
        if any(value <= 0 for value in values):
            raise ValueError("timeouts must be positive")
        built = {
            category: httpx.Timeout(
                connect=self.connect, read=seconds, write=seconds, pool=self.pool
            )
            for category, seconds in self.per_category.items()
        }
        object.__setattr__(self, "_built", built)
        object.__setattr__(
            self,
            "_default",
            httpx.Timeout(connect=self.connect, read=self.read, write=self.read, pool=self.pool),
        )

    @classmethod
    def uniform(cls, seconds: float, *, connect: float | None = None) -> Timeouts:
        """The same read timeout for every category."""
        return cls(
            connect=connect if connect is not None else min(seconds, 3.0),
            read=seconds,
            per_category=dict.fromkeys(Category, seconds),
        )

    def for_category(self, category: Category) -> httpx.Timeout:
        """The httpx timeout for an interface of ``category``."""
        return self._built.get(category, self._default)


def check_deadline(deadline: float | None) -> float | None:
    """``deadline`` (seconds) when it is None or positive; ValueError otherwise."""
    if deadline is not None and not deadline > 0:
        raise ValueError(f"deadline must be a positive number of seconds (got {deadline!r})")
    return deadline


def _cut(value: float | None, left: float) -> float:
    return left if value is None else min(value, left)


def cut_to_deadline(timeout: httpx.Timeout, left: float) -> httpx.Timeout:
    """``timeout`` with no phase longer than the ``left`` seconds of a deadline."""
    return httpx.Timeout(
        connect=_cut(timeout.connect, left),
        read=_cut(timeout.read, left),
        write=_cut(timeout.write, left),
        pool=_cut(timeout.pool, left),
    )


def shorten_read(extensions: Mapping[str, Any], read: float | None, left: float) -> None:
    """Make the next read of a streaming answer wait at most ``left`` seconds (in place)."""
    timeouts = extensions.get("timeout")
    if isinstance(timeouts, dict):
        timeouts["read"] = _cut(read, left)
