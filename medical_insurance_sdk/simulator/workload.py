"""Inputs of a typical outpatient visit, for load tests and the demo.

The flow of docs/protocol.md §4: 1101 → 2201 → 2203 → 2204 → 2206 → 2207 (→ 2208). Each builder
returns the envelope's ``input`` for one step, from invented data; :class:`Visit` carries
what the steps pass to each other. All values are synthetic.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from medical_insurance_sdk.simulator.data import make_certno

__all__ = ["Visit", "new_visit"]

_DEPTS = (("A03", "内科", "0301"), ("A04", "外科", "0401"), ("A07", "儿科", "0701"))
_ITEMS = (
    ("XA01AAA", "阿莫西林胶囊", 12.5),
    ("XB02BBB", "布洛芬缓释胶囊", 18.0),
    ("001102000010000", "普通门诊诊查费", 10.0),
    ("250101001", "血常规检查", 20.0),
)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Visit:
    """One outpatient visit; fields fill in as the steps succeed."""

    certno: str
    visit_no: str
    dept: tuple[str, str, str]
    items: list[tuple[str, str, float, int]]
    psn_no: str = ""
    insutype: str = "310"
    insuplc_admdvs: str = ""
    mdtrt_id: str = ""
    chrg_bchno: str = ""
    setl_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """medfee_sumamt of the visit."""
        return round(sum(price * count for _, _, price, count in self.items), 2)

    def _cert(self) -> dict[str, str]:
        return {"mdtrt_cert_type": "02", "mdtrt_cert_no": self.certno}

    def person_query(self) -> dict[str, Any]:
        """1101 input."""
        return {"data": {**self._cert(), "psn_cert_type": "01", "certno": self.certno}}

    def take_person(self, output: dict[str, Any]) -> None:
        """Keep psn_no, insutype and insuplc_admdvs from a 1101 output."""
        self.psn_no = str(output["baseinfo"]["psn_no"])
        insu = output["insuinfo"][0]
        self.insutype = str(insu["insutype"])
        self.insuplc_admdvs = str(insu["insuplc_admdvs"])

    def registration(self) -> dict[str, Any]:
        """2201 input."""
        caty, dept_name, dept_code = self.dept
        return {
            "data": {
                "psn_no": self.psn_no,
                "insutype": self.insutype,
                "begntime": _now(),
                **self._cert(),
                "psn_cert_type": "01",
                "certno": self.certno,
                "psn_type": "11",
                "ipt_otp_no": self.visit_no,
                "atddr_no": "D430105000001",
                "dr_name": "医生甲",
                "dept_code": dept_code,
                "dept_name": dept_name,
                "caty": caty,
            }
        }

    def visit_upload(self) -> dict[str, Any]:
        """2203 input."""
        return {
            "mdtrtinfo": {
                "mdtrt_id": self.mdtrt_id,
                "psn_no": self.psn_no,
                "med_type": "11",
                "begntime": _now(),
                "main_cond_dscr": "",
                "dise_codg": "J06.900",
                "dise_name": "急性上呼吸道感染",
            },
            "diseinfo": [
                {
                    "diag_type": "1",
                    "diag_srt_no": "1",
                    "diag_code": "J06.900",
                    "diag_name": "急性上呼吸道感染",
                }
            ],
        }

    def fee_upload(self) -> dict[str, Any]:
        """2204 input (one fee batch)."""
        self.chrg_bchno = f"CB{self.visit_no}"
        return {
            "feedetail": [
                {
                    "feedetl_sn": f"{self.visit_no}{i:03d}",
                    "mdtrt_id": self.mdtrt_id,
                    "psn_no": self.psn_no,
                    "chrg_bchno": self.chrg_bchno,
                    "fee_ocur_time": _now(),
                    "med_list_codg": code,
                    "medins_list_codg": code,
                    "det_item_fee_sumamt": round(price * count, 2),
                    "cnt": count,
                    "pric": price,
                    "bilg_dept_codg": self.dept[2],
                    "bilg_dr_codg": "D430105000001",
                }
                for i, (code, _, price, count) in enumerate(self.items)
            ]
        }

    def settlement(self) -> dict[str, Any]:
        """2206 / 2207 input."""
        return {
            "data": {
                "psn_no": self.psn_no,
                **self._cert(),
                "psn_cert_type": "01",
                "certno": self.certno,
                "med_type": "11",
                "medfee_sumamt": self.total,
                "psn_setlway": "01",
                "mdtrt_id": self.mdtrt_id,
                "chrg_bchno": self.chrg_bchno,
                "insutype": self.insutype,
                "acct_used_flag": "1",
                "invono": "",
                "fulamt_ownpay_amt": 0,
                "overlmt_selfpay": 0,
                "preselfpay_amt": 0,
                "inscp_scp_amt": self.total,
            }
        }

    def settlement_reversal(self) -> dict[str, Any]:
        """2208 input."""
        return {"data": {"setl_id": self.setl_id, "mdtrt_id": self.mdtrt_id, "psn_no": self.psn_no}}


def new_visit(rng: random.Random, serial: int) -> Visit:
    """A new visit of an invented, insured person (never the 'not insured' 000 sequence)."""
    items = [
        (code, name, price, rng.randint(1, 3))
        for code, name, price in rng.sample(_ITEMS, rng.randint(1, len(_ITEMS)))
    ]
    return Visit(
        certno=make_certno(rng, sequence=rng.randint(1, 999)),
        visit_no=f"MZ{serial:010d}",
        dept=rng.choice(_DEPTS),
        items=items,
    )
