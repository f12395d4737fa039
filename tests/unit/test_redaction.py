"""Masking of personal data (docs/protocol.md §7): one module, every shape of the data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medical_insurance_sdk.core.redaction import (
    PERSONAL_KEYS,
    mask_certno,
    mask_mapping,
    mask_phone,
    mask_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("证件号码[440106199001011235]校验不通过", "证件号码[440106********1235]校验不通过"),
        ("身份证 11010519491231002X 不存在", "身份证 110105********002X 不存在"),
        ("身份证 11010519491231002x 不存在", "身份证 110105********002x 不存在"),
        ("旧证件 440106900101123 有误", "旧证件 440106*****1123 有误"),
        ("联系人手机13812345678", "联系人手机138****5678"),
        ("姓名：张三，性别男", "姓名：张*，性别男"),
        ("人员姓名[李四]参保状态异常", "人员姓名[李*]参保状态异常"),
        ("人员姓名【王小五】不存在", "人员姓名【王**】不存在"),
        ('{"psn_name": "王五", "x": 1}', '{"psn_name": "王*", "x": 1}'),
        ("psn_no=43000000000000123 failed", "psn_no=4******** failed"),
        ("certno=440106199001011235,x", "certno=440106********1235,x"),
        ("tel:13812345678", "tel:138****5678"),
    ],
    ids=[
        "id18-bracket",
        "id18-X",
        "id18-x",
        "id15",
        "phone",
        "name-colon",
        "name-bracket",
        "name-cjk-bracket",
        "json-name",
        "psn_no",
        "certno-keyed",
        "tel-keyed",
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    """Personal values are masked in free text; the rest is kept."""
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "message: hello",
        "storage=big",
        "usage: 5",
        "H43010500001202611280217480001",
        "infcode=-1 infno=2207",
        "",
    ],
)
def test_safe_text_is_left_alone(text: str) -> None:
    """Words containing personal keys, msgids and codes are not masked."""
    assert mask_text(text) == text


def test_mask_certno_and_phone_shapes() -> None:
    """ID numbers keep region and last 4; phones keep 3 + 4; short values vanish."""
    assert mask_certno("440106199001011234") == "440106********1234"
    assert mask_certno("12345") == "*****"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("123") == "***"


def test_mask_mapping_masks_personal_keys_deeply() -> None:
    """Nested personal keys become *** and free text is masked."""
    data = {
        "baseinfo": {"psn_name": "张三", "certno": "440106199001011235", "gend": "1"},
        "insuinfo": [{"balc": 100.0, "insutype": "310"}],
        "note": "电话13812345678",
    }
    masked = mask_mapping(data)
    assert masked == {
        "baseinfo": {"psn_name": "***", "certno": "***", "gend": "***"},
        "insuinfo": [{"balc": "***", "insutype": "310"}],
        "note": "电话138****5678",
    }
    assert data["baseinfo"]["psn_name"] == "张三"


def test_personal_keys_cover_protocol_section_7() -> None:
    """Identity, visit keys and secrets of docs/protocol.md §7 are all personal keys."""
    for key in ("certno", "mdtrt_cert_no", "psn_no", "psn_name", "mdtrt_id", "setl_id"):
        assert key in PERSONAL_KEYS
    for key in ("sign_no", "cainfo", "secret_key", "access_key", "token"):
        assert key in PERSONAL_KEYS


@given(st.text(alphabet="0123456789Xx姓名证件号码[]:=： psn_noage13", max_size=60))
def test_masking_is_idempotent(text: str) -> None:
    """Masking masked text changes nothing (the collector masks again what we masked)."""
    once = mask_text(text)
    assert mask_text(once) == once


@pytest.mark.parametrize(
    "text",
    ["证件号码[440106199001011235]", "psn_name=张三", "tel:13812345678", "11010519491231002X"],
)
def test_masking_twice_keeps_the_shape(text: str) -> None:
    """The 440106********1235 shape survives a second pass."""
    assert mask_text(mask_text(text)) == mask_text(text)
