"""Input rules of the common interfaces: required fields, lengths, code values, formats.

The client checks them before sending (raising :class:`~medical_insurance_sdk.exceptions.
ValidationError`); the simulator checks the same rules to answer like the platform does
(infcode -1 with a Chinese err_msg). Problems name the field and never include its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.client.files import MAX_FILENAME_CHARS, filename_problem

__all__ = ["FIELD_LABELS", "RULES", "FieldRule", "Problem", "validate_input"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

#: Chinese labels of the fields the rules mention (used in messages).
FIELD_LABELS: Mapping[str, str] = {
    "mdtrt_cert_type": "就诊凭证类型",
    "mdtrt_cert_no": "就诊凭证编号",
    "card_sn": "卡识别码",
    "psn_cert_type": "人员证件类型",
    "certno": "证件号码",
    "psn_no": "人员编号",
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
    "medfee_sumamt": "医疗费总额",
    "psn_setlway": "个人结算方式",
    "chrg_bchno": "收费批次号",
    "acct_used_flag": "个人账户使用标志",
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
    "opter_no": "操作员编号",
    "mac": "签到MAC地址",
    "ip": "签到IP地址",
    "filename": "文件名",
    "file_qury_no": "文件查询号",
    "fixmedins_code": "定点医药机构编号",
}


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One field of an input node."""

    name: str
    required: bool = True
    max_len: int = 50
    choices: tuple[str, ...] = ()
    fmt: str = ""  # "date" | "datetime" | "number" | "filename" | ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One violated rule (the value itself is never kept)."""

    field: str
    message: str


def _r(name: str, **kwargs: Any) -> FieldRule:
    return FieldRule(name, **kwargs)


_CERT = (
    _r("mdtrt_cert_type", choices=("01", "02", "03"), max_len=3),
    _r("mdtrt_cert_no", max_len=50),
)
_FILENAME = _r("filename", max_len=MAX_FILENAME_CHARS, fmt="filename")
_FIXMEDINS = _r("fixmedins_code", max_len=12)
_SETTLE = (
    _r("psn_no", max_len=30),
    *_CERT,
    _r("med_type", max_len=6),
    _r("medfee_sumamt", fmt="number", max_len=16),
    _r("psn_setlway", choices=("01", "02"), max_len=6),
    _r("mdtrt_id", max_len=30),
    _r("chrg_bchno", max_len=30),
    _r("insutype", max_len=6),
    _r("acct_used_flag", choices=("0", "1"), max_len=1),
)

#: (input node, is the node a list, rules) per interface.
RULES: Mapping[str, tuple[str, bool, tuple[FieldRule, ...]]] = {
    "9001": ("signIn", False, (_r("opter_no", max_len=30), _r("mac", max_len=20), _r("ip"))),
    "1101": (
        "data",
        False,
        (*_CERT, _r("card_sn", required=False), _r("certno", required=False)),
    ),
    "2201": (
        "data",
        False,
        (
            _r("psn_no", max_len=30),
            _r("insutype", max_len=6),
            _r("begntime", fmt="datetime", max_len=19),
            *_CERT,
            _r("ipt_otp_no", max_len=30),
            _r("atddr_no", max_len=30),
            _r("dr_name"),
            _r("dept_code", max_len=30),
            _r("dept_name", max_len=100),
            _r("caty", max_len=10),
        ),
    ),
    "2203": (
        "mdtrtinfo",
        False,
        (
            _r("mdtrt_id", max_len=30),
            _r("psn_no", max_len=30),
            _r("med_type", max_len=6),
            _r("begntime", fmt="datetime", max_len=19),
        ),
    ),
    "2204": (
        "feedetail",
        True,
        (
            _r("feedetl_sn", max_len=30),
            _r("mdtrt_id", max_len=30),
            _r("psn_no", max_len=30),
            _r("chrg_bchno", max_len=30),
            _r("fee_ocur_time", fmt="datetime", max_len=19),
            _r("med_list_codg", max_len=50),
            _r("medins_list_codg", max_len=150),
            _r("det_item_fee_sumamt", fmt="number", max_len=16),
            _r("cnt", fmt="number", max_len=16),
            _r("pric", fmt="number", max_len=16),
        ),
    ),
    "2206": ("data", False, _SETTLE),
    "2207": ("data", False, _SETTLE),
    "2208": (
        "data",
        False,
        (_r("setl_id", max_len=30), _r("mdtrt_id", max_len=30), _r("psn_no", max_len=30)),
    ),
    "2601": (
        "data",
        False,
        (_r("psn_no", max_len=30), _r("omsgid", max_len=30), _r("oinfno", max_len=6)),
    ),
    "9101": ("fsUploadIn", False, (_FILENAME, _FIXMEDINS)),
    "9102": ("fsDownloadIn", False, (_r("file_qury_no", max_len=100), _FILENAME, _FIXMEDINS)),
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


def validate_input(api_code: str, input_data: Any) -> list[Problem]:
    """Check ``input_data`` against the rules of ``api_code``; return the problems found."""
    if not isinstance(input_data, Mapping):
        return [Problem("input", "交易输入[input]必须为JSON对象")]
    spec = RULES.get(api_code)
    if spec is None:
        return []
    node_name, is_list, rules = spec
    node = input_data.get(node_name)
    if node is None:
        return [Problem(node_name, f"交易输入节点[{node_name}]不能为空")]
    items = (node if isinstance(node, list) else [node]) if is_list else [node]
    problems: list[Problem] = []
    for item in items:
        if not isinstance(item, Mapping):
            return [Problem(node_name, f"交易输入节点[{node_name}]格式错误")]
        for rule in rules:
            message = _check_value(rule, item.get(rule.name))
            if message is not None:
                problems.append(Problem(rule.name, message))
        if item.get("mdtrt_cert_type") == "03" and not item.get("card_sn"):
            problems.append(Problem("card_sn", f"使用社保卡就诊时{_label('card_sn')}不能为空"))
    return problems
