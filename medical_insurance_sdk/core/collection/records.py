"""``APICallMetric``: one stored call as a record (the original API's type)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["APICallMetric"]


@dataclass(frozen=True)
class APICallMetric:
    """A finished API call. Times are epoch seconds; ``error_message`` is masked."""

    api_code: str
    org_code: str
    start_time: float
    end_time: float
    duration_ms: float
    status: str
    error_code: str | None = None
    error_message: str | None = None
    request_size: int = 0
    response_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_snapshot(cls, snap: CallSnapshot, start: int = 0) -> list[APICallMetric]:
        """Rows ``start:`` of a snapshot as records."""
        out = []
        for i in range(start, len(snap)):
            err = int(snap.error[i])
            msg = int(snap.message[i])
            end = float(snap.timestamp[i])
            duration = float(snap.duration[i])
            out.append(
                cls(
                    api_code=snap.api_codes[int(snap.api[i])],
                    org_code=snap.org_codes[int(snap.org[i])],
                    start_time=end - duration,
                    end_time=end,
                    duration_ms=duration * 1000.0,
                    status="success" if snap.success[i] else "error",
                    error_code=snap.error_codes[err] if err >= 0 else None,
                    error_message=snap.messages[msg] if msg >= 0 else None,
                    request_size=int(snap.request_size[i]),
                    response_size=int(snap.response_size[i]),
                )
            )
        return out
