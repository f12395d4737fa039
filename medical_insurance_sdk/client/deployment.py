"""Settings a client must be given for a real platform, and the simulator's values for them.

The gateway credentials (AK/SK), the region (``mdtrtarea_admvs``), the operator
(``opter``, ``opter_name``) and the sign-in MAC are the site's own. A client never sends
the simulator's demo values to a platform unless asked: they fill what is left out only

* through ``for_simulator(url)`` on either client (explicit, silent), or
* when ``base_url`` is a loopback address (127.0.0.0/8, ``::1``, ``localhost``): a local
  simulator, with a WARNING naming the settings filled in.

For any other address a left-out setting raises ``ValueError`` naming it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from types import MappingProxyType

import httpx

from medical_insurance_sdk.protocol.auth import SIMULATOR_ACCESS_KEY, SIMULATOR_SECRET_KEY

__all__ = [
    "SIMULATOR_ORG_CODE",
    "SIMULATOR_SETTINGS",
    "fill_site_settings",
    "is_loopback",
]

logger = logging.getLogger(__name__)

#: The institution code ``for_simulator`` uses when none is given (12 characters).
SIMULATOR_ORG_CODE = "H43010500001"
#: The simulator's values of the site settings, by client option.
SIMULATOR_SETTINGS: Mapping[str, str] = MappingProxyType({
    "access_key": SIMULATOR_ACCESS_KEY,
    "secret_key": SIMULATOR_SECRET_KEY,
    "region": "430299",
    "operator": "SDK001",
    "operator_name": "SDK",
    "mac": "00-00-00-00-00-00",
})  # fmt: skip
_CREDENTIALS = ("access_key", "secret_key")


def _host(base_url: str) -> str:
    try:
        return httpx.URL(base_url).host
    except httpx.InvalidURL:
        return ""


def is_loopback(base_url: str) -> bool:
    """True when ``base_url``'s host is ``localhost``, in 127.0.0.0/8 or ``::1``."""
    host = _host(base_url)
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fill_site_settings(
    base_url: str, given: Mapping[str, str | None], *, credentials: bool, client: str
) -> dict[str, str]:
    """Return the site settings, the simulator's values filling the left-out (None) ones.

    ``credentials`` is False when the client has its own ``auth`` scheme (no AK/SK needed).
    Raises ``ValueError`` naming what is missing unless ``base_url`` is loopback.
    """
    wanted = [n for n in SIMULATOR_SETTINGS if credentials or n not in _CREDENTIALS]
    missing = [name for name in wanted if given.get(name) is None]
    settings = {name: value for name, value in given.items() if value is not None}
    if not missing:
        return settings
    host = _host(base_url)
    if not is_loopback(base_url):
        raise ValueError(
            f"{client} for {host or base_url!r} needs the site's {', '.join(missing)}: the "
            f"simulator's demo values are used only for a loopback address or with "
            f"{client}.for_simulator()"
        )
    logger.warning(
        "%s for loopback address %s: using the simulator's defaults for %s",
        client,
        host,
        ", ".join(missing),
    )
    return settings | {name: SIMULATOR_SETTINGS[name] for name in missing}
