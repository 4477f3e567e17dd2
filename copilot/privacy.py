"""Masking personal numbers before anything is logged (phone numbers, ID numbers, passwords)."""

from __future__ import annotations

import logging
import re

# 11-digit mobiles, 15/18-character ID numbers, and any other run of 6+ digits (passwords,
# landlines, bank cards). Digits may be separated by spaces or dashes as ASR writes them.
_LONG_NUMBER = re.compile(r"(?<![0-9])(?:[0-9][ -]?){5,}[0-9xX](?![0-9])")


def mask(text: str) -> str:
    """Keep the first 3 and last 2 characters of a long number: enough to tell calls apart."""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]

    return _LONG_NUMBER.sub(_mask, text)


class MaskingFilter(logging.Filter):
    """Applied to the copilot's log handlers: no record leaves with a full number in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        return True


#: What `redact` leaves in place of a personal detail; an LLM echoing one, even cut short, is
#: caught by the guard (it looks for the prefixes).
NUMBER_MASK = "[号码]"
NAME_MASK = "[姓名]"
PLACEHOLDERS = (NUMBER_MASK[:2], NAME_MASK[:2])

# A number read out digit by digit ("一三九零零...") is as personal as one typed in digits.
_SPOKEN_NUMBER = re.compile(r"[零〇一幺二两三四五六七八九]{6,}")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤"
)
# "我叫王小明", "我姓李", "张先生", "李女士": a name and how people are addressed by it.
_NAMED = re.compile(rf"(我叫|我姓|名字叫|名字是|机主是|户主是)[{_SURNAMES}][\u4e00-\u9fff]{{0,2}}")
_ADDRESSED = re.compile(rf"[{_SURNAMES}](?=(先生|女士|小姐|师傅|老师|经理|总))")


def redact(text: str) -> str:
    """Before anything leaves the server for an LLM: numbers and names become placeholders."""
    text = _LONG_NUMBER.sub(NUMBER_MASK, text)
    text = _SPOKEN_NUMBER.sub(NUMBER_MASK, text)
    text = _NAMED.sub(lambda m: m.group(1) + NAME_MASK, text)
    return _ADDRESSED.sub(NAME_MASK, text)
