"""The interface catalog of the national platform (docs/protocol.md §4).

One entry per transaction code (infno) with its Chinese name, an English gloss, a category
and a kind:

* ``R``: read-only: retry-safe, cacheable when the entry says so;
* ``W``: changes state: never resent automatically;
* ``W$``: moves money or reverses it: never resent, and a read timeout leaves the outcome
  unknown (recover with 2601 冲正 or reconciliation).

The client, the simulator and the reports use this module::

    >>> get_interface("1101").display_name
    '1101 人员信息获取'
    >>> get_interface("2207").kind is Kind.WRITE_MONEY
    True
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "CATALOG",
    "Category",
    "Interface",
    "Kind",
    "display_name",
    "find_interface",
    "get_interface",
    "iter_interfaces",
]


class Kind(str, enum.Enum):
    """What a transaction does to the platform's state."""

    READ = "R"
    WRITE = "W"
    WRITE_MONEY = "W$"

    @property
    def retry_safe(self) -> bool:
        """True when resending after a failure cannot change the platform's state twice."""
        return self is Kind.READ


class Category(str, enum.Enum):
    """Functional group of a transaction (used for per-category timeouts and reports)."""

    SYSTEM = "system"
    BASIC = "basic"
    CATALOG = "catalog"
    SETTLEMENT = "settlement"
    PHARMACY = "pharmacy"
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    COMPENSATION = "compensation"
    RECONCILIATION = "reconciliation"
    UPLOAD = "upload"
    QUERY = "query"
    FILE = "file"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Interface:
    """One transaction of the catalog."""

    code: str
    name: str
    name_en: str
    category: Category
    kind: Kind
    #: True when the output is about a person (docs/protocol.md §7): short cache TTL.
    personal: bool = False
    #: True when responses may be served from the client's response cache (R only).
    cacheable: bool = False
    #: Output fields that are lists but may arrive as a single object.
    list_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.cacheable and self.kind is not Kind.READ:
            raise ValueError(f"interface {self.code}: only R interfaces may be cacheable")

    @property
    def display_name(self) -> str:
        """``"1101 人员信息获取"``: code and Chinese name, as reports show it."""
        return f"{self.code} {self.name}"


_R, _W, _WM = Kind.READ, Kind.WRITE, Kind.WRITE_MONEY
_C = Category

