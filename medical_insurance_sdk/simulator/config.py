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
    admin_token: change-me-0123456789  # required by admin writes; random when not given

Invalid values fail loudly when the config is built (``ValueError``). A config file is read
with ``yaml.safe_load`` (plain data only: a ``!!python/...`` tag is refused) and checked
before it is built: :func:`load_config` raises :class:`ConfigFileError` naming the file and
the problem (syntax error with its line, a wrong type, an unknown key, a missing file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from medical_insurance_sdk.protocol.auth import SIMULATOR_ACCESS_KEY, SIMULATOR_SECRET_KEY

__all__ = [
    "DEFAULT_LATENCY",
    "AuthConfig",
    "ConfigFileError",
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
        default_factory=lambda: {SIMULATOR_ACCESS_KEY: SIMULATOR_SECRET_KEY}
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
    #: The token admin writes (POST/PUT/PATCH/DELETE) must send, as ``Authorization: Bearer
    #: <token>`` or ``X-Admin-Token``; None: the simulator draws a random one when it starts.
    admin_token: str | None = None

    def __post_init__(self) -> None:
        if self.admin_token is not None and (
            not isinstance(self.admin_token, str)
            or len(self.admin_token) < 8
            or not all(ch.isascii() and ch.isprintable() and ch != " " for ch in self.admin_token)
        ):
            raise ValueError("admin_token must be at least 8 printable ASCII characters, no spaces")
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
        """Build from a parsed config file (see the module docstring).

        Unknown keys and values of the wrong type raise ``ValueError`` naming the setting.
        """
        _check_section("", cls, data)
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k not in ("auth", "latency")}
        if "auth" in data:
            auth = dict(_mapping("auth", data["auth"]))
            _check_section("auth.", AuthConfig, auth)
            if not all(isinstance(v, str) for v in auth.get("keys", {}).values()):
                raise ValueError("auth.keys must map access keys to secret strings")
            if "tokens" in auth:
                auth["tokens"] = tuple(auth["tokens"])
            kwargs["auth"] = AuthConfig(**auth)
        latency = dict(DEFAULT_LATENCY)
        for code, raw in _mapping("latency", data.get("latency") or {}).items():
            spec = _mapping(f"latency.{code}", raw)
            _check_section(f"latency.{code}.", LatencyModel, spec)
            missing = {"median_ms", "p99_ms"} - set(spec)
            if missing:
                raise ValueError(f"latency.{code} needs {', '.join(sorted(missing))}")
            latency[str(code)] = LatencyModel(float(spec["median_ms"]), float(spec["p99_ms"]))
        kwargs["latency"] = latency
        faults: dict[str, dict[str, Any]] = {}
        for code, spec in _mapping("faults", data.get("faults") or {}).items():
            faults[str(code)] = dict(_mapping(f"faults.{code}", spec))
            _check_section(f"faults.{code}.", FaultConfig, faults[str(code)])
        kwargs["faults"] = faults
        return cls(**kwargs)


#: Python types accepted in a config file for a field annotated with each simple type.
_KINDS: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "str": (str,),
}
_KIND_NAMES = {"bool": "true/false", "int": "an integer", "float": "a number", "str": "a string"}


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping (got {value!r})")
    return value


def _check_section(prefix: str, cls: type, data: Mapping[str, Any]) -> None:
    """Reject unknown keys and values whose type does not fit the dataclass field."""
    known = {f.name: str(f.type) for f in fields(cls)}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(prefix + k for k in unknown)}")
    for name, value in data.items():
        annotation = known[name]
        base = annotation.removesuffix(" | None")
        if value is None and base != annotation:
            continue
        if base in _KINDS:
            ok = isinstance(value, _KINDS[base]) and (base == "bool") == isinstance(value, bool)
            if ok and base == "float":
                ok = math.isfinite(value)
            expected = _KIND_NAMES[base]
        elif base.startswith("Mapping") or base in ("AuthConfig",):
            ok, expected = isinstance(value, Mapping), "a mapping"
        elif base.startswith("tuple"):
            ok, expected = isinstance(value, (list, tuple)), "a list"
        else:
            continue
        if not ok:
            raise ValueError(f"{prefix}{name} must be {expected} (got {value!r})")


class ConfigFileError(ValueError):
    """A simulator config file cannot be used; the one-line message names the file."""


def _read_data(path: Path) -> Any:
    """The parsed file (``yaml.safe_load`` for YAML: plain data only, no Python tags)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: 文件不存在") from exc
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: 不是 UTF-8 文本") from exc
    except OSError as exc:
        raise ConfigFileError(f"{path}: 无法读取（{exc.strerror or exc}）") from exc
    if path.suffix.lower() not in (".yaml", ".yml"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigFileError(
                f"{path}: 第 {exc.lineno} 行第 {exc.colno} 列 JSON 语法错误（{exc.msg}）"
            ) from exc
    try:
        import yaml
    except ImportError as exc:
        raise ConfigFileError(f"{path}: 读取 YAML 需要 PyYAML（pip install pyyaml）") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列 " if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        kind = (
            "不允许的 YAML 标签，只接受普通数据"
            if isinstance(exc, yaml.constructor.ConstructorError)
            else "YAML 语法错误"
        )
        raise ConfigFileError(f"{path}: {where}{kind}（{problem}）") from exc


def load_config(path: str | Path) -> SimulatorConfig:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file.

    Raises :class:`ConfigFileError` (a ``ValueError``) with a one-line message naming the
    file and the problem: missing or unreadable file, syntax error (with its line), a YAML
    tag other than plain data, a top level that is not a mapping, an unknown key, a value
    of the wrong type or out of range.
    """
    path = Path(path)
    data = _read_data(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: 顶层必须是映射（键: 值），实际为 {type(data).__name__}")
    try:
        return SimulatorConfig.from_mapping(data)
    except (ValueError, TypeError) as exc:
        problem = " ".join(str(exc).split())
        raise ConfigFileError(f"{path}: 配置项无效（{problem}）") from exc
