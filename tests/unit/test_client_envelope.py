"""Envelope building and msgid generation (docs/protocol.md §1)."""

from __future__ import annotations

import json
import re
import threading

import pytest

from medical_insurance_sdk.client.envelope import (
    EnvelopeDefaults,
    MsgIdGenerator,
    build_envelope,
    encode_envelope,
    next_msgid,
)

ORG = "H43010500001"


class SteppingClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_msgid_shape() -> None:
    """fixmedins_code + yyyyMMddHHmmss + 4 digits = 30 characters."""
    msgid = next_msgid(ORG)
    assert len(msgid) == 30
    assert re.fullmatch(ORG + r"20\d{12}\d{4}", msgid)


def test_msgids_unique_across_threads() -> None:
    """8 threads x 3000 ids from one generator never collide, even past 9999 per second."""
    generator = MsgIdGenerator(SteppingClock(1_700_000_000.0))
    results: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(generator.next(ORG) for _ in range(3000))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [msgid for out in results for msgid in out]
    assert len(set(ids)) == 24000
    assert all(len(msgid) == 30 for msgid in ids)


def test_sequence_overflow_moves_to_the_next_second() -> None:
    """The 10001st id in one second carries the next second, sequence 0000."""
    clock = SteppingClock(1_700_000_000.0)
    generator = MsgIdGenerator(clock)
    ids = [generator.next(ORG) for _ in range(10001)]
    assert ids[9999].endswith("9999")
    assert ids[10000].endswith("0000")
    assert ids[10000][12:26] > ids[9999][12:26]


def test_clock_stepping_back_never_repeats_an_id() -> None:
    """A wall clock jumping backwards keeps ids increasing and unique."""
    clock = SteppingClock(1_700_000_100.0)
    generator = MsgIdGenerator(clock)
    first = generator.next(ORG)
    clock.now -= 3600
    second = generator.next(ORG)
    assert second != first
    assert second[12:] > first[12:]


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
