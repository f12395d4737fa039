"""The request envelope (交易输入, docs/protocol.md §1).

Message ids come from :mod:`.msgid` (re-exported here): fixmedins_code +
``yyyyMMddHHmmss`` + a node digit + a sequence shared by the host's processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from medical_insurance_sdk.protocol.msgid import MsgIdGenerator, next_msgid

__all__ = [
    "DEFAULT_PATH",
    "ENVELOPE_FIELDS",
    "EnvelopeDefaults",
    "MsgIdGenerator",
    "build_envelope",
    "encode_envelope",
    "encode_json",
    "next_msgid",
]

#: The usual service path of the platform's single endpoint (docs/protocol.md §3).
DEFAULT_PATH = "/fsi/api/rsfComIfsService/callService"

#: Maximum lengths of the envelope fields (docs/protocol.md §1); ``input`` is checked encoded.
ENVELOPE_FIELDS: Mapping[str, int] = {
    "infno": 6,
    "msgid": 30,
    "mdtrtarea_admvs": 6,
    "insuplc_admdvs": 6,
    "recer_sys_code": 10,
    "dev_no": 100,
    "dev_safe_info": 2000,
    "cainfo": 1024,
    "signtype": 10,
    "infver": 6,
    "opter_type": 3,
    "opter": 30,
    "opter_name": 50,
    "inf_time": 19,
    "fixmedins_code": 12,
    "fixmedins_name": 20,
    "sign_no": 30,
}
#: Maximum size of the encoded ``input`` node.
MAX_INPUT_CHARS = 40000


@dataclass(frozen=True)
class EnvelopeDefaults:
    """Envelope fields fixed per deployment; each call may override any of them."""

    fixmedins_code: str
    fixmedins_name: str = ""
    mdtrtarea_admvs: str = "430299"
    insuplc_admdvs: str = ""
    recer_sys_code: str = "MBS_LOCAL"
    infver: str = "V1.0"
    opter_type: str = "1"
    opter: str = field(default="SDK001", repr=False)  # staff data (docs/protocol.md §7)
    opter_name: str = field(default="SDK", repr=False)
    dev_no: str = ""
    dev_safe_info: str = field(default="", repr=False)
    cainfo: str = field(default="", repr=False)  # a signature: secret
    signtype: str = ""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            limit = ENVELOPE_FIELDS[name]
            if len(value) > limit:
                raise ValueError(f"envelope field {name} is longer than {limit} characters")
        if not self.fixmedins_code:
            raise ValueError("fixmedins_code (org_code) must not be empty")

    @cached_property
    def fields(self) -> Mapping[str, str]:
        """The fields as a read-only mapping, computed once."""
        return MappingProxyType(asdict(self))


def build_envelope(
    defaults: EnvelopeDefaults,
    infno: str,
    msgid: str,
    input_data: Mapping[str, Any],
    *,
    sign_no: str = "",
    overrides: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Build the envelope dict for one request; ``overrides`` replace any default field."""
    envelope: dict[str, Any] = {
        "infno": infno,
        "msgid": msgid,
        **defaults.fields,
        "inf_time": time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(time.time() if now is None else now)
        ),
        "sign_no": sign_no,
        "input": input_data,
    }
    if overrides:
        envelope.update(overrides)
    return envelope


def encode_json(value: Any) -> bytes:
    """The platform's wire form of JSON: compact, UTF-8, Chinese kept as is.

    Whatever is signed (``cainfo``) or encrypted is this exact text, on both sides.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """Serialise an envelope for sending (:func:`encode_json`)."""
    return encode_json(envelope)
