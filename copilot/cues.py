"""Turn cues: which call facts a turn's words establish (knowledge/rules/turn_cues.yaml).

Phrases are matched against the bare text (no punctuation, spaces or leading fillers), so the
ASR's punctuation and the customer's "喂，那个" do not hide them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from copilot.retrieval.text import STOPWORDS, bare

Speaker = Literal["agent", "customer"]


class Cue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    phrases: list[str] = Field(min_length=1)
    #: A statement that needs no answer (agreement, consent, refusal, confirming identity).
    quiet: bool = False


class LostWords(BaseModel):
    """A question the speech recognition mostly lost ("那个_ _ _ _要_ _ _多少钱_"): the agent
    did not hear it either, so the approved answer is to ask the customer to repeat it."""

    model_config = ConfigDict(extra="forbid")
    #: at least this many gap marks ("_", one per stretch of lost audio) in the turn
    min_gaps: int = Field(ge=1)
    #: words that survive only from a question (吗, 多少, 怎么, ...)
    question_words: list[str] = Field(min_length=1)
    #: the knowledge entry whose approved wording asks to repeat
    answer: str


class Dialect(BaseModel):
    """Speech the recogniser wrote in a dialect's own characters (粤语 嘅/咩/唔, 闽南话 汝/啥物,
    吴语 侬/阿拉): the agent cannot follow it, and 004's approved answer is to ask for Mandarin.
    Told by the form of the words, not their meaning, so no paraphrase of it needs indexing."""

    model_config = ConfigDict(extra="forbid")
    #: words of the dialect that Mandarin speech does not use
    markers: list[str] = Field(min_length=1)
    #: at least this many different markers in the turn: one 唔 is a Mandarin "嗯"
    min_markers: int = Field(ge=1)
    #: the knowledge entry whose approved wording asks for Mandarin
    answer: str
    #: 004's next steps when the customer keeps to the dialect (ask again, ask for someone who
    #: speaks Mandarin, close the call): one per further dialect turn, the last one repeated
    then: list[str] = []


class Reply(BaseModel):
    """A customer turn that answers the agent's own question in the question's words (请问您贵姓？
    免贵姓刘; 是在营业厅办的吗？ 嗯 是在营业厅办的) asks nothing: it gets no answer suggestion."""

    model_config = ConfigDict(extra="forbid")
    #: words that make the agent's turn a question (a "?" always does)
    agent_asks: list[str] = Field(min_length=1)
    #: words that make the customer's reply a question of its own (a "?" always does)
    customer_asks: list[str] = Field(min_length=1)
    #: phrases with a question word in them that only tell (正在排队呢, 十几年, 不怎么上网):
    #: they are taken out before `customer_asks` is looked for
    customer_tells: list[str] = []
    #: at most this many characters of the reply may be new: not in the agent's question, not a
    #: quiet cue, a number or a function word (免贵姓刘: 免 and 刘)
    max_new_chars: int = Field(ge=0)


class CueFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Literal["cues"]
    source: str
    customer: dict[str, Cue]
    agent: dict[str, Cue]
    lost_words: LostWords | None = None
    dialect: Dialect | None = None
    reply: Reply | None = None


#: Turn facts told by the form of a customer's words, each answered by one fixed entry.
WORDS_LOST = "words_lost"
DIALECT = "dialect"
#: The turn fact of a customer turn that replies to the agent's question and asks nothing back.
REPLY = "reply"


class CueBook:
    """Compiled cues for both speakers."""

    def __init__(self, spec: CueFile) -> None:
        self._patterns: dict[Speaker, dict[str, re.Pattern[str]]] = {
            "customer": {name: _compile(cue) for name, cue in spec.customer.items()},
            "agent": {name: _compile(cue) for name, cue in spec.agent.items()},
        }
        # One alternation over every quiet phrase, longest first: removing cue by cue would let
        # the back-channel "是" eat the middle of "机主是我".
        self._quiet = _compile(
            Cue(phrases=[p for cue in spec.customer.values() if cue.quiet for p in cue.phrases])
        )
        self.lost_words = spec.lost_words
        self._question_words = (
            _compile(Cue(phrases=spec.lost_words.question_words)) if spec.lost_words else None
        )
        self.dialect = spec.dialect
        self.reply = spec.reply
        self._agent_asks = _compile(Cue(phrases=spec.reply.agent_asks)) if spec.reply else None
        self._customer_asks = (
            _compile(Cue(phrases=spec.reply.customer_asks)) if spec.reply else None
        )
        self._customer_tells = (
            _compile(Cue(phrases=spec.reply.customer_tells))
            if spec.reply and spec.reply.customer_tells
            else None
        )
        self._dialect_markers = (
            _compile(Cue(phrases=spec.dialect.markers)) if spec.dialect else None
        )
        #: the entry that answers each form fact
        self.fixed_answers: dict[str, str] = {}
        if spec.lost_words:
            self.fixed_answers[WORDS_LOST] = spec.lost_words.answer
        if spec.dialect:
            self.fixed_answers[DIALECT] = spec.dialect.answer

    @classmethod
    def load(cls, path: Path) -> CueBook:
        return cls(CueFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))

    def facts(self, speaker: Speaker, text: str) -> list[str]:
        """Names of the cues this turn's words match."""
        said = bare(text)
        return [name for name, pattern in self._patterns[speaker].items() if pattern.search(said)]

    def is_statement(self, text: str, after: str | None = None) -> bool:
        """True when a customer turn says nothing but quiet cues (嗯 / 是我 / 那办一个吧 / 不用了),
        a number, or nothing at all, or when it only answers `after`, the agent's question just
        before it, in that question's words: such a turn gets no answer suggestion."""
        said = bare(text)
        return len(self._left_over(said)) <= 1 or (
            after is not None and self._answers_question(text, after)
        )

    def _answers_question(self, text: str, asked: str) -> bool:
        if self.reply is None or not self.replies_to(text, asked):
            return False
        new = set(self._left_over(bare(text))) - set(bare(asked))
        return len(new) <= self.reply.max_new_chars

    def replies_to(self, text: str, asked: str) -> bool:
        """True when a customer turn follows `asked`, the agent's question, and asks nothing
        back (对对 我自己身份证办的 当时本人去的; 晚上吧 七八点以后 我下班到家了): what it says is
        mostly the customer's own answer and story, so retrieval must be surer before an answer
        is shown."""
        if self.reply is None or self._agent_asks is None or self._customer_asks is None:
            return False
        return _asks(asked, self._agent_asks) and not _asks(
            text, self._customer_asks, unless=self._customer_tells
        )

    def form_facts(self, text: str) -> list[str]:
        """What the form of a customer turn says (most words lost, a dialect), whatever it means."""
        return [
            name
            for name, found in ((WORDS_LOST, self.words_lost), (DIALECT, self.speaks_dialect))
            if found(text)
        ]

    def dialect_step(self, times: int) -> str | None:
        """The entry that answers the customer's `times`-th dialect turn of a call (1 = first)."""
        if self.dialect is None:
            return None
        steps = [self.dialect.answer, *self.dialect.then]
        return steps[min(times, len(steps)) - 1]

    def speaks_dialect(self, text: str) -> bool:
        if self.dialect is None or self._dialect_markers is None:
            return False
        markers = set(self._dialect_markers.findall(bare(text)))
        return len(markers) >= self.dialect.min_markers

    def words_lost(self, text: str) -> bool:
        """True when the ASR lost most of a customer's question: several gaps, and what is left
        is more than fillers and quiet cues, or still sounds like a question."""
        if self.lost_words is None or self._question_words is None:
            return False
        if text.count("_") < self.lost_words.min_gaps:
            return False
        said = bare(text)
        return len(self._left_over(said)) >= 2 or self._question_words.search(said) is not None

    def _left_over(self, said: str) -> str:
        """What a bare turn says besides quiet cues, numbers and function words."""
        return _FUNCTION_WORDS.sub("", _NUMBERS.sub("", self._quiet.sub("", said)))

    def refusal_reason(self, text: str) -> str | None:
        """The customer's own reason when a refusal says more than "不需要" (000 判断40)."""
        said = _FUNCTION_WORDS.sub("", self._quiet.sub("", bare(text)))
        return bare(text) if len(said) >= 2 else None


#: Words that carry no request of their own once the statement is removed (这个我就不办了).
_FUNCTION_WORDS = re.compile(
    "|".join(sorted((re.escape(w) for w in STOPWORDS), key=len, reverse=True)) + "|[呗嘞]"
)

#: Digits and spoken numbers (phone numbers, tiers, dates read out), plus measure words.
_NUMBERS = re.compile(r"[0-9零一二三四五六七八九十百千万两幺元块个号月天年点首]+")


def _asks(text: str, words: re.Pattern[str], unless: re.Pattern[str] | None = None) -> bool:
    """A "?" or one of `words`, outside the phrases `unless` matches (十几年 tells, 几 asks)."""
    said = bare(text) if unless is None else unless.sub("", bare(text))
    return "?" in text or "？" in text or words.search(said) is not None


def _compile(cue: Cue) -> re.Pattern[str]:
    # Longest first, so "好的" wins over "好+" and nothing is left behind by a shorter phrase.
    phrases = sorted(cue.phrases, key=len, reverse=True)
    return re.compile("|".join(f"(?:{p})" for p in phrases))
