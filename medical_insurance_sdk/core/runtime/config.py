"""``MetricConfig``: the monitoring configuration (配置驱动), validated at construction.

The first seven fields are the original API's, with its names and defaults; the rest
are ours. Configuration comes from code, from a YAML or TOML file (:meth:`MetricConfig.from_file`)
and from ``MISDK_*`` environment variables (:meth:`MetricConfig.from_env`); precedence is
environment > file > defaults.

Every check raises ``ValueError`` naming the field, e.g.
``ValueError: MetricConfig.max_memory_metrics must be >= 1 (got 0)``; a value read from a
file or the environment also names where it came from (the file's path, the variable).
Configuration fails closed: ``MISDK_PROMETHEUS_BASIC_AUTH=""`` is an error, not "no auth";
a TLS certificate or key that cannot be loaded is an error here, not when the server
starts. A ``MISDK_*`` variable the SDK does not read (a typo) is logged once per process
with the closest known name (:data:`KNOWN_ENV_VARIABLES`).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import logging
import math
import os
import re
import ssl
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DURATION_BUCKETS",
    "ENV_PREFIX",
    "KNOWN_ENV_VARIABLES",
    "MIN_COLLECTION_INTERVAL",
    "MetricConfig",
    "warn_unknown_env",
]

logger = logging.getLogger(__name__)

#: Environment variable prefix: ``MISDK_PROMETHEUS_PORT=0`` sets ``prometheus_port``.
ENV_PREFIX = "MISDK_"

#: Histogram buckets (seconds) for the platform: 10 ms sign-in to 60 s catalog downloads.
#: 2, 3, 5 and 30 s are the default p95 thresholds of the interface classes
#: (``core/analysis/thresholds.py``): a p95 read from Prometheus is then over or under
#: its threshold exactly (``core/history/prometheus_source.py`` states the error).
DEFAULT_DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    2.5,
    3.0,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
)

#: The shortest ``collection_interval`` (seconds). Below it the housekeeping thread nears
#: a busy loop and floods the Pushgateway; 50 ms is what the fault benchmark pushes at.
#: Production values are 15-60 s.
MIN_COLLECTION_INTERVAL = 0.05

_HOST_RE = re.compile(r"^[A-Za-z0-9.:\-\[\]]*$")


@dataclass(frozen=True)
class MetricConfig:
    """Monitoring configuration. All fields are keyword-friendly and validated.

    Original fields: ``enabled``, ``prometheus_enabled``, ``prometheus_port`` (``0``/``None``:
    no HTTP server), ``prometheus_gateway_url`` (push every ``collection_interval`` when set),
    ``collection_interval`` (seconds between background housekeeping runs: system
    metrics, retention, pending-call expiry, push), ``retention_days`` (``0`` keeps
    records until evicted by size) and ``max_memory_metrics`` (the bound on stored calls,
    on pending calls and on stored custom metrics).
    """

    enabled: bool = True
    prometheus_enabled: bool = True
    prometheus_port: int | None = 8000
    prometheus_gateway_url: str | None = None
    collection_interval: float = 60
    retention_days: float = 7
    max_memory_metrics: int = 10000

    #: Bind address of the /metrics server (prometheus_client's default).
    prometheus_host: str = "0.0.0.0"  # Prometheus scrapes from another host
    #: Connections /metrics serves at once; the oldest one still waiting for its request
    #: is closed to make room, and beyond that new ones are closed at once (counted).
    prometheus_max_connections: int = 32
    #: Seconds a /metrics connection has for its TLS handshake and request headers, and
    #: again for writing the response.
    prometheus_request_timeout: float = 10.0
    #: TLS for /metrics: PEM certificate (and key) files, as prometheus_client takes them.
    prometheus_certfile: str | None = None
    prometheus_keyfile: str | None = None
    #: HTTP basic auth on /metrics: ``(username, password)``; never shown in repr.
    prometheus_basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    #: Job name and extra grouping key used for pushes (``instance`` defaults to host:pid).
    push_job_name: str = "medical_insurance_sdk"
    push_grouping_key: Mapping[str, str] | None = None
    #: Bound on one push request, seconds.
    push_timeout: float = 5.0
    #: Delete this instance's group from the Pushgateway on clean shutdown.
    push_delete_on_shutdown: bool = True
    #: A started call not ended within this many seconds is expired and counted abandoned.
    pending_timeout: float = 600.0
    #: Distinct label values kept per label in the exposition; overflow -> ``__other__``.
    max_api_codes: int = 500
    max_org_codes: int = 200
    max_error_codes: int = 100
    #: Series kept per metric (as OpenTelemetry's cardinality limit); overflow -> ``__other__``.
    max_series_per_metric: int = 2000
    #: Drop ``org_code`` from the duration histogram (multi-institution gateways).
    histogram_by_org: bool = True
    #: Buckets of ``medical_insurance_api_duration_seconds``.
    duration_buckets: tuple[float, ...] = DEFAULT_DURATION_BUCKETS
    #: Sample process and system figures with psutil.
    system_metrics_enabled: bool = True
    #: Run the background housekeeping thread (tests may drive it by hand).
    background: bool = True
    #: Records converted to columns at once; the hot path stays O(1) amortised.
    fold_batch_size: int = 2048
    #: The embedded history (SQLite file, written every ``collection_interval``); ``None``:
    #: off. Several processes may share one file.
    history_path: str | None = None
    #: Days minute rollups are kept in the history, then days hour rollups are kept.
    history_minute_days: float = 14
    history_hour_days: float = 400

    def __post_init__(self) -> None:
        self._validate()

    # -- validation --------------------------------------------------------------------
    def _validate(self) -> None:
        def fail(name: str, rule: str) -> None:
            raise ValueError(f"MetricConfig.{name} must be {rule} (got {getattr(self, name)!r})")

        for name in (
            "enabled",
            "prometheus_enabled",
            "push_delete_on_shutdown",
            "histogram_by_org",
            "system_metrics_enabled",
            "background",
        ):
            if not isinstance(getattr(self, name), bool):
                fail(name, "a bool")
        port = self.prometheus_port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            fail("prometheus_port", "an int in 0..65535 or None")
        url = self.prometheus_gateway_url
        if url is not None and (not isinstance(url, str) or not url.strip()):
            fail("prometheus_gateway_url", "a non-empty URL or None")
        for name, low, strict in (
            ("collection_interval", MIN_COLLECTION_INTERVAL, False),
            ("retention_days", 0.0, False),
            ("push_timeout", 0.0, True),
            ("pending_timeout", 0.0, True),
            ("prometheus_request_timeout", 0.0, True),
            ("history_minute_days", 0.0, True),
            ("history_hour_days", 0.0, True),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(name, "a number")
            if not math.isfinite(value) or (value <= low if strict else value < low):
                fail(name, f"{'>' if strict else '>='} {low:g} and finite")
        for name, low in (
            ("max_memory_metrics", 1),
            ("max_api_codes", 1),
            ("max_org_codes", 1),
            ("max_error_codes", 1),
            ("max_series_per_metric", 1),
            ("fold_batch_size", 1),
            ("prometheus_max_connections", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                fail(name, f"an int >= {low}")
        if not isinstance(self.prometheus_host, str) or not _HOST_RE.match(self.prometheus_host):
            fail("prometheus_host", "a host name or IP address")
        if not isinstance(self.push_job_name, str) or not self.push_job_name:
            fail("push_job_name", "a non-empty string")
        buckets = tuple(self.duration_buckets)
        if (
            not buckets
            or any(isinstance(b, bool) or not isinstance(b, (int, float)) for b in buckets)
            or any(not math.isfinite(b) or b <= 0 for b in buckets)
            or any(b >= c for b, c in itertools.pairwise(buckets))
        ):
            fail("duration_buckets", "strictly increasing positive finite numbers")
        object.__setattr__(self, "duration_buckets", tuple(float(b) for b in buckets))
        if self.prometheus_basic_auth is not None:
            auth = tuple(self.prometheus_basic_auth)
            if len(auth) != 2 or not all(isinstance(x, str) and x for x in auth) or ":" in auth[0]:
                raise ValueError(
                    "MetricConfig.prometheus_basic_auth must be (username, password), "
                    "non-empty strings, no ':' in the username"
                )
            object.__setattr__(self, "prometheus_basic_auth", auth)
        for name in ("prometheus_certfile", "prometheus_keyfile"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                fail(name, "a file path or None")
        history: object = self.history_path
        if isinstance(history, os.PathLike):
            history = os.fspath(history)
            object.__setattr__(self, "history_path", history)
        if history is not None and (not isinstance(history, str) or not history.strip()):
            fail("history_path", "a file path or None")
        if self.history_hour_days < self.history_minute_days:
            fail("history_hour_days", ">= history_minute_days")
        if self.prometheus_keyfile and not self.prometheus_certfile:
            fail("prometheus_certfile", "set when prometheus_keyfile is")
        if self.prometheus_certfile:
            _check_tls_files(self.prometheus_certfile, self.prometheus_keyfile)
        if self.push_grouping_key is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.push_grouping_key.items()
        ):
            fail("push_grouping_key", "a mapping of str to str")

    # -- construction from the outside world ----------------------------------------------
    def replace(self, **changes: Any) -> MetricConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MetricConfig:
        """Build from a mapping; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"MetricConfig: unknown field(s) {', '.join(unknown)}")
        values = dict(data)
        if "duration_buckets" in values and values["duration_buckets"] is not None:
            values["duration_buckets"] = tuple(values["duration_buckets"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, env: bool = True) -> MetricConfig:
        """Read a YAML (``.yml``/``.yaml``) or TOML (``.toml``) file.

        The settings may sit at the top level or under a ``metrics`` table/key. With
        ``env=True`` (default) ``MISDK_*`` variables override the file.
        """
        p = Path(path)
        section = _read_file(p)
        try:
            config = cls.from_mapping(section)
        except ValueError as exc:  # name the file: "<path>: MetricConfig.<field> must ..."
            raise ValueError(f"{p}: {exc}") from None
        return config.with_env() if env else config

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricConfig:
        """Defaults, then ``MISDK_CONFIG`` (a file), then ``MISDK_*`` variables."""
        env = os.environ if environ is None else environ
        path = env.get(f"{ENV_PREFIX}CONFIG")
        if path:
            try:
                base = cls.from_file(path, env=False)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}CONFIG: {exc}") from None
        else:
            base = cls()
        return base.with_env(env)

    def with_env(self, environ: Mapping[str, str] | None = None) -> MetricConfig:
        """Return a copy with every ``MISDK_<FIELD>`` variable applied."""
        env = os.environ if environ is None else environ
        warn_unknown_env(env)
        changes: dict[str, Any] = {}
        for f in fields(self):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                changes[f.name] = _parse_env(f.name, raw, str(f.type))
        if not changes:
            return self
        try:
            return self.replace(**changes)
        except ValueError as exc:  # name the variables the values came from
            names = ", ".join(ENV_PREFIX + name.upper() for name in changes)
            raise ValueError(f"{exc} (set by the environment: {names})") from None


