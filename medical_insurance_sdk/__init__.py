"""medical-insurance-sdk: a client for China's national medical insurance platform, monitored.

The monitoring API lives in :mod:`medical_insurance_sdk.core` (as the seed specifies).
"""

from medical_insurance_sdk._version import __version__

__all__ = ["__version__"]
