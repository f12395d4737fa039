"""Input rules of the common interfaces: required fields, lengths, code values, formats.

The client checks them before sending (raising :class:`~medical_insurance_sdk.exceptions.
ValidationError`); the simulator checks the same rules to answer like the platform does
(infcode -1 with a Chinese err_msg). Problems name the field and never include its value.

The rules are also the single source of ``docs/interfaces.md``
(:mod:`medical_insurance_sdk.protocol.catalog_docs`): each field carries its Chinese name
(:data:`FIELD_LABELS`), known code values (:data:`CODE_LABELS`) and an invented example.
Optional fields are listed so that the reference names everything a typical HIS sends;
they are checked only when present.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CODE_LABELS",
    "FIELD_LABELS",
    "MAX_FILENAME_CHARS",
    "RULES",
    "FieldRule",
    "InputNode",
    "Problem",
    "filename_problem",
    "validate_input",
]

#: Longest accepted filename (characters), as most file systems allow.
MAX_FILENAME_CHARS = 255
_SEPARATORS = frozenset("/\\")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

#: Chinese labels of the fields the rules mention (used in messages and the reference).
FIELD_LABELS: Mapping[str, str] = {
    "mdtrt_cert_type": "就诊凭证类型",
    "mdtrt_cert_no": "就诊凭证编号",
    "card_sn": "卡识别码",
    "psn_cert_type": "人员证件类型",
    "certno": "证件号码",
    "psn_name": "人员姓名",
    "psn_no": "人员编号",
    "psn_type": "人员类别",
    "insutype": "险种类型",
    "begntime": "开始时间",
    "ipt_otp_no": "住院/门诊号",
    "atddr_no": "医师编码",
    "dr_name": "医师姓名",
    "dept_code": "科室编码",
    "dept_name": "科室名称",
    "caty": "科别",
    "mdtrt_id": "就诊ID",
    "med_type": "医疗类别",
    "main_cond_dscr": "主要病情描述",
    "dise_codg": "病种编码",
    "dise_name": "病种名称",
    "diag_type": "诊断类别",
    "diag_srt_no": "诊断排序号",
    "diag_code": "诊断代码",
    "diag_name": "诊断名称",
    "medfee_sumamt": "医疗费总额",
    "psn_setlway": "个人结算方式",
    "chrg_bchno": "收费批次号",
    "acct_used_flag": "个人账户使用标志",
    "invono": "发票号",
    "fulamt_ownpay_amt": "全自费金额",
    "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额",
    "inscp_scp_amt": "符合政策范围金额",
    "setl_id": "结算ID",
    "omsgid": "原发送方报文ID",
    "oinfno": "原交易编号",
    "feedetl_sn": "费用明细流水号",
    "det_item_fee_sumamt": "明细项目费用总额",
    "fee_ocur_time": "费用发生时间",
    "med_list_codg": "医疗目录编码",
    "medins_list_codg": "医药机构目录编码",
    "cnt": "数量",
    "pric": "单价",
    "bilg_dept_codg": "开单科室编码",
    "bilg_dr_codg": "开单医生编码",
    "opter_no": "操作员编号",
    "mac": "签到MAC地址",
    "ip": "签到IP地址",
    "filename": "文件名",
    "file_qury_no": "文件查询号",
    "ver": "版本号",
    "page_num": "当前页数",
    "page_size": "本页数据量",
    "type": "字典类型",
    "fixmedins_code": "定点医药机构编号",
}

#: Known code values per field and their meaning (payload codes of docs/protocol.md §5).
#: For fields with ``choices`` these are the allowed values; for others, examples only.
CODE_LABELS: Mapping[str, Mapping[str, str]] = {
    "mdtrt_cert_type": {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"},
    "psn_cert_type": {"01": "居民身份证"},
    "insutype": {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"},
    "med_type": {"11": "普通门诊"},
    "psn_setlway": {"01": "按项目结算", "02": "按定额结算"},
    "acct_used_flag": {"0": "不使用个人账户", "1": "使用个人账户"},
}


def filename_problem(filename: str) -> str | None:
    """Why ``filename`` cannot be sent, or None when it is acceptable.

    A filename is a plain name: not empty, at most :data:`MAX_FILENAME_CHARS` characters,
    no path separator, no control character, not ``.`` or ``..``.
    """
    if not filename or not filename.strip():
        return "文件名[filename]不能为空"
    if len(filename) > MAX_FILENAME_CHARS:
        return f"文件名[filename]长度不能超过{MAX_FILENAME_CHARS}"
    if filename in (".", "..") or any(char in _SEPARATORS for char in filename):
        return "文件名[filename]不能包含路径"
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in filename):
        return "文件名[filename]不能包含控制字符或无法编码的字符"
    return None


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One field of an input node."""

    name: str
    required: bool = True
    max_len: int = 50
    choices: tuple[str, ...] = ()
    fmt: str = ""  # "date" | "datetime" | "number" | "filename" | ""
    #: An invented value for the reference's example input ("" leaves the field out).
    example: str | int | float = ""
    #: A condition the reference states beside the field (checked in validate_input).
    note: str = ""


