"""Which disposition code a call earns (000 判断13/21/33, 选择14/15/17/18, 案例1; contract §2).

The code follows from facts the state machine recorded turn by turn (who confirmed what, when
the offer began, consent, verification, refusal and where it happened), never from the last
turn's keywords alone. Every proposal names the turns that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copilot.codes import DISPOSITION_LABELS, DISPOSITIONS_BY_CAMPAIGN_TYPE, NO_REASON

#: Objective reasons a call could not be completed (000 选择18; contract: takes precedence).
OBJECTIVE = ("not_owner", "abroad", "occupied", "bad_line")
#: Facts that mean the call reached its goal: a later "busy" does not undo it.
COMPLETED = ("verification_passed", "econtract_valid", "survey_completed")


@dataclass
class Proposal:
    code: str
    confidence: float
    rationale: str
    evidence: list[int]
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    refusal_reason: str | None = None

    def message(self, call_id: str, campaign_type: str | None) -> dict:
        allowed = DISPOSITIONS_BY_CAMPAIGN_TYPE[campaign_type]
        return {
            "type": "disposition",
            "call_id": call_id,
            "code": self.code,
            "label": DISPOSITION_LABELS[self.code],
            "confidence": round(self.confidence, 2),
            "rationale": self.rationale,
            "evidence": sorted(set(self.evidence)),
            "refusal_reason": self.refusal_reason,
            "alternatives": [
                {"code": c, "label": DISPOSITION_LABELS[c], "confidence": round(p, 2)}
                for c, p in self.alternatives
                if c in allowed and c != self.code
            ],
        }


def propose(
    facts: dict[str, int],
    last: dict[str, int],
    campaign_type: str | None,
    refusal_reason: str | None,
) -> Proposal:
    """`facts` hold where each thing was first said, `last` where it was last said."""
    if "customer_spoke" not in facts:
        # A silent line, whatever the agent said to end it ("无法听清您的声音" included): nothing
        # objective can be known of a customer who never spoke.
        return Proposal(
            "intent_declined",
            0.9,
            "客户接听后始终未讲话（000 判断13）",
            [],
            [("other_incomplete", 0.1)],
        )
    objective = [f for f in OBJECTIVE if f in facts]
    if not objective and _callback_agreed(facts, last):
        objective, facts = ["busy"], {**facts, "busy": facts["callback_proposed"]}
    elif not objective and _busy_not_excuse(facts, last):
        objective = ["busy"]
    if objective:
        return _objective(facts, objective)
    if campaign_type == "service":
        return _service(facts, last, refusal_reason)
    return _marketing(facts, last, refusal_reason, has_campaign=campaign_type == "marketing")


def _callback_agreed(facts: dict[str, int], last: dict[str, int]) -> bool:
    """The agent proposed to call back and the customer answered without refusing: a busy
    customer with a callback agreed (contract: other_incomplete), whatever words said why."""
    proposed = facts.get("callback_proposed")
    if proposed is None or any(f in facts for f in COMPLETED):
        return False
    if last.get("customer_spoke", 0) <= proposed:
        return False
    return last.get("refusal", -1) < proposed


def _busy_not_excuse(facts: dict[str, int], last: dict[str, int]) -> bool:
    """A customer "在忙" before the offer was presented and before any refusal could not
    listen; said with or after a refusal ("没兴趣，我这忙着呢") it is a way to end the call, and
    so it is when the customer turns down the callback the agent then proposes ("别打了")."""
    busy = facts.get("busy")
    if busy is None or any(f in facts for f in COMPLETED):
        return False
    proposed = last.get("callback_proposed", -1)
    if proposed >= busy and last.get("refusal", -1) > proposed:
        return False
    ends_refusal = last["busy"] >= facts.get("refusal", last["busy"] + 1)
    return busy < facts.get("presented", busy + 1) and not ends_refusal


def _objective(facts: dict[str, int], present: list[str]) -> Proposal:
    reasons = {
        "not_owner": "客户表示不是机主",
        "abroad": "客户在国外",
        "occupied": "客户在开车/开会等不方便接听",
        "busy": "客户正忙不便接听",
        "bad_line": "信号或通话质量问题无法正常沟通",
    }
    first = min(present, key=lambda f: facts[f])
    return Proposal(
        "other_incomplete",
        0.85,
        f"{reasons[first]}，属客观原因未完成（000 选择18）",
        [facts[f] for f in present],
        [("declined", 0.1)],
    )


def _marketing(
    facts: dict[str, int], last: dict[str, int], refusal_reason: str | None, has_campaign: bool
) -> Proposal:
    presented = facts.get("presented")  # the product itself: amounts, tiers, monthly fee
    consent = last.get("consent")
    refusal = last.get("refusal")  # the customer's last word on it decides
    # A failed check is one that ran, however its start was worded.
    processing = any(
        f in facts
        for f in (
            "verification_started",
            "econtract_sent",
            "verification_failed",
            "econtract_invalid",
        )
    )
    if has_campaign and ("verification_passed" in facts or "econtract_valid" in facts):
        won = facts.get("verification_passed", facts.get("econtract_valid", 0))
        return Proposal(
            "marketing_success",
            0.9,
            "客户同意办理且验证/电子契约成功",
            [s for s in (facts.get("consent"), won) if s is not None],
            [("intent_not_completed", 0.1)],
        )
    # Once the agreed sale went to verification, or met a missing password, a later "no" (to
    # the e-contract, say) is the failure of that sale, not a refusal of the offer (000 选择14,
    # 案例2); nor is "I'll sort the password at the shop" a referral.
    blocked = processing or facts.get("no_password", -1) >= (consent or 0)
    referral = _referral_accepted(facts, last)
    if has_campaign and referral and not blocked:
        return Proposal(
            "referral_success",
            0.75,
            "已推荐客户自行办理，客户接受",
            referral,
            [("declined", 0.2)],
        )
    if has_campaign and consent is not None and (blocked or refusal is None or refusal < consent):
        failed = facts.get("verification_failed", facts.get("econtract_invalid"))
        why = (
            "客户同意办理但密码验证/电子契约未成功（000 案例1、选择14、选择17）"
            if failed is not None
            else "客户同意办理但未完成验证即结束"
        )
        return Proposal(
            "intent_not_completed",
            0.85 if failed is not None else 0.7,
            why,
            [s for s in (consent, failed, facts.get("verification_started")) if s is not None],
            [("declined", 0.15)],
        )
    if presented is not None and (refusal is None or refusal >= presented):
        why = "客户听取业务介绍后拒绝办理" if refusal is not None else "业务介绍后客户未同意即结束"
        return Proposal(
            "declined",
            0.85 if refusal is not None else 0.65,
            f"{why}（000 判断33）",
            [s for s in (presented, refusal) if s is not None],
            [("intent_declined", 0.15)],
            refusal_reason=refusal_reason or NO_REASON,
        )
    return Proposal(
        "intent_declined",
        0.75,
        "客户在听取业务介绍前拒绝或挂机",
        [refusal] if refusal is not None else [],
        [("declined", 0.2)],
        refusal_reason=(refusal_reason or NO_REASON) if refusal is not None else None,
    )


def _referral_accepted(facts: dict[str, int], last: dict[str, int]) -> list[int]:
    """The turns showing the customer will complete it themselves (推荐成功), or none.

    The customer saying so ("我周末去营业厅办", "你把办理方式发我") after their last refusal, or
    with it ("不用你办，我回头在APP上自己订"), is acceptance. The agent's recommendation alone
    counts only on a call with no refusal: after a "不用了", "以后有需要可以发短信办理"
    answered "嗯知道了" is politeness, not a referral.
    """
    refusal = last.get("refusal", -1)
    said = last.get("self_service")
    if said is not None and said >= refusal:
        return [s for s in (facts.get("referral"), said) if s is not None]
    if "referral" in facts and "refusal" not in last:
        return [facts["referral"], last["referral"]]
    return []


def _service(facts: dict[str, int], last: dict[str, int], refusal_reason: str | None) -> Proposal:
    started = facts.get("questionnaire_started")
    refusal = last.get("refusal")
    if started is not None and refusal is not None and refusal >= started:
        return Proposal(
            "midway_declined",
            0.8,
            "问卷主体进行中客户主观不配合而中断（000 填空20、判断21）",
            [started, refusal],
            [("survey_completed", 0.1)],
            refusal_reason=refusal_reason or NO_REASON,
        )
    if started is not None:
        done = facts.get("survey_completed")
        return Proposal(
            "survey_completed",
            0.85 if done is not None else 0.6,
            "问卷已完成" if done is not None else "客户回答了问卷，未中途拒绝",
            [s for s in (started, done) if s is not None],
            [("midway_declined", 0.15)],
        )
    return Proposal(
        "intent_declined",
        0.75,
        "客户在问卷开始前拒绝或挂机",
        [refusal] if refusal is not None else [],
        [("midway_declined", 0.2)],
        refusal_reason=(refusal_reason or NO_REASON) if refusal is not None else None,
    )
