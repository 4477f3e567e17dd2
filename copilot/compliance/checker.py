"""When each warning becomes real, decided from the call's facts and the turn at hand.

Facts are the seqs where things were first said (knowledge/rules/turn_cues.yaml plus what this
module records: disclosures, the verification purpose, callback offers...). A warning is raised
at the turn where the fault happens (the agent moves to verification without the purpose; the
agent goes on after the customer said they are driving), or at call end for what was never said.
Each code is raised at most once per call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from copilot.compliance.rules import DISCLOSURES, ComplianceRules
from copilot.knowledge.models import Campaign
from copilot.retrieval.text import bare, plain

#: Agent facts that mean "the agent is presenting or processing the offer".
PRESENTING = ("offer", "decision_asked", "verification_started", "econtract_sent")
#: Turn cues that go beyond naming the offer: its terms (amounts, tiers, 包月), a decision,
#: processing.
PITCHING = ("presented", "decision_asked", "verification_started", "econtract_sent")
#: Moments at which the customer is asked to decide or the sale proceeds (contract: disclosures).
DECISION_POINTS = ("decision_asked", "verification_started", "econtract_sent")
SALE_DONE = ("verification_passed", "econtract_valid")
#: Situations with their own codes: disclosures and identity are not judged on such calls.
EXEMPT = ("not_owner", "abroad", "occupied", "busy")
#: The customer cannot talk now: the agent must end and offer a callback (004).
UNAVAILABLE = ("occupied", "busy")


@dataclass
class Finding:
    facts: dict[str, int] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


class Checker:
    def __init__(self, rules: ComplianceRules) -> None:
        self.rules = rules

    def agent_facts(self, text: str, campaign: Campaign | None) -> list[str]:
        """Compliance facts an agent turn establishes (what it discloses, purpose, ...)."""
        said = bare(text)
        names = [n for n, p in self.rules.agent_cues.items() if p.search(said)]
        if campaign is not None:
            for item in DISCLOSURES:
                patterns = self.rules.disclosure_patterns(campaign, item)
                if patterns and all(p.search(said) for p in patterns):
                    names.append(f"said:{item}")
            if campaign.product is not None and _mentions_product(said, campaign):
                names.append("presented")  # naming the product counts as presenting it
                if "number_confirmed" in names:
                    names.append("product_and_number_said")
        return names

    def on_turn(
        self,
        *,
        speaker: str,
        seq: int,
        text: str,
        facts: dict[str, int],
        turn_facts: set[str],
        campaign: Campaign | None,
        direction: str,
        raised: set[str],
    ) -> Finding:
        """Warnings that become real at this turn. `facts` already include this turn's."""
        finding = Finding()
        if speaker != "agent":
            finding.facts = self._identity_answer(text, seq, facts)
            return finding
        # The agent's first reply to a situation the customer raised is what the rules judge.
        first_reply_to = {
            f for f in (*UNAVAILABLE, "do_not_call") if f in facts and f"answered:{f}" not in facts
        }
        for situation in first_reply_to:
            finding.facts[f"answered:{situation}"] = seq
        here = set(turn_facts)
        for name in self.agent_facts(text, campaign):
            if name == "product_and_number_said":
                agreed = any(
                    f in facts for f in ("consent", "verification_started", "econtract_sent")
                )
                name = "final_confirmed" if agreed else name
            here.add(name)
            if name not in facts:
                finding.facts[name] = seq
        if "charged_notice" in here and "abroad" in {**finding.facts, **facts}:
            finding.facts.setdefault("abroad_notified", seq)  # told after learning it
        facts = {**finding.facts, **facts}
        outbound = direction == "outbound"

        def raise_(code: str) -> None:
            if code not in raised and not any(w["code"] == code for w in finding.warnings):
                finding.warnings.append(self._warning(code, seq, campaign))

        if any(p.search(plain(text)) for p, _ in self.rules.forbidden):
            raise_("forbidden_phrase")
        if "privacy" in here:
            raise_("privacy")
        # "这个业务今天就不给您办理了" names the offer to stop it: that is not going on.
        presenting = any(f in here for f in PRESENTING) and "stopping" not in here
        if (
            outbound
            and presenting
            and "identity_confirmed" not in facts
            and "identity_asked" not in here
            and not any(f in facts for f in EXEMPT)
        ):
            raise_("identity_check")
        # Naming the activity a non-holder asked about is not marketing to them; its terms or a
        # request to decide are (001 问题8: 说明原因后引导挂机).
        if "not_owner" in facts and presenting and turn_facts.intersection(PITCHING):
            raise_("non_owner")
        if first_reply_to.intersection(UNAVAILABLE) and "callback_offered" not in here:
            raise_("customer_unavailable")
        if "abroad" in facts and presenting:
            raise_("customer_abroad")
        if outbound and "do_not_call" in first_reply_to and "do_not_call_ack" not in here:
            raise_("do_not_call")
        if "verification_started" in here and "verification_purpose" not in facts:
            raise_("verification_purpose")
        processing = "verification_started" in here or "econtract_sent" in here
        consent = facts.get("consent")
        if processing and (consent is None or facts.get("refusal", -1) > consent):
            raise_("explicit_consent")
        if (
            campaign is not None
            and not any(f in facts for f in EXEMPT)
            and any(f in here for f in DECISION_POINTS + SALE_DONE)
        ):
            for code in self._undisclosed(campaign, facts):
                raise_(code)
        return finding

    def on_end(
        self, *, seq: int, facts: dict[str, int], campaign: Campaign | None, raised: set[str]
    ) -> list[dict[str, Any]]:
        """What was never said, judged when the call is over."""
        codes: list[str] = []
        sale_done = any(f in facts for f in SALE_DONE)
        if campaign is not None and sale_done and not any(f in facts for f in EXEMPT):
            codes += self._undisclosed(campaign, facts)
            if "final_confirmation" in campaign.required_disclosures and not _after(
                facts, "final_confirmed", "consent"
            ):
                codes.append("final_confirmation")
        if "abroad" in facts and "abroad_notified" not in facts:
            codes.append("customer_abroad")
        return [self._warning(c, seq, campaign) for c in dict.fromkeys(codes) if c not in raised]

    def _identity_answer(self, text: str, seq: int, facts: dict[str, int]) -> dict[str, int]:
        """A bare "是的" / "不是" means something only as the answer to "您是机主吗？"."""
        asked = facts.get("identity_asked")
        if asked is None or "identity_confirmed" in facts or "not_owner" in facts:
            return {}
        said = bare(text)
        if _NO.match(said):
            return {"not_owner": seq}
        if _YES.match(said):
            return {"identity_confirmed": seq}
        return {}

    def checklist(self, facts: dict[str, int], campaign: Campaign | None) -> list[dict[str, Any]]:
        if campaign is None:
            return []
        done_at = {
            "identity_check": facts.get("identity_confirmed"),
            "explicit_consent": facts.get("consent"),
            "verification_purpose": facts.get("verification_purpose"),
            "final_confirmation": facts.get("final_confirmed"),
            **{item: facts.get(f"said:{item}") for item in DISCLOSURES},
        }
        return [
            {"code": code, "done": done_at.get(code) is not None, "at": done_at.get(code)}
            for code in campaign.required_disclosures
            if code in done_at
        ]

    def next_step(self, facts: dict[str, int], campaign: Campaign | None) -> str | None:
        """The required step the agent should take next, in the order of a compliant call:
        confirm the holder, disclose what the offer needs once it is presented, state the
        verification purpose once the customer agreed, confirm the sale once it succeeded."""
        if campaign is None or any(f in facts for f in EXEMPT):
            return None
        required = campaign.required_disclosures
        if "identity_check" in required and "identity_confirmed" not in facts:
            return "identity_check"
        if "presented" in facts or "offer" in facts:
            for item in self._undisclosed(campaign, facts):
                return item
        if (
            "consent" in facts
            and "verification_purpose" in required
            and "verification_purpose" not in facts
            and not any(f in facts for f in (*SALE_DONE, "econtract_sent"))
        ):
            return "verification_purpose"
        if (
            any(f in facts for f in SALE_DONE)
            and "final_confirmation" in required
            and "final_confirmed" not in facts
        ):
            return "final_confirmation"
        return None

    def unsure(self, text: str, facts: dict[str, int], campaign: Campaign | None) -> list[str]:
        """Disclosures still owed that this agent turn talks about without the cues recognising
        them: said in unusual words, perhaps. Asking the LLM judge is worth it only here."""
        if campaign is None or any(f in facts for f in EXEMPT):
            return []
        said = bare(text)
        return [
            item
            for item in self._undisclosed(campaign, facts)
            if (cue := self.rules.unsure_cues.get(item)) is not None and cue.search(said)
        ]

    def requirement(self, item: str, campaign: Campaign | None) -> str:
        """What stating `item` takes, in the rules' words and the campaign's approved facts."""
        text = self.rules.spec.warnings[item]  # type: ignore[index]
        return f"{text.message}。应告知：{self.rules.hint(item, campaign) or text.hint or ''}"

    def _undisclosed(self, campaign: Campaign, facts: dict[str, int]) -> list[str]:
        required = set(campaign.required_disclosures)
        if campaign.product is not None and campaign.product.trial is not None:
            required.add("trial_terms")
        return [
            item
            for item in DISCLOSURES
            if item in required
            and f"said:{item}" not in facts
            and self.rules.disclosure_patterns(campaign, item)
        ]

    def _warning(self, code: str, seq: int, campaign: Campaign | None) -> dict[str, Any]:
        text = self.rules.spec.warnings[code]  # type: ignore[index]
        return {
            "type": "warning",
            "in_reply_to": seq,
            "code": code,
            "severity": text.severity,
            "message": text.message,
            "hint": self.rules.hint(code, campaign),
        }


_YES = re.compile(r"^(嗯+|对+|是+|没错|对的|是的|是啊|嗯呢|啊是|就是)")
_NO = re.compile(r"^(不是|不对|他不是|这不是)")


def _after(facts: dict[str, int], fact: str, since: str) -> bool:
    return fact in facts and facts[fact] >= facts.get(since, 0)


def _mentions_product(said: str, campaign: Campaign) -> bool:
    assert campaign.product is not None
    names = {bare(n) for n in (campaign.product.name, campaign.name, *campaign.product.aliases)}
    return any(name and name in said for name in names)