@dataclass(frozen=True, slots=True)
class InputNode:
    """One node of an interface's ``input``: its name, whether it is a list, its fields."""

    name: str
    is_list: bool
    fields: tuple[FieldRule, ...]
    #: A missing required node is a problem; an optional one is checked only when present.
    required: bool = True


@dataclass(frozen=True, slots=True)
class Problem:
    """One violated rule (the value itself is never kept)."""

    field: str
    message: str


def _r(name: str, **kwargs: Any) -> FieldRule:
    return FieldRule(name, **kwargs)


_CERT_NO = "440106199001011235"
_PSN_NO = "43000011111111"
_MDTRT_ID = "MD430105000001"
_CHRG_BCHNO = "CBMZ0000000001"
_TIME = "2026-11-28 08:30:00"

_CERT = (
    _r("mdtrt_cert_type", choices=("01", "02", "03"), max_len=3, example="02"),
    _r("mdtrt_cert_no", max_len=50, example=_CERT_NO),
    _r(
        "card_sn",
        required=False,
        note="required when mdtrt_cert_type is 03 (社会保障卡)",
    ),
)
_PERSON_CERT = (
    _r("psn_cert_type", required=False, max_len=6, example="01"),
    _r("certno", required=False, example=_CERT_NO),
)
_FILENAME = _r("filename", max_len=MAX_FILENAME_CHARS, fmt="filename", example="settle-list.zip")
_FIXMEDINS = _r("fixmedins_code", max_len=12, example="H43010500001")
_SETTLE = (
    _r("psn_no", max_len=30, example=_PSN_NO),
    *_CERT,
    *_PERSON_CERT,
    _r("med_type", max_len=6, example="11"),
    _r("medfee_sumamt", fmt="number", max_len=16, example=40.5),
    _r("psn_setlway", choices=("01", "02"), max_len=6, example="01"),
    _r("mdtrt_id", max_len=30, example=_MDTRT_ID),
    _r("chrg_bchno", max_len=30, example=_CHRG_BCHNO),
    _r("insutype", max_len=6, example="310"),
    _r("acct_used_flag", choices=("0", "1"), max_len=1, example="1"),
    _r("invono", required=False, max_len=20),
    _r("fulamt_ownpay_amt", required=False, fmt="number", max_len=16, example=0),
    _r("overlmt_selfpay", required=False, fmt="number", max_len=16, example=0),
    _r("preselfpay_amt", required=False, fmt="number", max_len=16, example=0),
    _r("inscp_scp_amt", required=False, fmt="number", max_len=16, example=40.5),
)


def _node(name: str, *fields: FieldRule, is_list: bool = False, required: bool = True) -> InputNode:
    return InputNode(name, is_list, fields, required)


_CATALOG_VERSION = _node("data", _r("ver", required=False, max_len=6, example="0"), required=False)

