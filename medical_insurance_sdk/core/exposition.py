"""Serving and pushing the registry, with prometheus_client doing the protocol work.

* :func:`start_metrics_server` wraps ``prometheus_client.start_http_server``; a busy port
  logs one warning and returns ``None`` instead of raising.
* :func:`push_registry` / :func:`delete_group` wrap ``push_to_gateway`` /
  ``delete_from_gateway`` with a bounded timeout.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, delete_from_gateway, push_to_gateway
from prometheus_client import start_http_server as _start_http_server

from medical_insurance_sdk.core.redaction import mask_text

__all__ = [
    "PUSH_ERRORS",
    "MetricsServer",
    "default_grouping_key",
    "delete_group",
    "push_registry",
    "start_metrics_server",
]

logger = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """A running /metrics server."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(registry: CollectorRegistry, port: int, host: str) -> MetricsServer | None:
    """Serve ``registry`` on ``host:port``; ``None`` (and one warning) if it cannot bind."""
    try:
        server, thread = _start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        logger.warning(
            "Prometheus /metrics server not started on %s:%s (%s); monitoring continues "
            "without it. Set MetricConfig.prometheus_port to a free port, or 0 to disable.",
            host,
            port,
            exc.strerror or exc,
        )
        return None
    return MetricsServer(server, thread)


def default_grouping_key(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"instance": "<host>:<pid>"}`` plus ``extra``: identifies this process's group."""
    key = {"instance": f"{socket.gethostname()}:{os.getpid()}"}
    if extra:
        key.update(extra)
    return key


#: What a failed push or delete raises (URLError, HTTPError and timeouts are OSErrors).
PUSH_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError)


def push_registry(
    registry: CollectorRegistry,
    gateway_url: str,
    job: str,
    grouping_key: Mapping[str, str],
    timeout: float,
) -> None:
    """Push (PUT) the whole registry to a Pushgateway; raises one of :data:`PUSH_ERRORS`."""
    push_to_gateway(
        gateway_url, job=job, registry=registry, grouping_key=dict(grouping_key), timeout=timeout
    )


def delete_group(
    gateway_url: str, job: str, grouping_key: Mapping[str, str], timeout: float
) -> bool:
    """Delete this instance's group from the Pushgateway; ``True`` on success."""
    try:
        delete_from_gateway(gateway_url, job=job, grouping_key=dict(grouping_key), timeout=timeout)
    except PUSH_ERRORS as exc:
        logger.warning("delete from Pushgateway %s failed: %s", gateway_url, mask_text(str(exc)))
        return False
    return True
