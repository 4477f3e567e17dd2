"""Normalising ASR text and cutting it into tokens for the lexical ranker.

Speech recognition gives full-width and half-width forms, '_' where audio was lost, and fillers
(喂, 那个, 呃) that carry no meaning; both rankers see the same cleaned text.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata

import jieba

_NOISE = re.compile(r"[\s_\-—…·~～*＊]+")
_PUNCT = re.compile(r"[，。！？、；：“”‘’\"'（）()\[\]【】《》<>,.!?;:/\\|]+")
_LEADING_FILLERS = re.compile(
    r"^(?:喂|哎呀|哎哟|唉呀|哎|唉|诶|欸|嗯|呃|啊|哦|噢|那个|就是|这个|我说|你好|您好)+"
)

#: Words with no retrieval value in a customer's question; removed before lexical scoring.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "嘛",
        "哦",
        "噢",
        "嗯",
        "呃",
        "哎",
        "唉",
        "喂",
        "诶",
        "欸",
        "么",
        "啦",
        "哈",
        "咯",
        "呗",
        "着",
        "过",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "咱",
        "咱们",
        "这",
        "那",
        "这个",
        "那个",
        "就",
        "就是",
        "是",
        "在",
        "有",
        "和",
        "也",
        "都",
        "还",
        "又",
        "一下",
        "一个",
        "什么",
        "怎么",
        "为什么",
        "这样",
        "那样",
        "然后",
        "所以",
        "但是",
        "可是",
        "如果",
        "那么",
    ]
)


def clean(text: str) -> str:
    """NFKC, lower case, no ASR gap marks or extra spaces; punctuation kept for the embedder."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NOISE.sub(" ", text).strip()


def plain(text: str) -> str:
    """The cleaned text without punctuation or spaces: how a turn *sounds* ("喂，大声一点")."""
    return _PUNCT.sub("", clean(text)).replace(" ", "")


def bare(text: str) -> str:
    """The plain text without leading fillers: what a turn *says*."""
    return _LEADING_FILLERS.sub("", plain(text))


class Tokenizer:
    """jieba words plus character bigrams: words catch vocabulary, bigrams survive ASR slips."""

    def __init__(self) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()

    def tokens(self, text: str) -> list[str]:
        plain = _PUNCT.sub(" ", clean(text))
        words = [w for w in self._jieba.lcut_for_search(plain) if w.strip() and w not in STOPWORDS]
        chars = [c for c in plain.replace(" ", "") if c not in STOPWORDS]
        bigrams = [a + b for a, b in itertools.pairwise(chars)]
        return words + bigrams
