"""Hypothesis strategies: personal data in the shapes the platform and business code write it.

Shared by the unit tests of :mod:`medical_insurance_sdk.redaction` and the PII sweep
through the client and the simulator. A :class:`Secret` knows its ``clue``: the part that
masking must hide (the region and birth date of an ID number, the first 7 digits of a
phone number, the first 12 of a card, a whole name), so a test can tell a leak from the
masked shape that keeps a few characters on purpose.
"""

from __future__ import annotations

import datetime
import string
from dataclasses import dataclass

from hypothesis import strategies as st

from medical_insurance_sdk.simulator.data import id_check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国"
#: CJK text around secrets: none of the characters of a key (姓名, 证件号码, 手机, 电话 …).
FILLER_CJK = "的一了在这个上们来到时大中你说生年着就和要出也得里后自以会家可下而过天去能对小多然于"
#: Characters that end a number without being part of one: letters, punctuation, CJK.
NUMBER_EDGES = [*string.ascii_lowercase, "ID", "NO.", ",", ".", ";", ":", "(", ")", "[", "]",
                "/", "，", "。", "：", "（", "）", "【", "】", "的", "号", "是"]  # fmt: skip
#: Characters before a keyed name: not a word character, so an ASCII key starts a word.
NAME_EDGES = [" ", ",", ".", ";", "(", "，", "。", "的", "\n", "{"]


@dataclass(frozen=True)
class Secret:
    """One piece of personal data as embedded (``text``) and what must never show."""

    kind: str
    text: str
    clue: str

    def exposed_in(self, haystack: str) -> bool:
        """True when ``haystack`` shows the clue (numbers: separators ignored)."""
        if self.kind == "name":
            return self.clue in haystack
        return self.clue in strip_separators(haystack)


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def strip_separators(text: str) -> str:
    """``text`` without the spaces and hyphens people put inside numbers, digits in ASCII."""
    return text.replace(" ", "").replace("-", "").translate(_FULL_WIDTH)


def full_width(text: str) -> str:
    """``text`` with its digits written full-width (``４４０１０６…``), as some input is."""
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


regions = st.integers(110000, 829999).map(str)
births = st.dates(datetime.date(1900, 1, 1), datetime.date(2025, 12, 31))


@st.composite
def id18(draw: st.DrawFn) -> str:
    """An 18-character resident ID number with a valid check digit."""
    first17 = draw(regions) + draw(births).strftime("%Y%m%d") + draw(_digits(3))
    return first17 + id_check_digit(first17)


@st.composite
def id15(draw: st.DrawFn) -> str:
    """A legacy 15-digit ID number (region, yymmdd, sequence)."""
    return draw(regions) + draw(births).strftime("%y%m%d") + draw(_digits(3))


@st.composite
def id_numbers(draw: st.DrawFn) -> Secret:
    """An ID number written plainly or in groups (6-8-4, 4-4-4-4-2, hyphens)."""
    if draw(st.booleans()):
        number = draw(id18())
        split = draw(st.sampled_from(["", "6-8-4 ", "6-8-4-", "4-4-4-4-2 "]))
    else:
        number = draw(id15())
        split = draw(st.sampled_from(["", "6-6-3 ", "6-6-3-"]))
    text = number
    if split:
        sizes, sep = [int(n) for n in split[:-1].split("-")], split[-1]
        parts, at = [], 0
        for size in sizes:
            parts.append(number[at : at + size])
            at += size
        text = sep.join(parts)
    return Secret("id", text, number[:14] if len(number) == 18 else number[:12])


@st.composite
def phones(draw: st.DrawFn) -> Secret:
    """A mobile number in every written form: +86, 86, 0086, spaces, hyphens."""
    number = "1" + draw(st.sampled_from("3456789")) + draw(_digits(9))
    a, b, c = number[:3], number[3:7], number[7:]
    form = draw(
        st.sampled_from(
            [
                number,
                "+86" + number,
                "86" + number,
                "0086" + number,
                "+86 " + number,
                f"{a}-{b}-{c}",
                f"{a} {b} {c}",
                f"+86 {a} {b} {c}",
                f"+86-{a}-{b}-{c}",
            ]
        )
    )
    return Secret("phone", form, number[:7])


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@st.composite
def bank_cards(draw: st.DrawFn) -> Secret:
    """A 16–19 digit UnionPay card number with a valid Luhn digit, plain or in 4s."""
    length = draw(st.integers(16, 19))
    body = "62" + draw(_digits(length - 3))
    number = body + _luhn_digit(body)
    text = number
    if draw(st.booleans()):
        text = " ".join(number[i : i + 4] for i in range(0, length, 4))
    return Secret("card", text, number[:12])


names = st.builds(
    lambda surname, given: surname + given,
    st.one_of(st.sampled_from(SURNAMES), st.sampled_from(COMPOUND_SURNAMES)),
    st.text(alphabet=GIVEN, min_size=1, max_size=2),
)

NAME_FORMS = (
    "姓名 {}",
    "姓名为{}",
    "姓名：{}",
    "姓名:{}",
    '{{"name":"{}"}}',
    '{{"name": "{}"}}',
    '"psn_name": "{}"',
    "psn_name={}",
    "人员姓名[{}]",
    "患者姓名【{}】",
)


@st.composite
def keyed_names(draw: st.DrawFn) -> Secret:
    """A 2–4 character Chinese name after a name key, in the forms platforms write."""
    name = draw(names)
    form = draw(st.sampled_from(NAME_FORMS))
    return Secret("name", form.format(name), name)


secrets = st.one_of(id_numbers(), phones(), bank_cards(), keyed_names())

#: Random text around a secret: ASCII letters, digits, punctuation, spaces, some CJK.
surroundings = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation + " " + FILLER_CJK,
    max_size=30,
)


@st.composite
def embedded(draw: st.DrawFn) -> tuple[str, Secret, str]:
    """``(text, secret, surroundings)``: a secret inside random text.

    The characters right next to a number are not digits, spaces or hyphens: a number
    glued to other digits is a different, longer number. Before a phone number they are
    not a lone capital letter either (``H13010500001`` is an institution code).
    """
    secret = draw(secrets)
    if secret.kind != "name" and draw(st.integers(0, 9)) == 0:
        secret = Secret(secret.kind, full_width(secret.text), secret.clue)
    prefix, suffix = draw(surroundings), draw(surroundings)
    if secret.kind == "name":
        left = draw(st.sampled_from(NAME_EDGES))
        right = draw(st.sampled_from(["", " ", "，", "。", "x", "1", "的"]))
    else:
        left = draw(st.sampled_from(NUMBER_EDGES))
        right = draw(st.sampled_from([e for e in NUMBER_EDGES if e not in ("ID", "NO.")]))
    around = prefix + suffix
    return prefix + left + secret.text + right + suffix, secret, around
