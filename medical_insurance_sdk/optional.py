"""Optional dependencies: availability checks and the one warning when one is missing.

:func:`is_available` is the package's only "is this installed" check: the collector
(prometheus_client, psutil), the tracer (opentelemetry) and the HTML report's charts
(matplotlib) all ask it, so they agree on what "installed" means.
"""

from __future__ import annotations

import importlib
import logging
import threading

__all__ = ["is_available", "warn_missing"]

logger = logging.getLogger("medical_insurance_sdk.core")
_warned: set[str] = set()
_lock = threading.Lock()


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported (it is imported: a broken install counts as missing).

    Any :class:`ImportError` on the way (not found, a dependency of it missing, an import
    hook refusing it) means "not available"; the result is not cached, so a package
    installed later is seen.
    """
    try:
        importlib.import_module(module)
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
