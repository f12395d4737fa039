"""The simulator's file store: bounded by count and bytes, oldest evicted, files expire."""

from __future__ import annotations

import pytest

from medical_insurance_sdk.core.runtime.clock import ManualClock
from medical_insurance_sdk.simulator.files import FileStore

ORG = "H43010500001"


def test_oldest_files_are_evicted_beyond_the_count() -> None:
    """The third upload into a two-file store evicts the first one, and counts it."""
    store = FileStore(2, 1000, 60)
    for number in ("FQ1", "FQ2", "FQ3"):
        store.put(number, f"{number}.txt", ORG, b"abc")
    assert store.get("FQ1") is None
    kept = [store.get(number) for number in ("FQ2", "FQ3")]
    assert [stored.content if stored else None for stored in kept] == [b"abc", b"abc"]
    assert store.stats() == {
        "stored": 2,
        "bytes": 6,
        "uploaded": 3,
        "evicted": 1,
        "max_files": 2,
        "max_bytes": 1000,
    }


def test_oldest_files_are_evicted_beyond_the_bytes() -> None:
    """A large upload evicts as many old files as it needs to fit the byte bound."""
    store = FileStore(10, 10, 60)
    store.put("FQ1", "a", ORG, b"1234")
    store.put("FQ2", "b", ORG, b"5678")
    store.put("FQ3", "c", ORG, b"12345678")
    assert store.get("FQ1") is None
    assert store.get("FQ2") is None
    assert store.get("FQ3") is not None
    assert store.stats()["evicted"] == 2
    assert store.stats()["bytes"] == 8


def test_a_file_larger_than_the_store_is_refused() -> None:
    """put() refuses content above max_bytes instead of emptying the store."""
    store = FileStore(10, 4, 60)
    store.put("FQ1", "a", ORG, b"1234")
    with pytest.raises(ValueError, match="larger than the store"):
        store.put("FQ2", "b", ORG, b"12345")
    assert store.get("FQ1") is not None


def test_files_expire_after_their_ttl(clock: ManualClock) -> None:
    """A file is served until its dld_endtime, then dropped (not counted as evicted)."""
    store = FileStore(10, 100, 60, clock=clock.wall)
    stored = store.put("FQ1", "a", ORG, b"abc")
    assert stored.expires == clock.wall() + 60
    clock.advance(59)
    assert store.get("FQ1") is not None
    clock.advance(1)
    assert store.get("FQ1") is None
    assert store.stats()["stored"] == 0
    assert store.stats()["bytes"] == 0
    assert store.stats()["evicted"] == 0


@pytest.mark.parametrize(
    ("max_files", "max_bytes", "ttl"),
    [(0, 10, 1.0), (1, 0, 1.0), (1, 10, 0.0)],
    ids=["no-files", "no-bytes", "no-ttl"],
)
def test_bounds_must_be_positive(max_files: int, max_bytes: int, ttl: float) -> None:
    """A store that could hold nothing is a configuration error, raised at construction."""
    with pytest.raises(ValueError, match="must be positive"):
        FileStore(max_files, max_bytes, ttl)
