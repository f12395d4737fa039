"""What the real client would record for one simulated request: duration, error code, unknown.

The simulator's :class:`~medical_insurance_sdk.simulator.FaultPlan` draws a latency and a
fault per request; this module turns the pair into the record the client makes, using the
client's own pieces: the platform's answers (:class:`Platform`: the refusal of a mistyped
ID number, the text of an injected business error), the client's translation of answers
into exceptions (``business_error``, ``http_status_error``, ``NetworkError``,
``ReadTimeoutError``), its per-category read timeouts (:class:`Timeouts`), its error codes
(``error_code_of``) and its unknown-outcome rule (``mark_outcome``). How each fault reaches
the client is the simulator's server (``simulator/server.py``): ``http_5xx``/``html_502``
answer at once after the latency, ``reset`` breaks the answer after the latency, ``hang``
answers only after the latency plus ``hang_seconds`` (so a read timeout shorter than that
ends the call at the timeout).

Retries are not modelled: the timelines fault only W$ calls (never resent) and business
refusals (never retried), and :func:`client_outcome` refuses a fault the client would
retry on an R call rather than record it wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.client.errors import business_error, http_status_error
from medical_insurance_sdk.client.outcomes import RULES, classify, mark_outcome
from medical_insurance_sdk.client.timeouts import Timeouts
from medical_insurance_sdk.core.collection.tracking import error_code_of
from medical_insurance_sdk.exceptions import (
    MedicalInsuranceError,
    NetworkCause,
    NetworkError,
    ReadTimeoutError,
)
from medical_insurance_sdk.protocol.catalog import Kind, get_interface
from medical_insurance_sdk.simulator import Fault, FaultConfig, SimulatorConfig
from medical_insurance_sdk.simulator.platform import Platform

__all__ = ["Outcome", "OutcomeModel"]

#: Faults the bench can inject (the ones whose client-side result is modelled here).
MODELLED = frozenset(
    {Fault.BUSINESS_ERROR, Fault.HTTP_5XX, Fault.HTML_502, Fault.RESET, Fault.HANG}
)
_HTML_502 = b"<html><head><title>502 Bad Gateway</title></head></html>"


@dataclass(frozen=True)
class Outcome:
    """One call as the client records it."""

    duration_s: float
    error_code: str | None  # None: success
    unknown: bool  # a W$ call whose outcome is unknown (counted, then reversed)

    @property
    def ok(self) -> bool:
        """True for a successful call."""
        return self.error_code is None


class OutcomeModel:
    """Maps (api, latency, fault) to the client's record, with the simulator's platform."""

    def __init__(
        self,
        config: SimulatorConfig,
        org_code: str = "H43010500001",
        timeouts: Timeouts | None = None,
    ) -> None:
        self.platform = Platform(config)
        self.timeouts = timeouts if timeouts is not None else Timeouts()  # the client's default
        self.org_code = org_code
        self._msgids = 0

    def _envelope(self, api_code: str, input_data: dict[str, Any]) -> dict[str, Any]:
        self._msgids += 1
        return {
            "infno": api_code,
            "msgid": f"{self.org_code}{self._msgids:018d}",
            "fixmedins_code": self.org_code,
            "mdtrtarea_admvs": "430105",
            "infver": "V1.0",
            "opter": "0001",
            "input": input_data,
        }

    def read_timeout(self, api_code: str) -> float:
        """The client's default read timeout for ``api_code`` (seconds)."""
        read = self.timeouts.for_category(get_interface(api_code).category).read
        assert read is not None
        return float(read)

    def refusal(self, api_code: str, input_data: dict[str, Any], latency: float) -> Outcome:
        """The platform's own answer to ``input_data``, which must be a refusal."""
        reply = self.platform.handle(api_code, self._envelope(api_code, input_data))
        if reply.infcode == 0:
            raise ValueError(f"detection bench: the platform accepted the {api_code} input")
        exc = business_error(reply.infcode, reply.err_msg, api_code=api_code, msgid="")
        return self._failed(api_code, exc, latency)

    def _failed(self, api_code: str, exc: MedicalInsuranceError, duration: float) -> Outcome:
        kind = get_interface(api_code).kind
        if kind is Kind.READ and RULES[classify(exc)].retried:
            raise ValueError(
                f"detection bench: {api_code} would be retried after {exc.error_code}; "
                "retries are not modelled"
            )
        return Outcome(duration, error_code_of(exc), mark_outcome(exc, kind))

    def outcome(
        self,
        api_code: str,
        latency: float,
        fault: Fault | None,
        faults: FaultConfig,
        input_data: dict[str, Any],
    ) -> Outcome:
        """The client's record of a request the simulator answers with ``fault``."""
        if fault is None:
            return Outcome(latency, None, False)
        if fault not in MODELLED:
            raise ValueError(f"detection bench: fault {fault.value} is not modelled")
        if fault is Fault.BUSINESS_ERROR:
            envelope = self._envelope(api_code, input_data)
            reply = self.platform.random_business_error(
                api_code, envelope, faults.business_error_message
            )
            exc: MedicalInsuranceError = business_error(
                reply.infcode, reply.err_msg, api_code=api_code, msgid=""
            )
            return self._failed(api_code, exc, latency)
        if fault is Fault.HTTP_5XX:
            body = b"Service Unavailable"
            exc = http_status_error(faults.http_status, body, api_code=api_code, msgid="")
            return self._failed(api_code, exc, latency)
        if fault is Fault.HTML_502:
            exc = http_status_error(502, _HTML_502, api_code=api_code, msgid="")
            return self._failed(api_code, exc, latency)
        if fault is Fault.RESET:
            exc = NetworkError("connection reset", cause=NetworkCause.RESET, api_code=api_code)
            return self._failed(api_code, exc, latency)
        wait = latency + faults.hang_seconds  # Fault.HANG
        timeout = self.read_timeout(api_code)
        if wait <= timeout:
            return Outcome(wait, None, False)
        exc = ReadTimeoutError("read timeout", phase="read", api_code=api_code)
        return self._failed(api_code, exc, timeout)
