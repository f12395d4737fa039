"""Masking of personal data (docs/protocol.md §7): one module, every shape of the data."""

from __future__ import annotations

import datetime
import re
import string
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pii_shapes import FILLER_CJK, Secret, bank_cards, embedded, id_numbers, phones

from medical_insurance_sdk.redaction import (
    MAX_MESSAGE_CHARS,
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


# -- shapes that used to get through -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ID440106199001011235不存在", "ID440106********1235不存在"),
        ("证件NO11010519491231002X有误", "证件NO110105********002X有误"),
        ("old440106900101123", "old440106*****1123"),
        ("手机+8613912345678", "手机+86139****5678"),
        ("手机8613912345678", "手机86139****5678"),
        ("联系 0086 13912345678", "联系 0086 139****5678"),
        ("电话 139-1234-5678 无效", "电话 139-****-5678 无效"),
        ("电话 139 1234 5678 无效", "电话 139 **** 5678 无效"),
        ("+86 139 1234 5678", "+86 139 **** 5678"),
        ("卡号6222021234567890 余额不足", "卡号622202******7890 余额不足"),
        ("卡号 6222021234567890123", "卡号 622202*********0123"),
        ("卡号 6217 0000 1000 0000 011", "卡号 6217 00** **** ***0 011"),
        ("CARD6217000010000000011", "CARD621700*********0011"),
        ("姓名 张三", "姓名 张*"),
        ("姓名为张三", "姓名为张*"),
        ("姓名：张三", "姓名：张*"),
        ("姓名是欧阳娜娜，", "姓名是欧***，"),
        ('{"name":"张三"}', '{"name":"张*"}'),
        ('"psn_name": "张三"', '"psn_name": "张*"'),
        ("psn_name 张三 不存在", "psn_name 张* 不存在"),
        ("证件号码440106 19900101 1235不存在", "证件号码440106 ******** 1235不存在"),
        ("证件号码：440106 19900101 1235", "证件号码：440106 ******** 1235"),
        ("号码 4401 0619 9001 0112 35 有误", "号码 4401 06** **** **12 35 有误"),
        ("号码 440106-19900101-1235", "号码 440106-********-1235"),
        ("tel: 139 1234 5678", "tel: 139 **** 5678"),
        ("psn_no=4", "psn_no=*"),
        ("证件号码：４４０１０６１９９００１０１１２３５", "证件号码：440106********1235"),
        ("身份证４４０１０６１９９００１０１１２３５有误", "身份证440106********1235有误"),
        ("手机１３９１２３４５６７８", "手机139****5678"),
    ],
    ids=lambda v: v if len(v) < 40 else None,
)
def test_mask_text_shapes_that_used_to_leak(text: str, expected: str) -> None:
    """IDs after letters or in groups, +86/spaced phones, cards and keyed names are masked."""
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "人员编号[psn_no]不能为空",
        "证件号码[certno]不能为空",
        "就诊凭证编号[mdtrt_cert_no]长度不能超过50",
        "H43010500001",
        "H13010500001",
        "机构H13010500001未签到",
        "msgid=H13010500001202612021305420001",
        "H44010600001199001011235000001",
        "infcode=-1 infno=2207 金额 12345678.90 元",
        "发生时间 2026-11-28 02:17:48",
        "20261128021748",
        "交易 1101 2201 2203 2204 2206 2207",
        "人员姓名不能为空",
        "姓名为空",
        "姓名 格式错误",
        "file name: report.csv",
        "请求失败，错误码 500100",
    ],
)
def test_codes_field_names_and_plain_numbers_stay_readable(text: str) -> None:
    """Field names, institution codes, msgids, infcodes, amounts and dates are not masked."""
    assert mask_text(text) == text


@given(embedded())
def test_personal_data_in_random_text_is_masked(case: tuple[str, Secret, str]) -> None:
    """Any ID, phone, card or keyed name inside random text never shows its clue."""
    text, secret, around = case
    assume(not secret.exposed_in(around))
    masked = mask_text(text)
    assert not secret.exposed_in(masked), (text, masked)
    assert mask_text(masked) == masked


_SAFE_CJK = "".join(ch for ch in FILLER_CJK if ch not in "为是")
_SAFE_TEXT = st.text(alphabet=string.ascii_letters + "., ;!?()/" + _SAFE_CJK, max_size=30)


