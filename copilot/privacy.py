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