#: Every ``MISDK_*`` environment variable the SDK or its tools read. Add a name here when
#: code starts reading one: any other ``MISDK_*`` variable is logged as a likely typo.
KNOWN_ENV_VARIABLES: tuple[str, ...] = (
    *(ENV_PREFIX + f.name.upper() for f in fields(MetricConfig)),
    "MISDK_CONFIG",  # a config file (MetricConfig.from_env)
    "MISDK_NODE_ID",  # the client's msgid node id
    "MISDK_LOG_FORMAT",
    "MISDK_LOG_LEVEL",
    "MISDK_STRESS",  # tests: 10x sizes
    "MISDK_BENCH_CLIENT_CALLS",  # bench/bench_client.py
    "MISDK_BENCH_CLIENT_SAMPLES",  # bench/bench_client.py
)

_warned_env: set[str] = set()
_warned_lock = threading.Lock()


def warn_unknown_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """Log one warning per unknown ``MISDK_*`` variable, once per process; return them."""
    env = os.environ if environ is None else environ
    known = set(KNOWN_ENV_VARIABLES)
    unknown = [n for n in env if n.startswith(ENV_PREFIX) and n not in known]
    with _warned_lock:
        new = [n for n in unknown if n not in _warned_env]
        _warned_env.update(new)
    for name in sorted(new):
        # Compared without the shared prefix, which would make every name look close.
        suffixes = [k[len(ENV_PREFIX) :] for k in KNOWN_ENV_VARIABLES]
        close = difflib.get_close_matches(name[len(ENV_PREFIX) :], suffixes, n=1)
        logger.warning(
            "unknown environment variable %s is ignored%s",
            name,
            f" (did you mean {ENV_PREFIX}{close[0]}?)" if close else "",
        )
    return sorted(unknown)


