"""Optional dependencies: availability checks and the one warning when one is missing."""

from __future__ import annotations

import logging
import threading

__all__ = ["is_available", "warn_missing"]

logger = logging.getLogger("medical_insurance_sdk.core")
_warned: set[str] = set()
_lock = threading.Lock()


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def warn_missing(feature: str, package: str, extra: str) -> None:
    """Log one warning per process for an optional package that is missing."""
    with _lock:
        if package in _warned:
            return
        _warned.add(package)
    logger.warning(
        "%s is off: the optional package %r is not installed (pip install "
        "'medical-insurance-sdk[%s]'). Recording, statistics and analysis still work.",
        feature,
        package,
        extra,
    )
