"""The interface catalog of docs/protocol.md §4."""

from __future__ import annotations

import pytest

from medical_insurance_sdk.protocol.catalog import (
    CATALOG,
    Category,
    Kind,
    display_name,
    find_interface,
    get_interface,
    iter_interfaces,
)

PROTOCOL_CODES = [
    "9001",
    "9002",
    "1101",
    "1201",
    "1301",
    "1302",
    "1303",
    "1305",
    "1306",
    "1307",
    "1312",
    "1318",
    "1901",
    "2001",
    "2101",
    "2102",
    "2103",
    "2201",
    "2202",
    "2203",
    "2204",
    "2205",
    "2206",
    "2207",
    "2208",
    "2301",
    "2302",
    "2303",
    "2304",
    "2305",
    "2401",
    "2402",
    "2403",
    "2404",
    "2405",
    "2601",
    "3201",
    "3202",
    "4101",
    "5201",
    "5202",
    "5203",
    "5204",
    "5205",
    "5206",
    "5301",
    "5303",
    "9101",
    "9102",
]


def test_display_name_is_code_and_chinese_name() -> None:
    """Reports show "1101 人员信息获取"."""
    assert get_interface("1101").display_name == "1101 人员信息获取"
    assert display_name("2207") == "2207 门诊结算"
    assert display_name("ABCD") == "ABCD"


def test_every_protocol_code_is_in_the_catalog() -> None:
    """The catalog holds exactly the codes of docs/protocol.md §4."""
    assert sorted(CATALOG) == sorted(PROTOCOL_CODES)


@pytest.mark.parametrize(
    ("code", "kind", "category"),
    [
        ("9001", Kind.WRITE, Category.SYSTEM),
        ("1101", Kind.READ, Category.BASIC),
        ("1301", Kind.READ, Category.CATALOG),
        ("2101", Kind.READ, Category.PHARMACY),
        ("2102", Kind.WRITE_MONEY, Category.PHARMACY),
        ("2201", Kind.WRITE, Category.OUTPATIENT),
        ("2206", Kind.READ, Category.OUTPATIENT),
        ("2207", Kind.WRITE_MONEY, Category.OUTPATIENT),
        ("2208", Kind.WRITE_MONEY, Category.OUTPATIENT),
        ("2304", Kind.WRITE_MONEY, Category.INPATIENT),
        ("2601", Kind.WRITE_MONEY, Category.COMPENSATION),
        ("3202", Kind.READ, Category.RECONCILIATION),
        ("9102", Kind.READ, Category.FILE),
    ],
    ids=lambda value: str(getattr(value, "value", value)),
)
def test_kind_and_category(code: str, kind: Kind, category: Category) -> None:
    """Kinds and categories follow the protocol table."""
    entry = get_interface(code)
    assert entry.kind is kind
    assert entry.category is category


def test_only_reads_are_retry_safe_or_cacheable() -> None:
    """W and W$ entries are never retry-safe nor cacheable."""
    for entry in iter_interfaces():
        assert entry.kind.retry_safe == (entry.kind is Kind.READ)
        if entry.cacheable:
            assert entry.kind is Kind.READ
    assert Kind.WRITE_MONEY.value == "W$"


def test_personal_flags() -> None:
    """1101 is personal (short cache TTL); catalog downloads are not."""
    assert get_interface("1101").personal
    assert get_interface("1101").cacheable
    assert not get_interface("1301").personal
    assert not get_interface("2206").cacheable


def test_unknown_codes() -> None:
    """Unknown codes raise KeyError from get_interface and give None from find_interface."""
    with pytest.raises(KeyError, match="9999"):
        get_interface("9999")
    assert find_interface("9999") is None


def test_catalog_is_read_only_and_iterates_in_order() -> None:
    """CATALOG cannot be modified; iteration is sorted by code."""
    with pytest.raises(TypeError):
        CATALOG["0000"] = get_interface("1101")  # type: ignore[index]
    codes = [entry.code for entry in iter_interfaces()]
    assert codes == sorted(codes)
    assert all(entry.name and entry.name_en for entry in iter_interfaces())


def test_cacheable_write_is_rejected() -> None:
    """A catalog entry cannot be both W and cacheable."""
    from medical_insurance_sdk.protocol.catalog import Interface

    with pytest.raises(ValueError, match="only R"):
        Interface("0001", "x", "x", Category.OTHER, Kind.WRITE, cacheable=True)
