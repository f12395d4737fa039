"""Timing helpers: interleaved rounds, best-of, per-operation microseconds."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["best_per_op_us", "compare"]


def best_per_op_us(fn: Callable[[], None], n: int, rounds: int = 7) -> float:
    """Best (least disturbed) microseconds per call of ``fn`` over ``rounds`` x ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return best


def compare(fns: dict[str, Callable[[], None]], n: int, rounds: int = 7) -> dict[str, float]:
    """Best per-op microseconds of each function, rounds interleaved so noise hits all."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    return best
