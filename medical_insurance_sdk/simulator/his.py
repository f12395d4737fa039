"""A HIS traffic generator: what a hospital's front desk sends to the platform.

:class:`HisWorker` runs scenarios through a real client, drawn from a mix: a whole
outpatient visit (1101 → 2201 → 2203 → 2204 → 2206 → 2207, now and then 2208), a person
lookup (1101), a catalog download (1301/1305/1307, half the time followed by fetching the
catalog's file through 9102) or a dictionary query (1901). Errors
are part of the traffic: they are counted by error code, never raised. A 2207 whose
outcome is unknown (a timeout, a reset, a 5xx, an unreadable or oversized answer: see
:mod:`medical_insurance_sdk.client.outcomes`) is recovered as the protocol says, with 2601
冲正 and the original msgid, repeated while the 2601's own outcome is unknown; a 2601 that
finds nothing to reverse (the 2207 never took effect) completes the recovery too.
Used by ``misdk demo`` and by load tests against the simulator.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from medical_insurance_sdk.client.outcomes import ReversalResult
from medical_insurance_sdk.exceptions import MedicalInsuranceError
from medical_insurance_sdk.simulator.workload import Visit, new_visit

__all__ = ["DEFAULT_MIX", "HisStats", "HisWorker", "SyncCaller"]

#: Scenario -> weight.
DEFAULT_MIX: dict[str, float] = {
    "visit": 0.55,
    "lookup": 0.30,
    "catalog": 0.05,
    "dictionary": 0.10,
}
_CATALOGS = ("1301", "1305", "1307")
#: How often a HIS sends the same 2601 while its own outcome stays unknown.
_REVERSAL_ATTEMPTS = 3


class SyncCaller(Protocol):
    """The part of :class:`~medical_insurance_sdk.client.MedicalInsuranceClient` used."""

    def call(self, api_code: str, input_data: dict[str, Any], /, **kwargs: Any) -> dict[str, Any]:
        """Call one transaction."""
        ...

    def reverse(self, omsgid: str, oinfno: str, psn_no: str) -> ReversalResult:
        """2601 冲正."""
        ...

    def download_file(self, file_qury_no: str, filename: str) -> bytes:
        """9102 文件下载."""
        ...


@dataclass
class HisStats:
    """What the workers did (shared, thread-safe through its lock)."""

    scenarios: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    settled: int = 0
    outcome_unknown: int = 0
    reversed: int = 0
    #: Unknown outcomes the platform never applied (2601: nothing to reverse).
    nothing_to_reverse: int = 0
    #: Unknown outcomes left for reconciliation (3201/3202): every 2601 failed.
    unreversed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, **changes: int) -> None:
        """Add to the integer counters by name."""
        with self.lock:
            for name, delta in changes.items():
                setattr(self, name, getattr(self, name) + delta)


class HisWorker:
    """Runs scenarios through one client until ``stop`` is set."""

    def __init__(
        self,
        client: SyncCaller,
        rng: random.Random,
        stats: HisStats,
        *,
        serial_base: int = 0,
        mix: dict[str, float] | None = None,
    ) -> None:
        self.client = client
        self.rng = rng
        self.stats = stats
        self._serial = serial_base
        mix = mix or DEFAULT_MIX
        self._names = list(mix)
        self._weights = [mix[name] for name in self._names]
        self._scenarios: dict[str, Callable[[], None]] = {
            "visit": self.visit,
            "lookup": self.lookup,
            "catalog": self.catalog,
            "dictionary": self.dictionary,
        }

    def run(self, stop: threading.Event) -> None:
        """Run scenarios until ``stop`` is set."""
        while not stop.is_set():
            self.step()

    def step(self) -> None:
        """Run one scenario drawn from the mix; count its outcome."""
        name = self.rng.choices(self._names, self._weights)[0]
        try:
            self._scenarios[name]()
        except MedicalInsuranceError as exc:
            with self.stats.lock:
                self.stats.errors[exc.error_code] += 1
        with self.stats.lock:
            self.stats.scenarios[name] += 1

    def _visit(self) -> Visit:
        self._serial += 1
        return new_visit(self.rng, self._serial)

    def lookup(self) -> None:
        """A person lookup (1101), e.g. at registration."""
        self.client.call("1101", self._visit().person_query())

    def catalog(self) -> None:
        """A catalog download; half the time the catalog's file is fetched too (9102)."""
        code = self.rng.choice(_CATALOGS)
        self.client.call(code, {"data": {"ver": str(self.rng.randint(0, 3))}})
        if self.rng.random() < 0.5:
            self.client.download_file(f"CATALOG-{code}", f"{code}.txt")

    def dictionary(self) -> None:
        """A dictionary query."""
        self.client.call("1901", {"data": {"type": self.rng.choice(("INSUTYPE", "MED_TYPE"))}})

    def visit(self) -> None:
        """A whole outpatient visit, settled; sometimes reversed afterwards."""
        visit = self._visit()
        client = self.client
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2203", visit.visit_upload())
        client.call("2204", visit.fee_upload())
        client.call("2206", visit.settlement())
        try:
            settled = client.call("2207", visit.settlement(), insuplc_admdvs=visit.insuplc_admdvs)
        except MedicalInsuranceError as exc:
            if exc.outcome_unknown and exc.msgid:
                self.stats.count(outcome_unknown=1)
                self._recover(exc.msgid, "2207", visit.psn_no)
            raise
        self.stats.count(settled=1)
        visit.setl_id = settled["setlinfo"]["setl_id"]
        if self.rng.random() < 0.03:
            client.call("2208", visit.settlement_reversal())

    def _recover(self, omsgid: str, oinfno: str, psn_no: str) -> None:
        """Reverse an unknown outcome (2601, idempotent: resent while its outcome is unknown)."""
        for _ in range(_REVERSAL_ATTEMPTS):
            try:
                result = self.client.reverse(omsgid, oinfno, psn_no)
            except MedicalInsuranceError as exc:
                with self.stats.lock:
                    self.stats.errors[exc.error_code] += 1
                if exc.outcome_unknown:
                    continue
                break
            if result.reversed:
                self.stats.count(reversed=1)
            else:
                self.stats.count(nothing_to_reverse=1)
            return
        self.stats.count(unreversed=1)
