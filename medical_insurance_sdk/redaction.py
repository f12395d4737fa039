"""Masking of personal data in free text (docs/protocol.md §7), and bounded messages.

This module is the one place that knows what personal data looks like. Everything that
keeps or exports text that may come from the platform or from business code (stored
error messages, log lines, exception ``str()``, reports) passes it through
:func:`mask_text` first, which masks and then bounds the text to
:data:`MAX_MESSAGE_CHARS` characters.

Masking keeps enough to be useful to an operator and nothing that identifies a person:

* resident ID numbers (18 characters, the last may be ``X``; legacy 15 digits), also
  written in groups (``440106 19900101 1235``, ``4401 0619 9001 0112 35``) or right after
  ASCII letters (``ID440106199001011235``): first 6 (the region) and last 4 kept, e.g.
  ``440106********1235``, separators kept where they were;
* bank card numbers (16–19 digits, or 4-digit groups with a valid Luhn check digit):
  first 6 and last 4 kept;
* mobile numbers, also with ``+86``/``0086``/``86`` and written ``139-1234-5678`` or
  ``139 1234 5678``: ``139****5678`` (``+86139****5678``, ``139-****-5678``);
* names of 2–4 Chinese characters (and ``·``-joined minority names) after a name key
  (``姓名 张三``, ``姓名为张三``, ``姓名：张三``, ``"name":"张三"``): first character kept;
* values of other known personal keys (``psn_no``, ``certno``, ``addr``, ``tel`` …,
  ``证件号码``, ``手机号`` …): first character kept (an ID number or phone value keeps its
  masked shape). ASCII keys only match at a word start, so ``message: …`` is left alone,
  and a value that is itself a field name (``人员编号[psn_no]不能为空``) is left alone.

Full-width digits (``４４０１０６…``) are read, and shown, as ASCII digits.

Left readable on purpose: 12-character institution codes (``H43010500001``), 30-character
msgids (institution code, 14-digit timestamp, 4-digit sequence), infcodes, amounts, dates
and other numbers that have none of the shapes above. A number glued to other digits is
a different, longer number and is not cut apart. A lone capital letter followed by 11
digits is an institution code, not a letter and a phone number.

Every pattern is linear: bounded repetitions of disjoint character classes, no nested
quantifiers, so no input makes the regex engine backtrack catastrophically. Long text is
not masked whole: :func:`mask_text` masks a window of ``4 × limit`` characters, cut
where no number straddles the cut, so the cost is bounded by the limit, not the input.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_MESSAGE_CHARS",
    "PERSONAL_KEYS",
    "mask_certno",
    "mask_mapping",
    "mask_phone",
    "mask_text",
]

#: Longest text :func:`mask_text` returns by default (marker included): exception
#: messages, ``BusinessError.err_msg``, log lines' messages and stored error messages.
MAX_MESSAGE_CHARS = 512

#: The smallest ``limit`` that leaves room for the truncation marker and some text.
_MIN_LIMIT = 64

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


# -- numbers ---------------------------------------------------------------------------------

_S = "[ -]?"  # one optional space or hyphen between the digits of a written-out number


def _digits(n: int) -> str:
    """``n`` digits, each but the first optionally preceded by a separator."""
    return f"(?:{_S}\\d){{{n}}}"


_REGION = "[1-9]" + _digits(5)
_MONTH = f"{_S}(?:0{_S}[1-9]|1{_S}[0-2])"
_DAY = f"{_S}(?:0{_S}[1-9]|[12]{_S}\\d|3{_S}[01])"
_YEAR4 = f"{_S}(?:1{_S}[89]|2{_S}0)" + _digits(2)
#: An 18-character ID number whose region, birth date and length are plausible, written
#: with or without separators; it may follow ASCII letters (``ID440106…``).
_ID18_PLAUSIBLE = f"(?<!\\d){_REGION}{_YEAR4}{_MONTH}{_DAY}{_digits(3)}{_S}[0-9Xx](?![0-9])"
_ID15_PLAUSIBLE = f"(?<!\\d){_REGION}{_digits(2)}{_MONTH}{_DAY}{_digits(3)}(?![0-9])"
#: Any 18/15 digits standing alone (not touching letters or digits): an ID number even
#: when its date is not plausible (platforms echo mistyped numbers).
_ID_ALONE = r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])"
_ID = re.compile(f"{_ID_ALONE}|{_ID18_PLAUSIBLE}|{_ID15_PLAUSIBLE}", re.ASCII)

#: 16–19 digits in one run (masked when alone, or after letters with a valid Luhn digit).
_CARD_RUN = re.compile(r"(?<!\d)\d{16,19}(?!\d)", re.ASCII)
#: A card written in 4-digit groups, not part of a longer series of groups; masked when
#: its Luhn check digit is valid.
_CARD_GROUPED = re.compile(
    r"(?<!\d)(?<!\d[ -])[3-6]\d{3}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?(?!\d)(?![ -]\d)", re.ASCII
)
#: A mainland mobile number, with an optional country code and separators. Not after a
#: lone capital letter: ``H13010500001`` is an institution code.
_PHONE_BODY = r"(?P<cc>(?:\+|00)?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
_PHONE = re.compile(rf"(?<!\d)(?<!(?<![0-9A-Za-z])[A-Z]){_PHONE_BODY}(?!\d)", re.ASCII)
_PHONE_ALONE = re.compile(_PHONE_BODY, re.ASCII)
_DIGIT_CHARS = frozenset("0123456789Xx")
#: Full-width digits (and X) are read as ASCII ones: masking sees one kind of digit.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－", "0123456789Xx+-")


def _mask_digits(text: str, head: int, tail: int) -> str:
    """Star the digits of ``text`` but the first ``head`` and last ``tail``; keep the rest."""
    total = sum(ch in _DIGIT_CHARS for ch in text)
    out = []
    seen = 0
    for ch in text:
        if ch in _DIGIT_CHARS:
            seen += 1
            out.append(ch if seen <= head or seen > total - tail else "*")
        else:
            out.append(ch)
    return "".join(out)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_ascii_alnum(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isascii() and text[i].isalnum()


def _mask_id(match: re.Match[str]) -> str:
    return _mask_digits(match.group(0), 6, 4)


def _mask_card_run(match: re.Match[str]) -> str:
    value, text = match.group(0), match.string
    alone = not _is_ascii_alnum(text, match.start() - 1) and not _is_ascii_alnum(text, match.end())
    return _mask_digits(value, 6, 4) if alone or _luhn(value) else value


def _mask_card_grouped(match: re.Match[str]) -> str:
    value = match.group(0)
    digits = "".join(ch for ch in value if ch.isdigit())
    return _mask_digits(value, 6, 4) if _luhn(digits) else value


def _mask_phone_match(match: re.Match[str]) -> str:
    cc = match.group("cc")
    head = 3 + (sum(ch.isdigit() for ch in cc) if cc else 0)
    return _mask_digits(match.group(0), head, 4)


# -- keyed values and names ------------------------------------------------------------------

_ASCII_KEYS = "|".join(sorted((re.escape(k) for k in PERSONAL_KEYS), key=len, reverse=True))
_KEYED = re.compile(
    # ASCII keys must start a word ("message" is not "age"); Chinese keys may follow text
    r"(?P<key>(?<![A-Za-z0-9_])(?:" + _ASCII_KEYS + r")"
    r"|姓名|名字|身份证号码?|证件号码?|手机号码?|电话|联系电话|住址|地址|人员编号)"
    # the value runs to a delimiter (the truncation marker's "…" is one); a number written
    # in groups (139 1234 5678) stays whole
    r"(?P<sep>\"?\s*[:=：\[【]\s*\"?)(?P<val>[^\s,，;；\"'}\])】）…]+(?: \d+)*)",
    re.IGNORECASE,
)
#: A value that is a field name (``人员编号[psn_no]不能为空``): not personal.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_NAME = re.compile(
    r"(?P<key>姓名|名字|(?<![A-Za-z0-9_])(?:psn_)?name)"
    r"(?P<sep>\"?\s*[:=：]\s*\"?|\s*[\[【(（「]\s*|\s*[为是]\s*|\s+)"
    # not the start of a message about the field ("姓名为空", "姓名不能为空", "姓名 格式错误")
    r"(?!空|不|必|非|无|未|有误|错误|格式|长度|字段|信息|校验|一致)"
    rf"(?P<val>[{_CJK}]{{2,4}}(?:[·•][{_CJK}]{{1,8}})?)",
    re.IGNORECASE,
)


def _mask_keyed(match: re.Match[str]) -> str:
    val = match.group("val")
    if "*" in val:  # already masked: masking is idempotent
        return match.group(0)
    if _FIELD_NAME.fullmatch(val) or val.lower() in PERSONAL_KEYS:
        return match.group(0)
    if _ID.fullmatch(val):
        masked = _mask_digits(val, 6, 4)
    elif phone := _PHONE_ALONE.fullmatch(val):
        masked = _mask_phone_match(phone)
    else:
        masked = val[0] + "*" * min(len(val) - 1, 8) if len(val) > 1 else "*"
    return f"{match.group('key')}{match.group('sep')}{masked}"


def _mask_name(match: re.Match[str]) -> str:
    val = match.group("val")
    masked = val[0] + "".join(ch if ch in "·•" else "*" for ch in val[1:])
    return f"{match.group('key')}{match.group('sep')}{masked}"


def _mask(text: str) -> str:
    """Mask every shape of personal data; never makes the text longer."""
    out = _KEYED.sub(_mask_keyed, text.translate(_FULL_WIDTH))
    out = _ID.sub(_mask_id, out)
    out = _CARD_RUN.sub(_mask_card_run, out)
    out = _CARD_GROUPED.sub(_mask_card_grouped, out)
    out = _PHONE.sub(_mask_phone_match, out)
    return _NAME.sub(_mask_name, out)


# -- truncation ------------------------------------------------------------------------------

#: Characters that may continue a written-out number across a cut.
_NUMBERISH = frozenset("0123456789Xx+- \t")
#: Characters of a number or a masked token (``440106********1235``).
_TOKENISH = frozenset("0123456789Xx*+-")
_ANY_DIGIT = re.compile(r"[0-9]")


def _clear_cut(window: str, following: str) -> str:
    """``window`` with the digits of a number that runs on past the cut starred.

    Part of an ID number has none of the shapes masking looks for, so the digits of a
    number straddling the cut are starred before masking sees the window.
    """
    if window[-1] not in _NUMBERISH or following not in _NUMBERISH:
        return window
    start = len(window)
    while start and window[start - 1] in _NUMBERISH:
        start -= 1
    return window[:start] + _ANY_DIGIT.sub("*", window[start:])


def _token_start(text: str, cut: int) -> int:
    """``cut``, moved back to the start of the number or masked token it falls in."""
    if text[cut - 1] not in _TOKENISH or text[cut] not in _TOKENISH:
        return cut
    start = cut
    while start and cut - start < 40 and text[start - 1] in _TOKENISH:
        start -= 1
    return start if start == 0 or text[start - 1] not in _TOKENISH else cut


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


def mask_text(text: str, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """Return ``text`` with personal data masked, at most ``limit`` characters long.

    Text longer than ``limit`` is masked first and then cut (never through a number or a
    masked token) and ends with ``…(已截断，原长 N 字符)``, N being the original length.
    ``limit=None`` masks without bounding. Masking twice changes nothing.

    Raises ``ValueError`` when ``limit`` is below 64 (no room for the marker).
    """
    if limit is not None and limit < _MIN_LIMIT:
        raise ValueError(f"mask_text: limit must be >= {_MIN_LIMIT} (got {limit!r})")
    if not text:
        return text
    if limit is None or len(text) <= limit:
        return _mask(text)
    window = text[: 4 * limit].translate(_FULL_WIDTH)
    complete = len(window) == len(text)
    if not complete:
        window = _clear_cut(window, text[len(window)].translate(_FULL_WIDTH))
    masked = _mask(window)
    if complete and len(masked) <= limit:  # masking shortened it enough: nothing cut
        return masked
    marker = f"…(已截断，原长 {len(text)} 字符)"
    keep = limit - len(marker)
    if len(masked) > keep:
        masked = masked[: _token_start(masked, keep)]
    return masked + marker


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
