"""History: sources of rollups (the embedded history, Prometheus, memory) for the analyzer."""

from __future__ import annotations

from medical_insurance_sdk.core.history.source import (
    MemorySource,
    RollupSource,
    SourceError,
    check_window,
)

__all__ = ["MemorySource", "RollupSource", "SourceError", "check_window"]
