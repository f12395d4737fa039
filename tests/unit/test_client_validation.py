"""Input validation shared by the client (before sending) and the simulator."""

from __future__ import annotations

import pytest

from medical_insurance_sdk.protocol.validation import validate_input

GOOD_1101 = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440106199001011235"}}


def test_valid_input_has_no_problems() -> None:
    """A complete 1101 input passes; unknown interfaces are not checked."""
    assert validate_input("1101", GOOD_1101) == []
    assert validate_input("5203", {"anything": 1}) == []


@pytest.mark.parametrize(
    ("input_data", "field", "text"),
    [
        (
            {"data": {"mdtrt_cert_type": "02"}},
            "mdtrt_cert_no",
            "就诊凭证编号[mdtrt_cert_no]不能为空",
        ),
        ({"data": {"mdtrt_cert_type": "09", "mdtrt_cert_no": "x"}}, "mdtrt_cert_type", "取值"),
        ({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "x"}}, "card_sn", "社保卡"),
        ({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "x" * 51}}, "mdtrt_cert_no", "长度"),
        ({}, "data", "不能为空"),
        ([], "input", "JSON对象"),
    ],
    ids=["missing-cert", "bad-code", "card-sn", "too-long", "no-node", "not-object"],
)
def test_problems_are_named_in_chinese(input_data: object, field: str, text: str) -> None:
    """Each broken rule names the field, in Chinese, without its value."""
    problems = validate_input("1101", input_data)
    assert problems[0].field == field
    assert text in problems[0].message
    assert "x" * 51 not in problems[0].message


def test_formats_and_numbers() -> None:
    """Datetimes and amounts are checked."""
    data = {
        "psn_no": "1",
        "insutype": "310",
        "begntime": "2024/01/01",
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": "x",
        "ipt_otp_no": "1",
        "atddr_no": "1",
        "dr_name": "医生",
        "dept_code": "1",
        "dept_name": "内科",
        "caty": "A03",
    }
    assert [p.field for p in validate_input("2201", {"data": data})] == ["begntime"]
    settle = {"data": {"medfee_sumamt": "abc"}}
    fields = [p.field for p in validate_input("2207", settle)]
    assert "medfee_sumamt" in fields
    assert "mdtrt_id" in fields


def test_list_nodes_are_checked_per_item() -> None:
    """2204 feedetail items are each validated."""
    problems = validate_input("2204", {"feedetail": [{"feedetl_sn": "1"}]})
    assert {p.field for p in problems} >= {"mdtrt_id", "det_item_fee_sumamt"}
