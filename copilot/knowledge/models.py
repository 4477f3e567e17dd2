"""The knowledge file formats of the contract (section 4), validated with pydantic.

Readers ignore fields they do not know (the contract allows extra fields), but every field they
do know is checked, so a typo in an approved answer's id or direction is caught at import.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from copilot.codes import WarningCode

EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=120)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Direction = Literal["outbound", "inbound", "both"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Answer(_Doc):
    kind: Literal["answer"] = "answer"
    id: EntryId
    title: Text
    questions: list[Text] = Field(min_length=1)
    answer: Text
    note: str | None = None
    tags: list[str] = Field(default_factory=list)
    direction: Direction = "both"
    source: Text
    #: Entries shown right after this one when it is the best answer: the seed's next step when
    #: the customer insists (redirect, then record the complaint), or the same situation's
    #: wording in another seed. A link to an entry that is not live is skipped.
    related: list[EntryId] = Field(default_factory=list)

    @field_validator("questions")
    @classmethod
    def _distinct(cls, questions: list[str]) -> list[str]:
        seen: set[str] = set()
        for q in questions:
            if q in seen:
                raise ValueError(f"question listed twice: {q}")
            seen.add(q)
        return questions

    @model_validator(mode="after")
    def _not_related_to_itself(self) -> Answer:
        if self.id in self.related:
            raise ValueError("related: an entry cannot be related to itself")
        return self

    def serves(self, direction: str) -> bool:
        return self.direction == "both" or self.direction == direction


class Trial(_Doc):
    ends: Text
    after: Text


class Product(_Doc):
    name: Text
    #: Other names agents use for it ("GPRS流量套餐"): naming any of them presents the product.
    aliases: list[Text] = Field(default_factory=list)
    tiers: list[Text] = Field(default_factory=list)
    fee: str | None = None
    rules: str | None = None
    open_method: str | None = None
    cancel_method: str | None = None
    trial: Trial | None = None

    def fact(self, field: str) -> str | None:
        """One approved fact as it is said: "fee", "rules", "cancel_method", "trial", ..."""
        if field == "trial":
            return f"{self.trial.ends}；{self.trial.after}" if self.trial else None
        value = getattr(self, field, None)
        return value if isinstance(value, str) else None

    def fact_lines(self) -> list[str]:
        """The approved product facts, one labelled line each (what an LLM may draw on)."""
        lines = [f"产品：{self.name}"]
        if self.tiers:
            lines.append("档位：" + "；".join(self.tiers))
        labelled = [
            ("资费", self.fee),
            ("规则", self.rules),
            ("开通方式", self.open_method),
            ("取消方式", self.cancel_method),
        ]
        lines += [f"{label}：{value}" for label, value in labelled if value]
        if self.trial:
            lines.append(f"试用：{self.trial.ends}；{self.trial.after}")
        return lines


class Campaign(_Doc):
    kind: Literal["campaign"] = "campaign"
    id: EntryId
    name: Text
    type: Literal["marketing", "service"]
    product: Product | None = None
    required_disclosures: list[WarningCode] = Field(default_factory=list)
    #: What the agent must say for a disclosure to count: every group must match (any phrase of
    #: a group, regular expressions allowed). Absent: the defaults of rules/compliance.yaml.
    disclosure_cues: dict[WarningCode, list[list[str]]] = Field(default_factory=dict)
    source: str | None = None

    def fact_lines(self) -> list[str]:
        """The product's approved facts (none for a questionnaire): what an LLM may draw on."""
        return self.product.fact_lines() if self.product else []

    @field_validator("product")
    @classmethod
    def _marketing_has_product(cls, product: Product | None, info) -> Product | None:
        if product is None and info.data.get("type") == "marketing":
            raise ValueError("a marketing campaign needs a product")
        return product


KnowledgeDoc = Annotated[Answer | Campaign, Field(discriminator="kind")]
