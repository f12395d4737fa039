"""Envelope building (docs/protocol.md §1); msgid generation: test_client_msgid.py."""

from __future__ import annotations

import json
import re

import pytest

from medical_insurance_sdk.protocol.envelope import (
    EnvelopeDefaults,
    build_envelope,
    encode_envelope,
    next_msgid,
)

ORG = "H43010500001"


def test_msgid_shape() -> None:
    """fixmedins_code + yyyyMMddHHmmss + node digit + 3-digit sequence = 30 characters."""
    msgid = next_msgid(ORG)
    assert len(msgid) == 30
    assert re.fullmatch(ORG + r"20\d{12}\d{4}", msgid)


def test_build_envelope_has_every_required_field() -> None:
    """The envelope holds the protocol's required fields; overrides win."""
    defaults = EnvelopeDefaults(fixmedins_code=ORG, fixmedins_name="测试医院")
    envelope = build_envelope(
        defaults,
        "1101",
        "M" * 30,
        {"data": {"psn_no": "1"}},
        sign_no="SN1",
        overrides={"insuplc_admdvs": "430105"},
        now=0.0,
    )
    for name in (
        "infno",
        "msgid",
        "mdtrtarea_admvs",
        "insuplc_admdvs",
        "recer_sys_code",
        "infver",
        "opter_type",
        "opter",
        "opter_name",
        "inf_time",
        "fixmedins_code",
        "fixmedins_name",
        "sign_no",
        "input",
    ):
        assert name in envelope
    assert envelope["insuplc_admdvs"] == "430105"
    assert envelope["sign_no"] == "SN1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", envelope["inf_time"])
    decoded = json.loads(encode_envelope(envelope).decode("utf-8"))
    assert decoded == envelope
    assert "测试医院".encode() in encode_envelope(envelope)


def test_staff_and_signature_fields_stay_out_of_repr() -> None:
    """Operator data and cainfo are personal or secret (docs/protocol.md §7)."""
    defaults = EnvelopeDefaults(ORG, opter="OP-7788", opter_name="王收费", cainfo="SIG==")
    for value in ("OP-7788", "王收费", "SIG=="):
        assert value not in repr(defaults)


def test_defaults_are_validated_loudly() -> None:
    """Too long or empty institution codes fail at construction."""
    with pytest.raises(ValueError, match="fixmedins_code"):
        EnvelopeDefaults(fixmedins_code="H" * 13)
    with pytest.raises(ValueError, match="must not be empty"):
        EnvelopeDefaults(fixmedins_code="")
