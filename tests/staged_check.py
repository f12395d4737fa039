"""Checks a staged record against the one definition (for the building sites' tests)."""

from __future__ import annotations

from typing import Any, get_type_hints

from medical_insurance_sdk.core.collection.staged import STAGED_WIDTH, StagedCall

HINTS = get_type_hints(StagedCall)


def staged_call(fields: list[Any]) -> StagedCall:
    """The one staged record in ``fields``, checked field by field against StagedCall."""
    assert len(fields) == STAGED_WIDTH == len(HINTS)
    call = StagedCall(*fields)
    for name, hint in HINTS.items():
        value = getattr(call, name)
        assert isinstance(value, hint), (name, value)
        assert (type(value) is bool) == (hint is bool), (name, value)
    assert call.end_ns >= call.start_ns
    return call
