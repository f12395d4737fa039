"""A small synchronous client of the Prometheus HTTP query API (``/api/v1/...``).

It speaks the subset Prometheus and VictoriaMetrics share: ``query`` (instant) and
``query_range``, as GET requests with form parameters. Every way a server can fail to
answer becomes one :class:`~medical_insurance_sdk.core.history.source.SourceError` that
names the source (``prometheus:URL``) and the reason: cannot connect (with the cause),
an HTTP status (401/403 say the credentials were refused, 404 that the URL is not a
Prometheus API root), a body that is not the API's JSON, or the API's own error.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from medical_insurance_sdk.core.history.source import SourceError

__all__ = ["PrometheusApi"]

_HINTS = {
    401: "unauthorised: the server refused the credentials (auth / bearer_token)",
    403: "forbidden: the credentials may not read this server",
    404: "not found: is the URL the Prometheus/VictoriaMetrics root (without /api/v1)?",
}


class PrometheusApi:
    """GET ``/api/v1/query`` and ``/api/v1/query_range`` with auth, TLS and a timeout."""

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(url, str):
            raise ValueError(f"Prometheus URL must be a string (got {url!r})")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Prometheus URL must be http(s)://host[:port][/path] (got {url!r})")
        if auth is not None and bearer_token is not None:
            raise ValueError("Prometheus source: give auth or bearer_token, not both")
        if auth is not None and not (
            isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth)
        ):
            raise ValueError("Prometheus source: auth must be a (user, password) tuple of strings")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"Prometheus source: timeout must be > 0 seconds (got {timeout!r})")
        self.url = url.rstrip("/")
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl().rstrip("/")
        #: ``prometheus:URL`` without credentials written in the URL: it goes in messages.
        self.name = f"prometheus:{shown}"
        headers = {"Accept": "application/json"}
        if bearer_token is not None:
            headers["Authorization"] = f"Bearer {bearer_token}"
        self._client = httpx.Client(
            auth=auth,
            headers=headers,
            verify=verify,
            cert=cert,
            timeout=float(timeout),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """An instant query at ``at`` (epoch seconds): the result vector."""
        data = self._get("query", {"query": expr, "time": _ts(at)})
        return _result(self.name, data, "vector")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """A range query: the result matrix (``[{"metric": {...}, "values": [[t, "v"]...]}]``)."""
        params = {"query": expr, "start": _ts(start), "end": _ts(end), "step": _ts(step)}
        # VictoriaMetrics: no cached points (its cache may hold a point computed before
        # the last samples arrived); Prometheus ignores the parameter.
        params["nocache"] = "1"
        data = self._get("query_range", params)
        return _result(self.name, data, "matrix")

    def _get(self, endpoint: str, params: dict[str, str]) -> Any:
        target = f"{self.name.removeprefix('prometheus:')}/api/v1/{endpoint}"
        try:
            response = self._client.get(f"{self.url}/api/v1/{endpoint}", params=params)
        except httpx.HTTPError as exc:
            reason = f"cannot query {target}: {type(exc).__name__}: {exc}"
            raise SourceError(self.name, reason) from exc
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = response.status_code
        if status != 200 and not (isinstance(body, dict) and "error" in body):
            hint = _HINTS.get(status, response.reason_phrase or "")
            raise SourceError(self.name, f"HTTP {status} from {target}: {hint}")
        if not isinstance(body, dict):
            raise SourceError(
                self.name, f"HTTP {status} from {target} is not the Prometheus API's JSON"
            )
        if body.get("status") != "success":
            error = " ".join(str(body.get("error", "no error message")).split())[:500]
            raise SourceError(self.name, f"HTTP {status} from {target}: {error}")
        return body.get("data")


def _ts(value: float) -> str:
    """Seconds as the API takes them (integers without a fraction)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _result(name: str, data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind:
        raise SourceError(name, f"expected a {kind} result, got {str(data)[:200]}")
    result = data.get("result")
    if not isinstance(result, list):
        raise SourceError(name, f"expected a {kind} result, got {str(data)[:200]}")
    return result
