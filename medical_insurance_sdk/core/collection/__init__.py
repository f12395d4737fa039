"""Recording calls: the staged call, the channel, the columnar store, pending calls, labels,
gauges and counters, custom metrics, system samples, and the statistics read back.

The hot path lives here (:mod:`.staged`, :mod:`.channel`, :mod:`.store`); it needs no
Prometheus.
"""

__all__: list[str] = []
