"""History: sources of rollups (the embedded history, Prometheus, memory) for the analyzer."""

from __future__ import annotations

from medical_insurance_sdk.core.history.reader import HistorySource, HistorySummary, WriterInfo
from medical_insurance_sdk.core.history.recorder import HistoryRecorder
from medical_insurance_sdk.core.history.retention import PruneResult
from medical_insurance_sdk.core.history.schema import SCHEMA_VERSION
from medical_insurance_sdk.core.history.source import (
    MemorySource,
    RollupSource,
    SourceError,
    check_window,
)
from medical_insurance_sdk.core.history.writer import HistoryWriter

__all__ = [
    "SCHEMA_VERSION",
    "HistoryRecorder",
    "HistorySource",
    "HistorySummary",
    "HistoryWriter",
    "MemorySource",
    "PruneResult",
    "RollupSource",
    "SourceError",
    "WriterInfo",
    "check_window",
]
