"""medical-insurance-sdk: a client for China's national medical insurance platform, monitored.

The clients and the exception hierarchy are importable from here; the monitoring API
lives in :mod:`medical_insurance_sdk.core` (as the seed specifies) and the local platform
simulator in :mod:`medical_insurance_sdk.simulator`.
"""

import logging

from medical_insurance_sdk._version import __version__
from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    display_name,
    get_interface,
)
from medical_insurance_sdk.exceptions import (
    BusinessError,
    GatewayAuthError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    RequestTimeoutError,
    ResponseParseError,
    ValidationError,
)

# A library logs, the application decides where: without this, a warning from the SDK
# would reach stderr through logging.lastResort in an application without logging set up.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AsyncMedicalInsuranceClient",
    "BusinessError",
    "GatewayAuthError",
    "HTTPStatusError",
    "MedicalInsuranceClient",
    "MedicalInsuranceError",
    "NetworkError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ValidationError",
    "__version__",
    "display_name",
    "get_interface",
]
