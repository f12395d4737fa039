"""The response cache: TTL, LRU bound, hashed keys, copies."""

from __future__ import annotations

from medical_insurance_sdk.client.cache import ResponseCache


class ManualClock:
    """A monotonic clock moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


INPUT = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440106199001011235"}}


def test_hit_after_put_and_expiry_after_ttl() -> None:
    """An entry is served until its TTL, never after."""
    clock = ManualClock()
    cache = ResponseCache(ttl=10, personal_ttl=2, clock=clock)
    key = cache.key("ORG", "1301", {"data": {}}, None)
    assert cache.get(key) is None
    cache.put(key, {"rows": [1]}, personal=False)
    clock.now += 9.9
    assert cache.get(key) == {"rows": [1]}
    clock.now += 0.2
    assert cache.get(key) is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (1, 2, 0)
    assert stats.hit_ratio == 1 / 3


def test_personal_entries_use_the_short_ttl() -> None:
    """Personal outputs expire after personal_ttl."""
    clock = ManualClock()
    cache = ResponseCache(ttl=300, personal_ttl=2, clock=clock)
    key = cache.key("ORG", "1101", INPUT, None)
    cache.put(key, {"baseinfo": {}}, personal=True)
    clock.now += 2.5
    assert cache.get(key) is None


def test_size_bound_evicts_least_recently_used() -> None:
    """Beyond max_entries the least recently used entry goes."""
    cache = ResponseCache(max_entries=2, clock=ManualClock())
    keys = [cache.key("ORG", "1301", {"n": n}, None) for n in range(3)]
    cache.put(keys[0], {"n": 0}, personal=False)
    cache.put(keys[1], {"n": 1}, personal=False)
    assert cache.get(keys[0]) == {"n": 0}
    cache.put(keys[2], {"n": 2}, personal=False)
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) == {"n": 0}
    assert cache.stats().size == 2


def test_keys_hold_no_personal_data() -> None:
    """Keys are salted hashes: no ID number, and different per cache instance."""
    first, second = ResponseCache(), ResponseCache()
    key = first.key("ORG", "1101", INPUT, {"insuplc_admdvs": "430105"})
    assert "440106" not in key
    assert len(key) == 64
    assert key != second.key("ORG", "1101", INPUT, {"insuplc_admdvs": "430105"})
    assert key != first.key("ORG", "1101", INPUT, None)
    assert key == first.key(
        "ORG", "1101", {"data": dict(reversed(INPUT["data"].items()))}, {"insuplc_admdvs": "430105"}
    )


def test_values_are_copied() -> None:
    """Mutating a returned or stored value does not change the cache."""
    cache = ResponseCache(clock=ManualClock())
    key = cache.key("ORG", "1301", {}, None)
    value = {"rows": [1]}
    cache.put(key, value, personal=False)
    value["rows"].append(2)
    got = cache.get(key)
    assert got == {"rows": [1]}
    assert got is not None
    got["rows"].append(3)
    assert cache.get(key) == {"rows": [1]}
