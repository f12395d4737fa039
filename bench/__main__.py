"""Run every benchmark module and print one table; exit 1 if a budget is missed."""

from __future__ import annotations

import importlib
import sys

MODULES = (
    "bench.bench_collector",
    "bench.bench_client",
    "bench.bench_tracing",
    "bench.bench_analyzer",
    "bench.bench_incidents",
    "bench.bench_reliability",
    "bench.bench_scrape",
    "bench.bench_otlp_metrics",
    "bench.bench_history",
    "bench.bench_fleet",
    "bench.bench_anomaly",
    "bench.bench_detection",
    "bench.bench_capacity",
)


def main() -> int:
    rows = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"(skipped {name}: not present)")
            continue
        print(f"running {name} ...", flush=True)
        for row in module.run():
            rows.append((name.split(".")[-1], row))
    width = max(len(r["name"]) for _, r in rows) + 2
    print(f"\n{'suite':<16}{'measurement':<{width}}{'value':>12}  {'unit':<4}{'budget':>10}  ok")
    failed = 0
    for suite, r in rows:
        value = f"{r['value']:.3f}" if isinstance(r["value"], float) else str(r["value"])
        mark = "yes" if r["ok"] else "NO"
        failed += not r["ok"]
        print(
            f"{suite:<16}{r['name']:<{width}}{value:>12}  {r['unit']:<4}{r['budget']:>10}  {mark}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
