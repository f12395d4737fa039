"""What the collector runs on: configuration, clocks, background workers, fork safety,
the monitoring's own health, argument checks.

Nothing here knows about calls or Prometheus; everything else in :mod:`medical_insurance_sdk.core`
builds on it.
"""

__all__: list[str] = []
