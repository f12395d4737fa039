"""Invented but plausible personal and catalog data, derived deterministically.

A person is derived from their certificate number (or e-voucher token) and the simulator's
seed, so the same input always gives the same psn_no, name and insurance. Nothing here is
real data: names are random picks from common characters, ID numbers are synthetic.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "CATALOG_FILE_CODES",
    "Person",
    "catalog_file",
    "catalog_items",
    "id_check_digit",
    "is_valid_certno",
    "make_certno",
    "person_for",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国"
_REGIONS = ("430102", "430103", "430104", "430105", "430111", "430121", "440106", "110105")


def id_check_digit(first17: str) -> str:
    """GB 11643 check character of the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid_certno(certno: str) -> bool:
    """True for a well-formed 18-digit ID (with check digit) or a legacy 15-digit one."""
    if len(certno) == 15:
        return certno.isdigit()
    if len(certno) != 18 or not certno[:17].isdigit():
        return False
    return certno[17].upper() == id_check_digit(certno[:17])


def make_certno(rng: random.Random, *, sequence: int | None = None) -> str:
    """A synthetic, checksum-valid 18-digit ID number."""
    region = rng.choice(_REGIONS)
    birth = date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
    seq = sequence if sequence is not None else rng.randint(1, 999)
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


@dataclass(frozen=True, slots=True)
class Person:
    """An invented insured person."""

    psn_no: str
    certno: str
    psn_name: str
    gend: str
    brdy: str
    age: int
    insutype: str
    insuplc_admdvs: str
    balc: float
    emp_name: str

    def baseinfo(self) -> dict[str, Any]:
        """1101 ``baseinfo`` node."""
        return {
            "psn_no": self.psn_no,
            "psn_cert_type": "01",
            "certno": self.certno,
            "psn_name": self.psn_name,
            "gend": self.gend,
            "naty": "01",
            "brdy": self.brdy,
            "age": self.age,
            "exp_content": "",
        }

    def insuinfo(self) -> list[dict[str, Any]]:
        """1101 ``insuinfo`` list (one entry, sometimes two)."""
        main = {
            "balc": self.balc,
            "insutype": self.insutype,
            "psn_type": "11" if self.insutype == "310" else "1501",
            "psn_insu_stas": "1",
            "psn_insu_date": "2015-01-01",
            "paus_insu_date": None,
            "cvlserv_flag": "0",
            "insuplc_admdvs": self.insuplc_admdvs,
            "emp_name": self.emp_name,
        }
        if self.insutype != "310":
            return [main]
        extra = dict(main, insutype="320", psn_type="11", balc=0)
        return [main, extra] if int(self.psn_no[-1]) % 3 == 0 else [main]

    def idetinfo(self) -> list[dict[str, Any]]:
        """1101 ``idetinfo`` list (often empty, sometimes one identity)."""
        if self.age < 65:
            return []
        return [
            {
                "psn_idet_type": "2101",
                "psn_type_lv": "1",
                "memo": "",
                "begntime": "2020-01-01 00:00:00",
                "endtime": None,
            }
        ]


def _rng(seed: int | None, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def person_for(cert: str, seed: int | None) -> Person:
    """The person a certificate number (or e-voucher token) stands for, deterministically."""
    rng = _rng(seed, "person", cert)
    certno = cert if is_valid_certno(cert) else make_certno(rng)
    if len(certno) == 18:
        birth = date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
        gend = "1" if int(certno[16]) % 2 else "2"
    else:
        birth = date(1900 + int(certno[6:8]), int(certno[8:10]), int(certno[10:12]))
        gend = "1" if int(certno[14]) % 2 else "2"
    today = date.today()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    employee = rng.random() < 0.6
    return Person(
        psn_no=f"43000000000000{rng.randrange(10**10):010d}",
        certno=certno,
        psn_name=rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
        gend=gend,
        brdy=f"{birth:%Y-%m-%d}",
        age=max(age, 0),
        insutype="310" if employee else "390",
        insuplc_admdvs=certno[:4] + "99",
        balc=round(rng.uniform(0, 5000), 2) if employee else 0.0,
        emp_name=f"某某{rng.choice(('科技', '商贸', '建设', '医药'))}有限公司" if employee else "",
    )


def catalog_items(code: str, seed: int | None, count: int) -> list[dict[str, Any]]:
    """Rows of a catalog download (1301–1307): invented codes, names and prices."""
    rng = _rng(seed, "catalog", code)
    kinds = {
        "1301": ("XA", "片"),
        "1302": ("T", "克"),
        "1303": ("ZZ", "瓶"),
        "1305": ("0012", "次"),
        "1306": ("C", "个"),
        "1307": ("J", ""),
    }
    prefix, unit = kinds.get(code, ("X", "个"))
    return [
        {
            "med_list_codg": f"{prefix}{rng.randrange(10**10):010d}",
            "name": f"目录项目{code}-{i:05d}",
            "spec": f"{rng.choice((1, 5, 10, 20))}{unit}",
            "pric": round(rng.uniform(0.5, 500), 2),
            "chrgitm_lv": rng.choice(("01", "02", "03")),
            "vali_flag": "1",
            "begndate": "2021-01-01",
        }
        for i in range(count)
    ]


#: Catalogs whose invented file 9102 serves as ``file_qury_no`` ``CATALOG-<code>``.
CATALOG_FILE_CODES = ("1301", "1302", "1303", "1305", "1306", "1307")


def catalog_file(code: str, seed: int | None, count: int = 200) -> bytes:
    """A catalog as a file (UTF-8, tab-separated, a header row): the rows of 1301–1307."""
    rows = catalog_items(code, seed, count)
    names = list(rows[0]) if rows else []
    lines = ["\t".join(names)]
    lines.extend("\t".join(str(row[name]) for name in names) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")
