"""Getting the recorded calls out to Prometheus: the cumulative aggregates, the custom
collector, the ``/metrics`` server, the Pushgateway push and multiprocess mode.

Everything here but :mod:`.aggregates` needs prometheus_client (the ``[prometheus]`` extra).
"""

__all__: list[str] = []
