"""The warning and disposition codes of the outside contract (v1), with their Chinese labels."""

from __future__ import annotations

from typing import Literal

WarningCode = Literal[
    "identity_check",
    "fee_disclosure",
    "rules_disclosure",
    "cancel_method",
    "trial_terms",
    "explicit_consent",
    "verification_purpose",
    "final_confirmation",
    "non_owner",
    "customer_unavailable",
    "customer_abroad",
    "forbidden_phrase",
    "privacy",
    "do_not_call",
]

DispositionCode = Literal[
    "marketing_success",
    "referral_success",
    "declined",
    "intent_not_completed",
    "intent_declined",
    "midway_declined",
    "survey_completed",
    "other_incomplete",
]

DISPOSITION_LABELS: dict[str, str] = {
    "marketing_success": "营销成功",
    "referral_success": "推荐成功",
    "declined": "拒绝办理",
    "intent_not_completed": "意向未办理",
    "intent_declined": "意向拒绝",
    "midway_declined": "中途拒绝",
    "survey_completed": "问卷完成",
    "other_incomplete": "其他原因未完成",
}

#: Which codes a campaign type may be given (000 选择题15; without a campaign: contract §2).
DISPOSITIONS_BY_CAMPAIGN_TYPE: dict[str | None, frozenset[str]] = {
    "marketing": frozenset(
        {
            "marketing_success",
            "referral_success",
            "declined",
            "intent_not_completed",
            "intent_declined",
            "other_incomplete",
        }
    ),
    "service": frozenset(
        {"survey_completed", "midway_declined", "intent_declined", "other_incomplete"}
    ),
    None: frozenset({"intent_declined", "declined", "other_incomplete"}),
}

NO_REASON = "无原因或拒答"
