"""Masking of personal data in free text (docs/protocol.md §7).

This module is the one place that knows what personal data looks like. Everything that
keeps or exports text that may come from the platform or from business code (stored
error messages, log lines, exception ``str()``, reports) passes it through
:func:`mask_text` first.

Masking keeps enough to be useful to an operator and nothing that identifies a person:

* resident ID numbers (18 digits, the last may be ``X``; legacy 15 digits):
  first 6 (the region) and last 4 kept, e.g. ``440106********1234``;
* mobile numbers: ``138****5678``;
* names introduced by a key (``姓名：张三``, ``姓名[张三]``, ``psn_name=张三``,
  ``"psn_name": "张三"``) and other known personal keys (``psn_no``, ``certno``, ``addr``,
  ``tel`` …): value masked (an ID number or phone value keeps its masked shape). ASCII keys
  only match at a word start, so ``message: …`` is left alone.
"""

from __future__ import annotations

import re

__all__ = ["PERSONAL_KEYS", "mask_certno", "mask_mapping", "mask_phone", "mask_text"]

#: Keys of docs/protocol.md §7 whose values are personal or secret.
PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "certno",
        "mdtrt_cert_no",
        "card_sn",
        "psn_no",
        "psn_name",
        "brdy",
        "gend",
        "naty",
        "age",
        "tel",
        "phone",
        "mob",
        "addr",
        "address",
        "coner_name",
        "emp_name",
        "mdtrt_id",
        "setl_id",
        "ipt_otp_no",
        "ipt_no",
        "diag_code",
        "diag_name",
        "dise_codg",
        "dise_name",
        "balc",
        "opter",
        "opter_name",
        "dr_name",
        "atddr_no",
        "prsc_dr_certno",
        "sign_no",
        "cainfo",
        "secret_key",
        "access_key",
        "token",
    }
)

_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{5})(\d{4})(?![0-9A-Za-z])")
_MASKED_ID = re.compile(r"\d{3,6}\*{4,}[0-9Xx]{4}")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ASCII_KEYS = "|".join(sorted((re.escape(k) for k in PERSONAL_KEYS), key=len, reverse=True))
_KEYED = re.compile(
    # ASCII keys must start a word ("message" is not "age"); Chinese keys may follow text
    r"(?P<key>(?<![A-Za-z0-9_])(?:" + _ASCII_KEYS + r")"
    r"|姓名|名字|身份证号码?|证件号码?|手机号码?|电话|联系电话|住址|地址|人员编号)"
    r"(?P<sep>\"?\s*[:=：\[【]\s*\"?)(?P<val>[^\s,，;；\"'}\])】）]+)",
    re.IGNORECASE,
)


def mask_certno(value: str) -> str:
    """Mask an ID number, keeping the 6-digit region and the last 4 characters."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Mask a mobile number as ``138****5678``."""
    if len(value) < 11:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]


def _mask_keyed(match: re.Match[str]) -> str:
    val = match.group("val")
    if "***" in val or _MASKED_ID.fullmatch(val):  # already masked: masking is idempotent
        return match.group(0)
    if _ID18.fullmatch(val) or _ID15.fullmatch(val):
        masked = mask_certno(val)
    elif _PHONE.fullmatch(val):
        masked = mask_phone(val)
    else:
        masked = "***" if len(val) <= 1 else val[0] + "*" * min(len(val) - 1, 8)
    return f"{match.group('key')}{match.group('sep')}{masked}"


def mask_text(text: str) -> str:
    """Return ``text`` with ID numbers, phone numbers and keyed personal values masked."""
    if not text:
        return text
    out = _KEYED.sub(_mask_keyed, text)
    out = _ID18.sub(lambda m: mask_certno(m.group(0)), out)
    out = _ID15.sub(lambda m: mask_certno(m.group(0)), out)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), out)


def mask_mapping(data: object) -> object:
    """Deep-copy a JSON-like structure with personal keys' values replaced by ``***``."""
    if isinstance(data, dict):
        return {
            k: ("***" if isinstance(k, str) and k.lower() in PERSONAL_KEYS else mask_mapping(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [mask_mapping(v) for v in data]
    if isinstance(data, str):
        return mask_text(data)
    return data
