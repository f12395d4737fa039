"""Getting the recorded calls out to Prometheus: the cumulative aggregates, the custom
collector, the ``/metrics`` server, the Pushgateway push and multiprocess mode; and the same
aggregates over OTLP (:mod:`.otel_producer`, :mod:`.otlp_export`).

Everything here but :mod:`.aggregates` and :mod:`.series_rows` needs prometheus_client (the
``[prometheus]`` extra); the OTLP modules need the ``[otel]`` extra.
"""

__all__: list[str] = []
