"""medical-insurance-sdk: a client for China's national medical insurance platform, monitored.

The clients and the whole exception hierarchy (every class of
:mod:`medical_insurance_sdk.exceptions`) are importable from here. The other entry points:
:mod:`medical_insurance_sdk.core` (the monitoring API),
:mod:`medical_insurance_sdk.client` (the client's parts: auth, retries, cache, catalog),
:mod:`medical_insurance_sdk.simulator` (the local platform simulator) and
:mod:`medical_insurance_sdk.rules` (Prometheus rules and the Grafana dashboard).
:func:`configure_logging` (opt-in text or JSON log lines, masked) comes from
:mod:`medical_insurance_sdk.logging_setup`; :func:`configure_tracing` (opt-in span export
over OTLP, the ``[otel]`` extra) from :mod:`medical_insurance_sdk.tracing_setup`.
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
    ConnectTimeoutError,
    DeadlineExceededError,
    GatewayAuthError,
    GatewayAuthReason,
    GatewayClockSkewError,
    GatewayHeadersMissingError,
    GatewaySignatureError,
    GatewayUnknownKeyError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkCause,
    NetworkError,
    ReadTimeoutError,
    RequestTimeoutError,
    ResponseParseError,
    ResponseTooLargeError,
    SessionError,
    ValidationError,
)
from medical_insurance_sdk.logging_setup import configure_logging
from medical_insurance_sdk.tracing_setup import configure_tracing

# A library logs, the application decides where: without this, a warning from the SDK
# would reach stderr through logging.lastResort in an application without logging set up.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AsyncMedicalInsuranceClient",
    "BusinessError",
    "ConnectTimeoutError",
    "DeadlineExceededError",
    "GatewayAuthError",
    "GatewayAuthReason",
    "GatewayClockSkewError",
    "GatewayHeadersMissingError",
    "GatewaySignatureError",
    "GatewayUnknownKeyError",
    "HTTPStatusError",
    "MedicalInsuranceClient",
    "MedicalInsuranceError",
    "NetworkCause",
    "NetworkError",
    "ReadTimeoutError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ResponseTooLargeError",
    "SessionError",
    "ValidationError",
    "__version__",
    "configure_logging",
    "configure_tracing",
    "display_name",
    "get_interface",
]
