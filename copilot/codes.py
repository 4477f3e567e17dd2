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

#: What each code means (contract §2 "applies to"), for whoever must choose one: the panel's
#: override list and the LLM's second opinion.
DISPOSITION_MEANINGS: dict[str, str] = {
    "marketing_success": "客户同意办理且密码验证或电子契约成功",
    "referral_success": "推荐客户自行办理",
    "declined": "客户听过产品介绍后拒绝（含中途拒绝）",
    "intent_not_completed": (
        "客户同意办理但未能完成（密码验证失败、无密码且不接受电子契约、验证中掉线）"
    ),
    "intent_declined": "客户接听后未讲话，或在听到产品介绍前拒绝/挂机",
    "midway_declined": "服务类：客户在主问卷中途因主观原因中止",
    "survey_completed": "服务类：问卷完成",
    "other_incomplete": "客观原因未完成：非机主、信号差、客户在国外、开车开会并约定回访",
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