def _read_file(p: Path) -> dict[str, Any]:
    """The settings mapping of a YAML or TOML file; ``ValueError`` naming the path."""
    suffix = p.suffix.lower()
    if suffix not in (".yml", ".yaml", ".toml"):
        raise ValueError(f"MetricConfig.from_file: unsupported file type {p.suffix!r} ({p})")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"MetricConfig.from_file: cannot read {p}: {exc}") from None
    data: Any
    if suffix in (".yml", ".yaml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"MetricConfig.from_file: {p} is not valid YAML: {exc}") from None
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"MetricConfig.from_file: {p} is not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"MetricConfig.from_file: {p} must hold a mapping")
    section = data.get("metrics", data)
    if not isinstance(section, dict):
        raise ValueError(f"MetricConfig.from_file: 'metrics' in {p} must be a mapping")
    return section


def _no_password() -> bytes:
    raise ValueError("the key is encrypted")


def _check_tls_files(certfile: str, keyfile: str | None) -> None:
    """Load the certificate and key once, so that a bad path fails here, named."""
    for name, path in (("prometheus_certfile", certfile), ("prometheus_keyfile", keyfile)):
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"MetricConfig.{name}: no such file {path!r}")
        if path is not None and not os.access(path, os.R_OK):
            raise ValueError(f"MetricConfig.{name}: file {path!r} is not readable")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            certfile, keyfile, password=_no_password
        )
    except (ssl.SSLError, OSError, ValueError) as exc:
        where = repr(certfile) if keyfile is None else f"{certfile!r} and {keyfile!r}"
        raise ValueError(
            "MetricConfig.prometheus_certfile/prometheus_keyfile: cannot load a PEM "
            f"certificate and unencrypted key from {where}: {exc}"
        ) from None


