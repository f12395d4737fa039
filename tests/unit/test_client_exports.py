"""The client, simulator and exceptions packages export sorted, complete __all__ lists."""

from __future__ import annotations

import importlib

import pytest


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize(
    "module",
    [
        "medical_insurance_sdk.client",
        "medical_insurance_sdk.exceptions",
        "medical_insurance_sdk.simulator",
        "medical_insurance_sdk.simulator.testing",
        "medical_insurance_sdk.core.redaction",
    ],
)
def test_all_is_sorted_and_importable(module: str) -> None:
    """Every name in __all__ exists, and the list is sorted as ruff sorts it."""
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__, key=isort_key)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_client_surface() -> None:
    """The two clients and the catalog helpers are reachable from the client package."""
    client = importlib.import_module("medical_insurance_sdk.client")
    assert {
        "AsyncMedicalInsuranceClient",
        "MedicalInsuranceClient",
        "get_interface",
        "RetryPolicy",
        "ResponseCache",
        "Timeouts",
    } <= set(client.__all__)
