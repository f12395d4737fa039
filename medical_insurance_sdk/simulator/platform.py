"""The simulated platform's business logic: validation, state and outputs per interface.

Behaviour worth knowing when testing against it:

* input is validated with the same rules as the client
  (:mod:`medical_insurance_sdk.protocol.validation`); a problem gives infcode -1 and a
  Chinese err_msg;
* 1101 with an ID card (``mdtrt_cert_type`` 02) checks the ID number; a bad check digit is
  reported with the number echoed, as real platforms do, and a number whose sequence part
  (digits 15–17) is ``000`` belongs to nobody insured (also echoed);
* 2201 registers a visit (mdtrt_id); with ``strict_state`` 2203/2204/2206/2207 need it;
* 2206/2207 settle ``medfee_sumamt`` with the invariants medfee_sumamt = fund_pay_sumamt +
  psn_part_amt + hosp_part_amt and psn_part_amt = acct_pay + psn_cash_pay; 2207's
  ``medins_setl_id`` is the sender's msgid;
* 2208 reverses a settlement by setl_id; 2601 reverses the transaction sent with
  ``omsgid`` (2102, 2207, 2304, 2401) and is idempotent;
* catalog downloads (1301–1307) return rows; every other catalog code gets a generic OK;
* 9101 stores the uploaded file (bounded, :mod:`.files`) and answers its file_qury_no;
  9102 returns the file's bytes (:attr:`Reply.content`), or ``文件不存在或已过期`` for an
  unknown, evicted, expired or other institution's file_qury_no. ``CATALOG-1301`` …
  ``CATALOG-1307`` are invented catalog files (tab-separated rows), deterministic per seed.

State is bounded (oldest entries dropped) so long load tests keep constant memory.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from medical_insurance_sdk.protocol.catalog import find_interface
from medical_insurance_sdk.protocol.validation import validate_input
from medical_insurance_sdk.simulator.config import SimulatorConfig
from medical_insurance_sdk.simulator.data import (
    CATALOG_FILE_CODES,
    catalog_file,
    catalog_items,
    is_valid_certno,
    person_for,
)
from medical_insurance_sdk.simulator.files import FileStore

__all__ = ["HYGEIA", "Platform", "Reply"]

#: The platform's usual err_msg prefix (system + exception class).
HYGEIA = "MBS-cn.hsa.ais.common.exception.HygeiaException: 请求失败,错误原因："
_MAX_STATE = 100_000
_REVERSIBLE = ("2102", "2207", "2304", "2401")
_CENT = Decimal("0.01")
_CATALOG_FILE = "CATALOG-"


@dataclass(slots=True)
class Reply:
    """The business part of a response; ``content`` set: a file (9102), not an envelope."""

    infcode: int = 0
    err_msg: str = ""
    output: dict[str, Any] | str | None = field(default_factory=dict)  # str: SM4 ciphertext
    sealed: bool = False  # output is SM4 ciphertext (the response says enc_type "SM4")
    content: bytes | None = None
    filename: str = ""

    @classmethod
    def error(cls, message: str, infcode: int = -1) -> Reply:
        """A failure reply."""
        return cls(infcode=infcode, err_msg=message, output=None)


class _Bounded(OrderedDict[str, dict[str, Any]]):
    def put(self, key: str, value: dict[str, Any]) -> None:
        self[key] = value
        if len(self) > _MAX_STATE:
            self.popitem(last=False)


def _money(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


class Platform:
    """State and handlers; one instance per simulator, used from its event loop only."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._seq = itertools.count(1)
        self.sign_nos: OrderedDict[str, float] = OrderedDict()
        self.visits = _Bounded()
        self.settlements = _Bounded()
        self.settlements_by_msgid = _Bounded()
        self.reversals = _Bounded()
        self._catalog_cache: dict[str, list[dict[str, Any]]] = {}
        self._catalog_files: dict[str, bytes] = {}
        self.files = FileStore(
            config.file_store_max_files, config.file_store_max_bytes, config.file_ttl_seconds
        )
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, Any]], Reply]] = {
            "9001": self._sign_in,
            "9002": self._sign_out,
            "1101": self._person,
            "1201": self._institution,
            "1901": self._dictionary,
            "2201": self._register,
            "2202": self._generic,
            "2203": self._visit_upload,
            "2204": self._fee_upload,
            "2206": self._pre_settle,
            "2207": self._settle,
            "2208": self._settle_reverse,
            "2601": self._reverse,
            "3201": self._reconcile,
            "9102": self._download,
            **dict.fromkeys(("1301", "1302", "1303", "1305", "1306", "1307"), self._catalog),
            **dict.fromkeys(("1312", "1318"), self._catalog_query),
        }

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{time.strftime('%Y%m%d')}{next(self._seq):010d}"

    # -- entry point -----------------------------------------------------------------------

    def handle(
        self, infno: str, envelope: dict[str, Any], attachment: bytes | None = None
    ) -> Reply:
        """Process one envelope whose gateway auth already passed.

        ``attachment`` is the ``file`` part of a multipart request (9101 only).
        """
        if find_interface(infno) is None:
            return Reply.error(f"交易编号[infno={infno}]不存在")
        if attachment is not None and infno != "9101":
            return Reply.error(f"交易[infno={infno}]不接受文件上传")
        for name in ("msgid", "fixmedins_code", "mdtrtarea_admvs", "infver", "opter"):
            if not envelope.get(name):
                return Reply.error(f"报文字段[{name}]不能为空")
        if len(str(envelope["msgid"])) > 30:
            return Reply.error("发送方报文ID[msgid]长度不能超过30")
        if (
            self.config.require_sign_in
            and infno != "9001"
            and str(envelope.get("sign_no") or "") not in self.sign_nos
        ):
            return Reply.error(f"{HYGEIA}当前机构未签到或签到已失效，请先签到[9001]")
        input_data = envelope.get("input")
        problems = validate_input(infno, input_data)
        if problems:
            return Reply.error(problems[0].message)
        assert isinstance(input_data, dict)
        if infno == "9101":
            return self._upload(envelope, input_data, attachment)
        handler = self._handlers.get(infno, self._generic)
        return handler(envelope, input_data)

    def random_business_error(
        self, infno: str, envelope: dict[str, Any], message: str = ""
    ) -> Reply:
        """The answer of an injected business error; echoes the certificate when present.

        ``message``, when given, is the err_msg as is.
        """
        if message:
            return Reply.error(message)
        data = envelope.get("input")
        node = data.get("data") if isinstance(data, dict) else None
        cert = ""
        if isinstance(node, dict):
            cert = str(node.get("certno") or node.get("mdtrt_cert_no") or "")
        if cert:
            return Reply.error(f"{HYGEIA}人员[证件号码:{cert}]参保状态异常，暂停享受待遇")
        return Reply.error(f"{HYGEIA}医保核心系统繁忙，请稍后重试[{infno}]")

    # -- handlers --------------------------------------------------------------------------

    def _generic(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        return Reply(output={"result": "1", "infno": envelope.get("infno")})

    def _sign_in(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        sign_no = self._next_id("SN")
        self.sign_nos[sign_no] = time.time()
        if len(self.sign_nos) > _MAX_STATE:
            self.sign_nos.popitem(last=False)
        return Reply(
            output={
                "signinoutb": {"sign_time": time.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": sign_no}
            }
        )

    def _sign_out(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data.get("signOut") or {}
        sign_no = str(node.get("sign_no") or envelope.get("sign_no") or "")
        if sign_no not in self.sign_nos:
            return Reply.error(f"{HYGEIA}签退失败：当前机构未签到")
        del self.sign_nos[sign_no]
        return Reply(output={"signoutoutb": {"sign_time": time.strftime("%Y-%m-%d %H:%M:%S")}})

    def _person(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        cert_type = str(node["mdtrt_cert_type"])
        cert = str(node["mdtrt_cert_no"])
        if cert_type == "02":
            if not is_valid_certno(cert):
                return Reply.error(f"{HYGEIA}证件号码[{cert}]校验不通过，请核实")
            if cert[14:17] == "000":
                return Reply.error(f"{HYGEIA}根据证件号码[{cert}]未查询到参保人员信息")
        person = person_for(cert, self.config.seed)
        return Reply(
            output={
                "baseinfo": person.baseinfo(),
                "insuinfo": person.insuinfo(),
                "idetinfo": person.idetinfo(),
            }
        )

    def _institution(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        code = str(envelope.get("fixmedins_code"))
        return Reply(
            output={
                "medinsinfo": [
                    {
                        "fixmedins_code": code,
                        "fixmedins_name": envelope.get("fixmedins_name") or code,
                        "uscc": "12430000000000000X",
                        "fixmedins_type": "1",
                        "hosp_lv": "11",
                    }
                ]
            }
        )

    def _dictionary(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data.get("data") or {}
        kind = str(node.get("type") or "INSUTYPE")
        return Reply(
            output={
                "list": [
                    {"type": kind, "label": "职工基本医疗保险", "value": "310", "sort": 1},
                    {"type": kind, "label": "城乡居民基本医疗保险", "value": "390", "sort": 2},
                ]
            }
        )

    def _register(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        mdtrt_id = self._next_id("MD")
        self.visits.put(
            mdtrt_id,
            {"psn_no": str(node["psn_no"]), "insutype": str(node["insutype"]), "fees": {}},
        )
        return Reply(
            output={
                "data": {
                    "mdtrt_id": mdtrt_id,
                    "psn_no": node["psn_no"],
                    "ipt_otp_no": node["ipt_otp_no"],
                    "exp_content": "",
                }
            }
        )

    def _visit(self, mdtrt_id: str) -> tuple[dict[str, Any] | None, Reply | None]:
        visit = self.visits.get(mdtrt_id)
        if visit is None and self.config.strict_state:
            return None, Reply.error(f"{HYGEIA}就诊信息[mdtrt_id]不存在或已撤销")
        return visit, None

    def _visit_upload(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        _, error = self._visit(str(data["mdtrtinfo"]["mdtrt_id"]))
        return error or Reply(output={})

    def _fee_upload(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        items = data["feedetail"]
        items = items if isinstance(items, list) else [items]
        result = []
        for item in items:
            visit, error = self._visit(str(item["mdtrt_id"]))
            if error is not None:
                return error
            amount = Decimal(str(item["det_item_fee_sumamt"]))
            if visit is not None:
                batch = str(item["chrg_bchno"])
                visit["fees"][batch] = visit["fees"].get(batch, Decimal(0)) + amount
            result.append(
                {
                    "feedetl_sn": item["feedetl_sn"],
                    "det_item_fee_sumamt": _money(amount),
                    "cnt": item["cnt"],
                    "pric": item["pric"],
                    "pric_uplmt_amt": item["pric"],
                    "selfpay_prop": 0,
                    "fulamt_ownpay_amt": 0,
                    "overlmt_amt": 0,
                    "preselfpay_amt": 0,
                    "inscp_scp_amt": _money(amount),
                    "chrgitm_lv": "01",
                    "med_chrgitm_type": "09",
                    "memo": "",
                }
            )
        return Reply(output={"result": result})

    def _compute(self, envelope: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        """Split medfee_sumamt between fund, account and cash (exact to the cent)."""
        total = Decimal(str(node["medfee_sumamt"])).quantize(_CENT)
        person = person_for(str(node["mdtrt_cert_no"]), self.config.seed)
        ratio = Decimal("0.70") if str(node["insutype"]) == "310" else Decimal("0.55")
        hifp = (total * ratio).quantize(_CENT, rounding=ROUND_HALF_UP)
        hosp = Decimal(0)
        psn_part = total - hifp - hosp
        balc = Decimal(str(person.balc)).quantize(_CENT)
        acct = min(balc, psn_part) if str(node["acct_used_flag"]) == "1" else Decimal(0)
        cash = psn_part - acct
        return {
            "mdtrt_id": node["mdtrt_id"],
            "psn_no": node["psn_no"],
            "psn_name": person.psn_name,
            "psn_cert_type": "01",
            "certno": person.certno,
            "gend": person.gend,
            "naty": "01",
            "brdy": person.brdy,
            "age": person.age,
            "insutype": node["insutype"],
            "psn_type": "11",
            "cvlserv_flag": "0",
            "setl_time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "mdtrt_cert_type": node["mdtrt_cert_type"],
            "med_type": node["med_type"],
            "medfee_sumamt": _money(total),
            "fulamt_ownpay_amt": 0.0,
            "overlmt_selfpay": 0.0,
            "preselfpay_amt": 0.0,
            "inscp_scp_amt": _money(total),
            "act_pay_dedc": 0.0,
            "hifp_pay": _money(hifp),
            "pool_prop_selfpay": float(ratio),
            "cvlserv_pay": 0.0,
            "hifes_pay": 0.0,
            "hifmi_pay": 0.0,
            "hifob_pay": 0.0,
            "maf_pay": 0.0,
            "oth_pay": 0.0,
            "fund_pay_sumamt": _money(hifp),
            "psn_part_amt": _money(psn_part),
            "acct_pay": _money(acct),
            "psn_cash_pay": _money(cash),
            "hosp_part_amt": _money(hosp),
            "balc": _money(balc - acct),
            "acct_mulaid_pay": 0.0,
            "medins_setl_id": envelope.get("msgid"),
            "clr_optins": str(envelope.get("mdtrtarea_admvs") or ""),
            "clr_way": "1",
            "clr_type": "11",
        }

    @staticmethod
    def _detail(setlinfo: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "fund_pay_type": "310100",
                "inscp_scp_amt": setlinfo["inscp_scp_amt"],
                "crt_payb_lmt_amt": 0.0,
                "fund_payamt": setlinfo["hifp_pay"],
                "fund_pay_type_name": "职工基本医疗保险统筹基金",
                "setl_proc_info": "",
            }
        ]

    def _pre_settle(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        _, error = self._visit(str(node["mdtrt_id"]))
        if error is not None:
            return error
        setlinfo = self._compute(envelope, node)
        return Reply(output={"setlinfo": setlinfo, "setldetail": self._detail(setlinfo)})

    def _settle(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        _, error = self._visit(str(node["mdtrt_id"]))
        if error is not None:
            return error
        setlinfo = self._compute(envelope, node)
        setl_id = self._next_id("ST")
        setlinfo["setl_id"] = setl_id
        msgid = str(envelope.get("msgid"))
        record: dict[str, Any] = {
            "setl_id": setl_id,
            "msgid": msgid,
            "infno": "2207",
            "psn_no": str(node["psn_no"]),
            "mdtrt_id": str(node["mdtrt_id"]),
            "reversed": False,
        }
        self.settlements.put(setl_id, record)
        self.settlements_by_msgid.put(msgid, record)
        return Reply(output={"setlinfo": setlinfo, "setldetail": self._detail(setlinfo)})

    def _settle_reverse(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        record = self.settlements.get(str(node["setl_id"]))
        if record is None or record["reversed"]:
            return Reply.error(f"{HYGEIA}结算信息[setl_id]不存在或已撤销")
        record["reversed"] = True
        return Reply(
            output={
                "setlinfo": {
                    "mdtrt_id": record["mdtrt_id"],
                    "setl_id": self._next_id("ST"),
                    "psn_no": record["psn_no"],
                    "setl_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "medins_setl_id": envelope.get("msgid"),
                    "clr_optins": str(envelope.get("mdtrtarea_admvs") or ""),
                }
            }
        )

    def _reverse(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["data"]
        oinfno = str(node["oinfno"])
        omsgid = str(node["omsgid"])
        if oinfno not in _REVERSIBLE:
            return Reply.error(f"原交易编号[oinfno={oinfno}]不支持冲正")
        done = self.reversals.get(omsgid)
        if done is None:
            record = self.settlements_by_msgid.get(omsgid)
            if record is None:
                return Reply.error(f"{HYGEIA}原交易[omsgid={omsgid}]不存在，无需冲正")
            record["reversed"] = True
            done = {"omsgid": omsgid, "oinfno": oinfno, "setl_id": record["setl_id"]}
            self.reversals.put(omsgid, done)
        return Reply(output={"data": {"omsgid": omsgid, "oinfno": oinfno, "rever_stas": "1"}})

    def _reconcile(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        return Reply(
            output={"stmtinfo": {"setl_optins": "430299", "stmt_rslt": "0", "stmt_rslt_dscr": "平"}}
        )

    def _catalog(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        code = str(envelope.get("infno"))
        items = self._catalog_cache.get(code)
        if items is None:
            items = catalog_items(code, self.config.seed, 200)
            self._catalog_cache[code] = items
        node = data.get("data") or {}
        return Reply(output={"ver": str(node.get("ver") or "0"), "data": items})

    def _catalog_query(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data.get("data") or {}
        page_num = max(int(node.get("page_num") or 1), 1)
        size = min(max(int(node.get("page_size") or 50), 1), 200)
        items = self._catalog_cache.get("1301") or catalog_items("1301", self.config.seed, 200)
        self._catalog_cache["1301"] = items
        start = (page_num - 1) * size
        return Reply(
            output={
                "data": items[start : start + size],
                "recordCounts": len(items),
                "pages": (len(items) + size - 1) // size,
                "pageNum": page_num,
                "size": size,
            }
        )

    def _upload(
        self, envelope: dict[str, Any], data: dict[str, Any], attachment: bytes | None
    ) -> Reply:
        if attachment is None:
            return Reply.error("文件上传须以multipart/form-data提交文件[file]")
        if not attachment:
            return Reply.error("上传文件内容不能为空")
        node = data["fsUploadIn"]
        org = str(node["fixmedins_code"])
        if org != str(envelope.get("fixmedins_code")):
            return Reply.error("定点医药机构编号[fixmedins_code]与报文不一致")
        filename = str(node["filename"])
        stored = self.files.put(self._next_id("FQ"), filename, org, attachment)
        return Reply(
            output={
                "file_qury_no": stored.file_qury_no,
                "filename": filename,
                "dld_endtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stored.expires)),
            }
        )

    def _download(self, envelope: dict[str, Any], data: dict[str, Any]) -> Reply:
        node = data["fsDownloadIn"]
        number = str(node["file_qury_no"])
        filename = str(node["filename"])
        code = number.removeprefix(_CATALOG_FILE)
        if number.startswith(_CATALOG_FILE) and code in CATALOG_FILE_CODES:
            content = self._catalog_files.get(code)
            if content is None:
                content = catalog_file(code, self.config.seed)
                self._catalog_files[code] = content
            return Reply(content=content, filename=filename)
        if str(node["fixmedins_code"]) != str(envelope.get("fixmedins_code")):
            return Reply.error("定点医药机构编号[fixmedins_code]与报文不一致")
        stored = self.files.get(number)
        if stored is None or stored.fixmedins_code != str(node["fixmedins_code"]):
            return Reply.error(f"{HYGEIA}文件不存在或已过期[file_qury_no]")
        if stored.filename != filename:
            return Reply.error(f"{HYGEIA}文件名[filename]与文件查询号不一致")
        return Reply(content=stored.content, filename=filename)