#: Fields whose empty environment value would turn a protection off: an error instead.
_SECURITY_FILES = ("prometheus_certfile", "prometheus_keyfile")


def _parse_env(name: str, raw: str, annotation: str) -> Any:
    """Convert one environment string to the field's annotated type."""
    text = raw.strip()
    where = f"{ENV_PREFIX}{name.upper()}"
    if name == "prometheus_basic_auth":  # fail closed: never "no auth" by accident
        user, sep, password = text.partition(":")
        if not (sep and user and password):
            problem = "is empty" if not text else "is not of that form"
            raise ValueError(
                f"{where} must be 'user:password' with both parts non-empty; the value "
                f"{problem}. Unset {where} to serve /metrics without auth."
            )
        return (user, password)
    if name in _SECURITY_FILES and text.lower() in ("", "none", "null"):
        # fail closed: an empty template value must not quietly turn TLS off
        raise ValueError(f"{where} must be a file path; unset {where} to serve without TLS.")
    if "None" in annotation and text.lower() in ("", "none", "null"):
        return None
    try:
        if annotation.startswith("bool"):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if annotation.startswith("int"):
            return int(text)
        if annotation.startswith("float"):
            return float(text)
        if annotation.startswith("tuple"):
            return tuple(float(x) for x in text.split(",") if x.strip())
        if annotation.startswith("Mapping"):
            pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
            return {k.strip(): v.strip() for k, v in pairs}
    except ValueError:
        raise ValueError(f"{where}: cannot parse {raw!r} for MetricConfig.{name}") from None
    return text
