"""The platform client: sync and async clients, catalog, auth schemes, cache, retries.

Everything a HIS integration needs is importable from here; the modules underneath do one
job each (response, deployment, errors, retry, cache, timeouts, tracing, monitoring, files).
The protocol's parts (catalog, envelope, msgid, envelope security, auth, validation) live
in :mod:`medical_insurance_sdk.protocol`, shared with the simulator; their public names
are re-exported here.
"""

from medical_insurance_sdk.client.async_client import AsyncMedicalInsuranceClient
from medical_insurance_sdk.client.cache import CacheStats, ResponseCache
from medical_insurance_sdk.client.errors import business_error_class
from medical_insurance_sdk.client.files import DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from medical_insurance_sdk.client.monitoring import CallMonitor
from medical_insurance_sdk.client.retry import RetryPolicy
from medical_insurance_sdk.client.sync_client import MedicalInsuranceClient
from medical_insurance_sdk.client.timeouts import Timeouts
from medical_insurance_sdk.protocol.auth import (
    SIMULATOR_ACCESS_KEY,
    SIMULATOR_SECRET_KEY,
    ApiSignatureAuth,
    BearerTokenAuth,
    GatewayAuth,
    TifSignatureAuth,
)
from medical_insurance_sdk.protocol.catalog import (
    CATALOG,
    Category,
    Interface,
    Kind,
    display_name,
    find_interface,
    get_interface,
    iter_interfaces,
)
from medical_insurance_sdk.protocol.envelope import DEFAULT_PATH
from medical_insurance_sdk.protocol.envelope_security import (
    EnvelopeSecurity,
    SM2Signer,
    SM4Cipher,
)
from medical_insurance_sdk.protocol.msgid import MsgIdStats, msgid_stats

__all__ = [
    "CATALOG",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_PATH",
    "SIMULATOR_ACCESS_KEY",
    "SIMULATOR_SECRET_KEY",
    "ApiSignatureAuth",
    "AsyncMedicalInsuranceClient",
    "BearerTokenAuth",
    "CacheStats",
    "CallMonitor",
    "Category",
    "EnvelopeSecurity",
    "GatewayAuth",
    "Interface",
    "Kind",
    "MedicalInsuranceClient",
    "MsgIdStats",
    "ResponseCache",
    "RetryPolicy",
    "SM2Signer",
    "SM4Cipher",
    "TifSignatureAuth",
    "Timeouts",
    "business_error_class",
    "display_name",
    "find_interface",
    "get_interface",
    "iter_interfaces",
    "msgid_stats",
]