@st.composite
def _msgids(draw: st.DrawFn) -> tuple[str, str]:
    province = draw(st.sampled_from(["11", "13", "14", "15", "43", "44", "65"]))
    org = (
        "H"
        + province
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    when = draw(st.datetimes(datetime.datetime(2020, 1, 1), datetime.datetime(2035, 12, 31)))
    seq = draw(st.integers(0, 9999))
    return org, f"{org}{when:%Y%m%d%H%M%S}{seq:04d}"


@given(_msgids(), _SAFE_TEXT, _SAFE_TEXT)
def test_msgids_and_org_codes_survive_masking(
    ids: tuple[str, str], before: str, after: str
) -> None:
    """A 12-character org code and a 30-character msgid (org + timestamp + seq) are kept."""
    org, msgid = ids
    text = f"{before} 机构{org} msgid={msgid} infcode=-1 {after}"
    masked = mask_text(text)
    assert f"机构{org} msgid={msgid} infcode=-1" in masked


# -- bounded messages --------------------------------------------------------------------------

MARKER = re.compile(r"…\(已截断，原长 (\d+) 字符\)\Z")


def test_long_text_is_masked_then_cut_with_a_marker() -> None:
    """A 5 MB message becomes MAX_MESSAGE_CHARS characters ending in the marker."""
    text = "证件号码[440106199001011235]" + ("患者 13912345678 卡 6222021234567890 " * 200_000)
    masked = mask_text(text)
    assert len(masked) <= MAX_MESSAGE_CHARS
    match = MARKER.search(masked)
    assert match is not None
    assert int(match.group(1)) == len(text)
    assert masked.startswith("证件号码[440106********1235]患者 139****5678 卡 622202******7890")
    assert "13912345678" not in masked
    assert "6222021234567890" not in masked
    assert mask_text(masked) == masked


def test_masking_that_shortens_enough_adds_no_marker() -> None:
    """A long value whose masked form fits is returned whole, without a marker."""
    text = "psn_no=" + "7" * 600 + " 失败"
    assert mask_text(text) == "psn_no=7******** 失败"


def test_limit_none_masks_without_bounding() -> None:
    """limit=None masks the whole text and cuts nothing."""
    text = "x" * 2000 + " 13912345678"
    assert mask_text(text, limit=None) == "x" * 2000 + " 139****5678"


def test_a_limit_too_small_for_the_marker_is_refused() -> None:
    """An explicit limit below 64 raises ValueError naming the problem."""
    with pytest.raises(ValueError, match="limit must be >= 64"):
        mask_text("短", limit=10)


@pytest.mark.parametrize("shift", range(-24, 4))
def test_the_cut_never_ends_inside_a_masked_token(shift: int) -> None:
    """Wherever the cut falls, the kept text holds all of a masked ID or none of it."""
    limit = 100
    keep = limit - len(f"…(已截断，原长 {1000} 字符)")
    text = "测" * (keep + shift) + " 440106199001011235 " + "测" * (1000 - keep - shift - 20)
    assert len(text) == 1000
    kept = MARKER.sub("", mask_text(text, limit=limit))
    assert re.fullmatch(r"测+(?: 440106\*{8}1235(?: 测*)?)? ?", kept), kept


@settings(max_examples=300)
@given(
    secret=st.one_of(id_numbers(), phones(), bank_cards()),
    limit=st.integers(64, 160),
    at=st.integers(0, 700),
    shrink=st.integers(0, 600),
    filler=st.sampled_from(["测", "x", "。", "a1"]),
)
def test_a_cut_never_shows_part_of_a_number(
    secret: Secret, limit: int, at: int, shrink: int, filler: str
) -> None:
    """Numbers straddling the masking window or the final cut never show their clue.

    A keyed value that masking shortens (``psn_no=777…``) pulls the window's end into the
    kept text, so a number cut by the window would show if it were not starred first.
    """
    head = f"psn_no={'7' * shrink}，" if shrink else ""
    body = (filler * at)[:at]
    text = head + body + "，" + secret.text + "，" + "测" * (8 * limit)
    masked = mask_text(text, limit=limit)
    assert len(masked) <= limit
    assert not secret.exposed_in(masked), masked
    assert mask_text(masked, limit=limit) == masked


@pytest.mark.parametrize(
    "text",
    [
        "1" * 5_000_000,
        "1 " * 2_500_000,
        "4-" * 2_500_000,
        "姓名 " * 1_700_000,
        "psn_no=" * 700_000,
        "name" + " " * 5_000_000,
        "张" * 5_000_000,
        "+86 " * 1_250_000,
        "440106199001011235 " * 250_000,
        "6217 " * 1_000_000,
    ],
    ids=["digits", "spaced", "hyphens", "name-keys", "keys", "spaces", "cjk", "cc", "ids", "card"],
)
def test_masking_hostile_long_text_is_fast(text: str) -> None:
    """Masking 5 MB of adversarial text costs milliseconds: the window is bounded."""
    started = time.perf_counter()
    masked = mask_text(text)
    assert time.perf_counter() - started < 1.0  # generous: it takes a few ms
    assert len(masked) <= MAX_MESSAGE_CHARS


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789 -+X姓名为：张三abc:=[", min_size=2000, max_size=4000))
def test_masking_unbounded_text_is_linear(text: str) -> None:
    """Masking 4000 characters of number-like text whole stays well under a second."""
    started = time.perf_counter()
    mask_text(text, limit=None)
    assert time.perf_counter() - started < 1.0