#: The input nodes per interface; the first node is the main one. Interfaces without an
#: entry are sent as given.
RULES: Mapping[str, tuple[InputNode, ...]] = {
    "9001": (
        _node(
            "signIn",
            _r("opter_no", max_len=30, example="SDK001"),
            _r("mac", max_len=20, example="00-16-3E-2A-1B-01"),
            _r("ip", example="192.0.2.10"),
        ),
    ),
    "1101": (
        _node(
            "data",
            *_CERT,
            *_PERSON_CERT,
            _r("psn_name", required=False),
            _r("begntime", required=False, fmt="datetime", max_len=19),
        ),
    ),
    **dict.fromkeys(("1301", "1302", "1303", "1305", "1306", "1307"), (_CATALOG_VERSION,)),
    "1312": (
        _node(
            "data",
            _r("page_num", required=False, fmt="number", max_len=10, example=1),
            _r("page_size", required=False, fmt="number", max_len=10, example=50),
            required=False,
        ),
    ),
    "1901": (
        _node("data", _r("type", required=False, max_len=30, example="INSUTYPE"), required=False),
    ),
    "2201": (
        _node(
            "data",
            _r("psn_no", max_len=30, example=_PSN_NO),
            _r("insutype", max_len=6, example="310"),
            _r("begntime", fmt="datetime", max_len=19, example=_TIME),
            *_CERT,
            *_PERSON_CERT,
            _r("psn_type", required=False, max_len=6, example="11"),
            _r("psn_name", required=False),
            _r("ipt_otp_no", max_len=30, example="MZ0000000001"),
            _r("atddr_no", max_len=30, example="D430105000001"),
            _r("dr_name", example="医生甲"),
            _r("dept_code", max_len=30, example="0301"),
            _r("dept_name", max_len=100, example="内科"),
            _r("caty", max_len=10, example="A03"),
        ),
    ),
    "2203": (
        _node(
            "mdtrtinfo",
            _r("mdtrt_id", max_len=30, example=_MDTRT_ID),
            _r("psn_no", max_len=30, example=_PSN_NO),
            _r("med_type", max_len=6, example="11"),
            _r("begntime", fmt="datetime", max_len=19, example=_TIME),
            _r("main_cond_dscr", required=False, max_len=1000),
            _r("dise_codg", required=False, max_len=30, example="J06.900"),
            _r("dise_name", required=False, max_len=500, example="急性上呼吸道感染"),
        ),
        _node(
            "diseinfo",
            _r("diag_type", max_len=3, example="1"),
            _r("diag_srt_no", max_len=2, example="1"),
            _r("diag_code", max_len=20, example="J06.900"),
            _r("diag_name", max_len=255, example="急性上呼吸道感染"),
            is_list=True,
            required=False,
        ),
    ),
    "2204": (
        _node(
            "feedetail",
            _r("feedetl_sn", max_len=30, example="MZ0000000001000"),
            _r("mdtrt_id", max_len=30, example=_MDTRT_ID),
            _r("psn_no", max_len=30, example=_PSN_NO),
            _r("chrg_bchno", max_len=30, example=_CHRG_BCHNO),
            _r("fee_ocur_time", fmt="datetime", max_len=19, example=_TIME),
            _r("med_list_codg", max_len=50, example="250101001"),
            _r("medins_list_codg", max_len=150, example="250101001"),
            _r("det_item_fee_sumamt", fmt="number", max_len=16, example=40.0),
            _r("cnt", fmt="number", max_len=16, example=2),
            _r("pric", fmt="number", max_len=16, example=20.0),
            _r("bilg_dept_codg", required=False, max_len=30, example="0301"),
            _r("bilg_dr_codg", required=False, max_len=30, example="D430105000001"),
            is_list=True,
        ),
    ),
    "2206": (_node("data", *_SETTLE),),
    "2207": (_node("data", *_SETTLE),),
    "2208": (
        _node(
            "data",
            _r("setl_id", max_len=30, example="ST430105000001"),
            _r("mdtrt_id", max_len=30, example=_MDTRT_ID),
            _r("psn_no", max_len=30, example=_PSN_NO),
        ),
    ),
    "2601": (
        _node(
            "data",
            _r("psn_no", max_len=30, example=_PSN_NO),
            _r("omsgid", max_len=30, example="H43010500001202611280830000001"),
            _r("oinfno", max_len=6, example="2207"),
        ),
    ),
    "9101": (_node("fsUploadIn", _FILENAME, _FIXMEDINS),),
    "9102": (
        _node(
            "fsDownloadIn",
            _r("file_qury_no", max_len=100, example="FQ20261128000001"),
            _FILENAME,
            _FIXMEDINS,
        ),
    ),
}


def _label(name: str) -> str:
    return f"{FIELD_LABELS.get(name, name)}[{name}]"


def _check_value(rule: FieldRule, value: Any) -> str | None:
    if value is None or value == "":
        return f"{_label(rule.name)}不能为空" if rule.required else None
    if rule.fmt == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return f"{_label(rule.name)}必须为数字"
        try:
            float(value)
        except ValueError:
            return f"{_label(rule.name)}必须为数字"
        return None
    text = str(value)
    if len(text) > rule.max_len:
        return f"{_label(rule.name)}长度不能超过{rule.max_len}"
    if rule.choices and text not in rule.choices:
        return f"{_label(rule.name)}取值不在代码范围内"
    if rule.fmt == "datetime" and not _DATETIME.match(text):
        return f"{_label(rule.name)}格式应为yyyy-MM-dd HH:mm:ss"
    if rule.fmt == "date" and not _DATE.match(text):
        return f"{_label(rule.name)}格式应为yyyy-MM-dd"
    if rule.fmt == "filename":
        return filename_problem(text)
    return None


def _check_node(spec: InputNode, node: Any) -> list[Problem]:
    items = (node if isinstance(node, list) else [node]) if spec.is_list else [node]
    problems: list[Problem] = []
    for item in items:
        if not isinstance(item, Mapping):
            return [Problem(spec.name, f"交易输入节点[{spec.name}]格式错误")]
        for rule in spec.fields:
            message = _check_value(rule, item.get(rule.name))
            if message is not None:
                problems.append(Problem(rule.name, message))
        if item.get("mdtrt_cert_type") == "03" and not item.get("card_sn"):
            problems.append(Problem("card_sn", f"使用社保卡就诊时{_label('card_sn')}不能为空"))
    return problems


def validate_input(api_code: str, input_data: Any) -> list[Problem]:
    """Check ``input_data`` against the rules of ``api_code``; return the problems found."""
    if not isinstance(input_data, Mapping):
        return [Problem("input", "交易输入[input]必须为JSON对象")]
    problems: list[Problem] = []
    for spec in RULES.get(api_code, ()):
        node = input_data.get(spec.name)
        if node is None:
            if spec.required:
                return [Problem(spec.name, f"交易输入节点[{spec.name}]不能为空")]
            continue
        problems += _check_node(spec, node)
    return problems
