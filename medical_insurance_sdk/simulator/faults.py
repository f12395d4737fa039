"""Per-interface fault injection and latency sampling, deterministic with a seed.

Each interface code has its own random stream seeded from (seed, code), so the n-th
request to 2207 gets the same latency and fault in every run with the same seed, however
requests to other interfaces interleave. Every request makes the same draws (one latency
draw, one per fault kind) whatever fires, so streams never shift. Fault kinds added later
(:attr:`Fault.later`) draw from a second stream per interface, so adding one leaves the
runs of an existing seed as they were.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from typing import Any

from medical_insurance_sdk.simulator.config import FaultConfig, LatencyModel

__all__ = ["Fault", "FaultPlan"]


class Fault(str, enum.Enum):
    """A fault the simulator can inject, in the order they are drawn."""

    BUSINESS_ERROR = "business_error"
    HTTP_5XX = "http_5xx"
    HTML_502 = "html_502"
    RESET = "reset"
    HANG = "hang"
    TRUNCATED = "truncated"
    HUGE_BODY = "huge_body"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    HTML_200 = "html_200"
    JSON_LIST = "json_list"
    DEEP_JSON = "deep_json"
    DRIP = "drip"

    @property
    def later(self) -> bool:
        """True for the kinds added after the first eight (drawn from their own stream)."""
        return self in _LATER

    @property
    def rate_field(self) -> str:
        """The FaultConfig field holding this fault's probability."""
        return f"{self.value}_rate"

    @property
    def processes_request(self) -> bool:
        """True when the platform does the work before the answer goes wrong."""
        return self not in (Fault.BUSINESS_ERROR, Fault.HTTP_5XX, Fault.HTML_502)


_LATER = frozenset({Fault.HTML_200, Fault.JSON_LIST, Fault.DEEP_JSON, Fault.DRIP})


class FaultPlan:
    """The current fault settings and the per-interface random streams."""

    def __init__(
        self,
        seed: int | None,
        latency: Mapping[str, LatencyModel],
        faults: Mapping[str, Mapping[str, Any]],
        latency_scale: float = 1.0,
    ) -> None:
        self._seed = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self.latency = dict(latency)
        self.latency_scale = latency_scale
        self._specs: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, FaultConfig] = {}
        self._rngs: dict[str, tuple[random.Random, random.Random]] = {}
        self.replace(faults)

    # -- settings --------------------------------------------------------------------------

    def replace(self, faults: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace all fault settings (validated first; nothing changes on error)."""
        specs = {str(code): dict(spec) for code, spec in faults.items()}
        for spec in specs.values():
            FaultConfig.from_mapping(spec)
        self._specs = specs
        self._merged.clear()

    def update(self, faults: Mapping[str, Mapping[str, Any]]) -> None:
        """Merge settings into the current ones, per interface and per field."""
        merged = {code: dict(spec) for code, spec in self._specs.items()}
        for code, spec in faults.items():
            merged.setdefault(str(code), {}).update(spec)
        self.replace(merged)

    def specs(self) -> dict[str, dict[str, Any]]:
        """The raw settings as configured (``"*"`` plus per-interface overrides)."""
        return {code: dict(spec) for code, spec in self._specs.items()}

    def for_interface(self, infno: str) -> FaultConfig:
        """The effective settings for ``infno``: ``"*"`` overridden by its own entry."""
        config = self._merged.get(infno)
        if config is None:
            spec = {**self._specs.get("*", {}), **self._specs.get(infno, {})}
            config = FaultConfig.from_mapping(spec)
            self._merged[infno] = config
        return config

    # -- per request -----------------------------------------------------------------------

    def _rng(self, infno: str) -> tuple[random.Random, random.Random]:
        rngs = self._rngs.get(infno)
        if rngs is None:
            rngs = (
                random.Random(f"{self._seed}:{infno}"),
                random.Random(f"{self._seed}:{infno}:2"),
            )
            self._rngs[infno] = rngs
        return rngs

    def draw(self, infno: str) -> tuple[float, Fault | None, FaultConfig]:
        """Latency (seconds) and the fault (or None) for the next request to ``infno``."""
        rng, later = self._rng(infno)
        config = self.for_interface(infno)
        model = self.latency.get(infno) or self.latency["*"]
        normal = rng.gauss(0.0, 1.0)
        fired: Fault | None = None
        for fault in Fault:
            roll = (later if fault.later else rng).random()
            if fired is None and roll < getattr(config, fault.rate_field):
                fired = fault
        if model.median_ms <= 0 or self.latency_scale == 0:
            return 0.0, fired, config
        latency_ms = model.median_ms * math.exp(model.sigma * normal)
        return latency_ms * config.slowdown * self.latency_scale / 1000.0, fired, config
