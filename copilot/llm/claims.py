"""The factual claims in a Chinese sentence: numbers with their units, and phone numbers.

A rephrasing may say "每个月一块钱" for the approved "1元/月", so numbers are compared by value
and by what they measure (money, time, data, a share, a count), never by spelling. Chinese
numerals count only where they are numbers: "一下", "一定", "统一" are words, "一个月" is a
duration, "一零零八六" is the hotline 10086.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Measure = Literal["money", "time", "data", "share", "count", "bare"]

_DIGIT = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGIT |= {"六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_CN = "零〇一幺二两三四五六七八九十百千万亿"

#: Units after a number, longest first, with what they measure.
_UNITS: list[tuple[str, Measure]] = sorted(
    [
        *((u, "money") for u in ("元", "块钱", "块", "毛钱", "毛", "角", "分钱")),
        *(
            (u, "time")
            for u in (
                "个月",
                "个多月",
                "月",
                "年",
                "周",
                "个星期",
                "星期",
                "天",
                "日",
                "号",
                "个小时",
                "小时",
                "分钟",
                "秒",
                "个工作日",
                "工作日",
                "点",
            )
        ),
        *((u, "data") for u in ("gb", "g", "mb", "m", "兆", "kb", "tb")),
        *((u, "share") for u in ("%", "折", "成", "倍")),
        *(
            (u, "count")
            for u in (
                "首",
                "条",
                "次",
                "位",
                "个",
                "种",
                "项",
                "步",
                "张",
                "部",
                "台",
                "套",
                "档",
                "人",
                "家",
                "遍",
                "分",
            )
        ),
    ],
    key=lambda pair: len(pair[0]),
    reverse=True,
)
_CENTS = {"毛钱": 0.1, "毛": 0.1, "角": 0.1, "分钱": 0.01}
#: "一个", "一种", "一下": the numeral 1 as an article, not a claim.
_ARTICLE_UNITS = set("个位种项次步张部台套遍家人点")
#: Words made with a numeral that are not numbers.
_WORDS = re.compile(
    r"一下|一起|一定|一直|一样|一般|一些|一旦|一边|一致|一切|一律|一再|一向|一概|一时|一会|一声|"
    r"一点点|一点儿|有点|一块儿|统一|唯一|万一|进一步|一方面|之一|一一|一口气|一趟|"
    r"第[零一二两三四五六七八九十0-9]+|三思|十分(?!钟)|百分百|万分|千万|一心|一番|一步到位"
)
_NUMBER = re.compile(rf"百分之[{_CN}0-9.]+|[0-9]+(?:\.[0-9]+)?|[{_CN}]+|半(?=个?(?:月|年|小时|天))")


@dataclass(frozen=True)
class Claim:
    value: str  # canonical: "10086", "1", "0.5", "30"
    measure: Measure
    text: str  # as written, for the reason a guard gives

    def __str__(self) -> str:
        return self.text


def normalise(text: str) -> str:
    """NFKC and lower case; spaces and dashes inside digit runs go (ASR writes "100 86")."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"(?<=[0-9])[\s\-]+(?=[0-9])", "", text)


def claims(text: str) -> list[Claim]:
    """Every number in the text with what it measures."""
    text = normalise(text)
    masked = _WORDS.sub(lambda m: "#" * len(m.group()), text)
    found: list[Claim] = []
    for match in _NUMBER.finditer(masked):
        raw = match.group()
        value = _value(raw)
        if value is None:
            continue
        after = masked[match.end() : match.end() + 4]
        unit, measure = next(((u, m) for u, m in _UNITS if after.startswith(u)), ("", "bare"))
        if raw.startswith("百分之"):
            measure = "share"
        chinese = raw[0] in _CN
        if chinese and measure == "bare" and len(raw) == 1:
            continue  # a lone numeral without a unit ("三思" aside) is a word, not a number
        if value == "1" and unit in _ARTICLE_UNITS:
            continue
        if unit in _CENTS:  # "一毛钱" is 0.1元: money is compared in yuan
            value = _decimal(float(value) * _CENTS[unit])
        found.append(Claim(value, measure, raw + unit))
    return found


#: Per-period prices ("1元/月", "包月") state the period once: a rephrasing may say "一个月".
_PERIODS = [
    (re.compile(r"/月|每个?月|包月|月租|月费|按月|一个月"), "个月"),
    (re.compile(r"/年|每年|包年|年费|按年|一年"), "年"),
    (re.compile(r"/天|每天|每日|按天|按日|一天"), "天"),
]


def stated(text: str) -> list[Claim]:
    """Everything a source states: its numbers, and the periods its prices imply."""
    return claims(text) + period_claims(text)


def period_claims(text: str) -> list[Claim]:
    """The implicit "one month" of "1元/月": said by a source, a rephrasing may spell it out."""
    text = normalise(text)
    return [Claim("1", "time", unit) for pattern, unit in _PERIODS if pattern.search(text)]


def _value(raw: str) -> str | None:
    if raw.startswith("百分之"):
        raw = raw.removeprefix("百分之")
    if raw[0].isdigit():
        return _decimal(float(raw)) if "." in raw else (raw.lstrip("0") or "0")
    if raw == "半":
        return "0.5"
    if not any(c in _UNIT for c in raw):  # digit by digit: 一零零八六
        digits = "".join(str(_DIGIT[c]) for c in raw if c in _DIGIT)
        return (digits.lstrip("0") or "0") if len(digits) < 5 else digits
    return str(_cn_number(raw))


def _decimal(value: float) -> str:
    """0.5 -> "0.5", 2.0 -> "2": one spelling per value."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _cn_number(raw: str) -> int:
    """二十五 -> 25, 一百零八 -> 108, 两万 -> 20000, 十 -> 10."""
    total = section = digit = 0
    for char in raw:
        if char in _DIGIT:
            digit = _DIGIT[char]
        elif char in ("万", "亿"):
            section = (section + digit) * _UNIT[char]
            total, section, digit = total + section, 0, 0
        elif char in _UNIT:
            section += (digit or 1) * _UNIT[char]
            digit = 0
    return total + section + digit


def supported(claim: Claim, source_claims: list[Claim]) -> bool:
    """A claim is made by the sources when they say the same value measuring the same thing;
    a bare number ("拨打10086") matches the value whatever it measures."""
    return any(
        s.value == claim.value
        and (claim.measure == s.measure or "bare" in (claim.measure, s.measure))
        for s in source_claims
    )