_ENTRIES: tuple[Interface, ...] = (
    Interface("9001", "签到", "sign in (returns sign_no)", _C.SYSTEM, _W),
    Interface("9002", "签退", "sign out", _C.SYSTEM, _W),
    Interface(
        "1101",
        "人员信息获取",
        "person and insurance info",
        _C.BASIC,
        _R,
        personal=True,
        cacheable=True,
        list_fields=("insuinfo", "idetinfo"),
    ),
    Interface("1201", "医药机构信息获取", "institution info", _C.BASIC, _R, cacheable=True),
    Interface(
        "1301", "西药中成药目录下载", "drug catalog download", _C.CATALOG, _R, cacheable=True
    ),
    Interface(
        "1302", "中药饮片目录下载", "herbal catalog download", _C.CATALOG, _R, cacheable=True
    ),
    Interface(
        "1303",
        "医疗机构制剂目录下载",
        "in-house preparation catalog download",
        _C.CATALOG,
        _R,
        cacheable=True,
    ),
    Interface(
        "1305", "医疗服务项目目录下载", "services catalog download", _C.CATALOG, _R, cacheable=True
    ),
    Interface(
        "1306", "医用耗材目录下载", "consumables catalog download", _C.CATALOG, _R, cacheable=True
    ),
    Interface(
        "1307", "疾病与诊断目录下载", "diagnoses catalog download", _C.CATALOG, _R, cacheable=True
    ),
    Interface("1312", "医保目录信息查询", "catalog query", _C.CATALOG, _R, cacheable=True),
    Interface("1318", "医保目录限价信息查询", "catalog price caps", _C.CATALOG, _R, cacheable=True),
    Interface("1901", "字典表查询", "dictionary query", _C.BASIC, _R, cacheable=True),
    Interface("2001", "人员待遇享受检查", "entitlement check", _C.SETTLEMENT, _R, personal=True),
    Interface(
        "2101",
        "药店预结算",
        "pharmacy pre-settlement",
        _C.PHARMACY,
        _R,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface(
        "2102",
        "药店结算",
        "pharmacy settlement",
        _C.PHARMACY,
        _WM,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface("2103", "药店结算撤销", "pharmacy settlement reversal", _C.PHARMACY, _WM),
    Interface("2201", "门诊挂号", "outpatient registration", _C.OUTPATIENT, _W, personal=True),
    Interface("2202", "门诊挂号撤销", "outpatient registration cancel", _C.OUTPATIENT, _W),
    Interface("2203", "门诊就诊信息上传", "visit and diagnosis upload", _C.OUTPATIENT, _W),
    Interface(
        "2204",
        "门诊费用明细信息上传",
        "outpatient fee items upload",
        _C.OUTPATIENT,
        _W,
        list_fields=("result",),
    ),
    Interface("2205", "门诊费用明细信息撤销", "outpatient fee items revoke", _C.OUTPATIENT, _W),
    Interface(
        "2206",
        "门诊预结算",
        "outpatient pre-settlement",
        _C.OUTPATIENT,
        _R,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface(
        "2207",
        "门诊结算",
        "outpatient settlement",
        _C.OUTPATIENT,
        _WM,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface(
        "2208",
        "门诊结算撤销",
        "outpatient settlement reversal",
        _C.OUTPATIENT,
        _WM,
        list_fields=("setldetail",),
    ),
    Interface("2301", "住院费用明细上传", "inpatient fee items upload", _C.INPATIENT, _W),
    Interface("2302", "住院费用明细撤销", "inpatient fee items revoke", _C.INPATIENT, _W),
    Interface(
        "2303",
        "住院预结算",
        "inpatient pre-settlement",
        _C.INPATIENT,
        _R,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface(
        "2304",
        "住院结算",
        "inpatient settlement",
        _C.INPATIENT,
        _WM,
        personal=True,
        list_fields=("setldetail",),
    ),
    Interface("2305", "住院结算撤销", "inpatient settlement reversal", _C.INPATIENT, _WM),
    Interface("2401", "入院办理", "admission", _C.INPATIENT, _W, personal=True),
    Interface("2402", "出院办理", "discharge", _C.INPATIENT, _W),
    Interface("2403", "入院信息变更", "admission info change", _C.INPATIENT, _W),
    Interface("2404", "入院撤销", "admission cancel", _C.INPATIENT, _W),
    Interface("2405", "出院撤销", "discharge cancel", _C.INPATIENT, _W),
    Interface(
        "2601", "冲正交易", "reversal after unknown outcome", _C.COMPENSATION, _WM, personal=True
    ),
    Interface("3201", "对总账", "total reconciliation", _C.RECONCILIATION, _R),
    Interface(
        "3202", "对明细账", "detail reconciliation", _C.RECONCILIATION, _R, list_fields=("data",)
    ),
    Interface("4101", "结算清单信息上传", "settlement list upload", _C.UPLOAD, _W),
    Interface("5201", "就诊信息查询", "visit query", _C.QUERY, _R, personal=True),
    Interface("5202", "诊断信息查询", "diagnosis query", _C.QUERY, _R, personal=True),
    Interface("5203", "结算信息查询", "settlement query", _C.QUERY, _R, personal=True),
    Interface("5204", "费用明细查询", "fee detail query", _C.QUERY, _R, personal=True),
    Interface(
        "5205",
        "人员慢特病用药记录查询",
        "chronic disease drug record query",
        _C.QUERY,
        _R,
        personal=True,
    ),
    Interface(
        "5206", "人员累计信息查询", "person cumulative info query", _C.QUERY, _R, personal=True
    ),
    Interface(
        "5301", "人员慢特病备案查询", "chronic disease filing query", _C.QUERY, _R, personal=True
    ),
    Interface("5303", "在院信息查询", "in-hospital info query", _C.QUERY, _R, personal=True),
    Interface("9101", "文件上传", "file upload", _C.FILE, _W),
    Interface("9102", "文件下载", "file download", _C.FILE, _R),
)

#: Every interface of the catalog by code (read-only).
CATALOG: Mapping[str, Interface] = MappingProxyType({entry.code: entry for entry in _ENTRIES})


def get_interface(code: str) -> Interface:
    """Return the catalog entry for ``code``; raise ``KeyError`` if it is not in the catalog."""
    try:
        return CATALOG[code]
    except KeyError:
        raise KeyError(f"interface {code!r} is not in the catalog") from None


def find_interface(code: str) -> Interface | None:
    """Return the catalog entry for ``code``, or None."""
    return CATALOG.get(code)


def iter_interfaces() -> Iterator[Interface]:
    """Iterate over all catalog entries in code order."""
    return iter(sorted(CATALOG.values(), key=lambda entry: entry.code))


def display_name(code: str) -> str:
    """``"1101 人员信息获取"`` for known codes, the bare code otherwise (reports use this)."""
    entry = CATALOG.get(code)
    return entry.display_name if entry is not None else code
