"""Simulator configuration: auth, latency models and fault injection, from a file or code.

A config file is YAML or JSON::

    seed: 42
    latency_scale: 1.0          # 0 disables simulated latency (fast tests)
    require_sign_in: false      # true: calls without a valid 9001 sign_no fail (session error)
    strict_state: true          # 2203/2204/2206/2207 need a registered mdtrt_id (2201)
    collapse_single_lists: true # one-element lists go out as a single object, as on site
    infcode_as_string: false    # send "0"/"-1" instead of 0/-1
    max_upload_bytes: 16777216  # 9101: larger files are refused (infcode -1)
    file_store_max_files: 1000  # 9101 uploads kept for 9102, oldest evicted beyond these
    file_store_max_bytes: 134217728
    file_ttl_seconds: 86400     # a file expires this long after its upload (dld_endtime)
    auth:
      scheme: api               # api (_api_* HMAC-SHA1) | tif | bearer | none
      keys: {misdk-demo-ak: misdk-demo-sk}
      window_seconds: 1800
    latency:                    # lognormal per interface, "*" is the default
      "2207": {median_ms: 200, p99_ms: 1200}
    faults:                     # per interface; "*" applies to all, per-code keys override it
      "*": {business_error_rate: 0.01}
      "2207": {slowdown: 5, http_5xx_rate: 0.05, hang_rate: 0.01, hang_seconds: 30}
      "2304": {html_200_rate: 0.01, json_list_rate: 0.01, deep_json_rate: 0.01}
      "2208": {drip_rate: 0.01, drip_interval: 0.25}   # one byte every 0.25 s
    sm4_key: 0123456789abcdeffedcba9876543210   # opens enc_type "SM4" requests (optional)
    sm4_encoding: base64        # or hex: the ciphertext's text form
    sm2_public_key: 09f9df31...  # the HIS's SM2 public key, 128 hex: verifies cainfo (optional)

Invalid values fail loudly when the config is built (``ValueError``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from medical_insurance_sdk.client.auth import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

__all__ = [
    "DEFAULT_LATENCY",
    "AuthConfig",
    "FaultConfig",
    "LatencyModel",
    "SimulatorConfig",
    "load_config",
]

_Z99 = 2.3263478740408408  # standard normal quantile of 0.99


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """Lognormal latency given by its median and 99th percentile (milliseconds)."""

    median_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        if self.median_ms < 0 or self.p99_ms < self.median_ms:
            raise ValueError("latency needs 0 <= median_ms <= p99_ms")

    @property
    def mu(self) -> float:
        """Mean of the underlying normal (log milliseconds)."""
        return math.log(self.median_ms) if self.median_ms > 0 else -math.inf

    @property
    def sigma(self) -> float:
        """Standard deviation of the underlying normal."""
        if self.median_ms <= 0:
            return 0.0
        return math.log(self.p99_ms / self.median_ms) / _Z99


#: Default latency models per interface; ``"*"`` for the rest.
DEFAULT_LATENCY: Mapping[str, LatencyModel] = {
    "*": LatencyModel(60, 400),
    "9001": LatencyModel(20, 120),
    "9002": LatencyModel(20, 120),
    "1101": LatencyModel(60, 400),
    "2201": LatencyModel(80, 500),
    "2203": LatencyModel(70, 400),
    "2204": LatencyModel(120, 800),
    "2206": LatencyModel(150, 900),
    "2207": LatencyModel(200, 1200),
    "2208": LatencyModel(180, 1000),
    "2601": LatencyModel(200, 1200),
    "1301": LatencyModel(300, 2000),
    "1302": LatencyModel(300, 2000),
    "1303": LatencyModel(300, 2000),
    "1305": LatencyModel(300, 2000),
    "1306": LatencyModel(300, 2000),
    "1307": LatencyModel(300, 2000),
}

_RATES = (
    "business_error_rate",
    "http_5xx_rate",
    "html_502_rate",
    "reset_rate",
    "hang_rate",
    "truncated_rate",
    "huge_body_rate",
    "wrong_content_type_rate",
    "html_200_rate",
    "json_list_rate",
    "deep_json_rate",
    "drip_rate",
)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Fault probabilities (0..1) and parameters for one interface.

    Each request draws once per fault in the order of the fields; the first that fires
    applies. ``business_error``, ``http_5xx``, ``html_502`` answer without processing;
    ``reset`` (mid-response), ``hang``, ``truncated``, ``huge_body``,
    ``wrong_content_type``, ``html_200`` (a proxy's HTML page with status 200),
    ``json_list`` (the envelope inside a JSON list), ``deep_json`` (an envelope whose
    output nests ``deep_json_depth`` levels) and ``drip`` (the answer one byte every
    ``drip_interval`` seconds) process the request first, so state changes as it would
    on a platform whose answer got lost.
    """

    business_error_rate: float = 0.0
    http_5xx_rate: float = 0.0
    html_502_rate: float = 0.0
    reset_rate: float = 0.0
    hang_rate: float = 0.0
    truncated_rate: float = 0.0
    huge_body_rate: float = 0.0
    wrong_content_type_rate: float = 0.0
    html_200_rate: float = 0.0
    json_list_rate: float = 0.0
    deep_json_rate: float = 0.0
    drip_rate: float = 0.0
    #: Latency multiplier (an incident: 5 means five times slower).
    slowdown: float = 1.0
    http_status: int = 503
    hang_seconds: float = 30.0
    huge_body_bytes: int = 11 * 1024 * 1024
    deep_json_depth: int = 100_000
    #: The err_msg of an injected business error ("" for the simulator's own texts).
    business_error_message: str = ""
    drip_interval: float = 0.25

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name} must be within 0..1 (got {value!r})")
        if self.slowdown <= 0 or self.hang_seconds < 0 or self.huge_body_bytes < 0:
            raise ValueError("slowdown must be > 0; hang_seconds and huge_body_bytes >= 0")
        if self.deep_json_depth < 1 or self.drip_interval < 0:
            raise ValueError("deep_json_depth must be >= 1 and drip_interval >= 0")
        if not 500 <= self.http_status <= 599:
            raise ValueError("http_status must be a 5xx status")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from a mapping, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**dict(data))

    @property
    def active(self) -> bool:
        """True when any fault may fire or latency is scaled."""
        return self.slowdown != 1.0 or any(getattr(self, name) > 0 for name in _RATES)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class AuthConfig:
    """Gateway authentication the simulator enforces."""

    scheme: str = "api"
    keys: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}
    )
    window_seconds: float = 30 * 60
    tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scheme not in ("api", "tif", "bearer", "none"):
            raise ValueError(f"unknown auth scheme {self.scheme!r} (api, tif, bearer, none)")
        if self.window_seconds <= 0:
            raise ValueError("auth window_seconds must be positive")


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes the simulator's behaviour."""

    seed: int | None = None
    latency_scale: float = 1.0
    require_sign_in: bool = False
    strict_state: bool = True
    collapse_single_lists: bool = True
    infcode_as_string: bool = False
    max_upload_bytes: int = 16 * 1024 * 1024
    file_store_max_files: int = 1000
    file_store_max_bytes: int = 128 * 1024 * 1024
    file_ttl_seconds: float = 24 * 3600.0
    auth: AuthConfig = field(default_factory=AuthConfig)
    latency: Mapping[str, LatencyModel] = field(default_factory=lambda: dict(DEFAULT_LATENCY))
    faults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Envelope security (see simulator/security.py): the SM4 key (32 hex characters) that
    #: opens ``enc_type: "SM4"`` requests, its ciphertext text form, and the HIS's SM2
    #: public key (128 hex characters) that verifies ``cainfo``.
    sm4_key: str | None = None
    sm4_encoding: str = "base64"
    sm2_public_key: str | None = None

    def __post_init__(self) -> None:
        if self.latency_scale < 0:
            raise ValueError("latency_scale must be >= 0")
        if self.sm4_encoding not in ("base64", "hex"):
            raise ValueError("sm4_encoding must be 'base64' or 'hex'")
        if min(self.max_upload_bytes, self.file_store_max_files, self.file_ttl_seconds) <= 0:
            raise ValueError("max_upload_bytes, file_store_* and file_ttl_seconds must be > 0")
        if self.max_upload_bytes > self.file_store_max_bytes:
            raise ValueError("max_upload_bytes must not exceed file_store_max_bytes")
        for code, spec in self.faults.items():
            FaultConfig.from_mapping(spec)  # validate now, loudly
            if not code:
                raise ValueError("fault keys must be interface codes or '*'")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        """Build from a parsed config file (see the module docstring)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown simulator settings: {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k not in ("auth", "latency")}
        if "auth" in data:
            auth = dict(data["auth"])
            if "tokens" in auth:
                auth["tokens"] = tuple(auth["tokens"])
            kwargs["auth"] = AuthConfig(**auth)
        latency = dict(DEFAULT_LATENCY)
        for code, spec in (data.get("latency") or {}).items():
            latency[str(code)] = LatencyModel(float(spec["median_ms"]), float(spec["p99_ms"]))
        kwargs["latency"] = latency
        kwargs["faults"] = {str(k): dict(v) for k, v in (data.get("faults") or {}).items()}
        return cls(**kwargs)


def load_config(path: str | Path) -> SimulatorConfig:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    return SimulatorConfig.from_mapping(data)
