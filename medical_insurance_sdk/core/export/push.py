"""Pushing the registry to a Pushgateway, with prometheus_client doing the protocol work.

* :func:`push_registry` / :func:`delete_group` wrap ``push_to_gateway`` /
  ``delete_from_gateway`` with a bounded timeout.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, delete_from_gateway, push_to_gateway

from medical_insurance_sdk.redaction import mask_text

__all__ = ["PUSH_ERRORS", "default_grouping_key", "delete_group", "push_registry"]

logger = logging.getLogger(__name__)


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
