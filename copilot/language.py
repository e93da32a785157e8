"""The user's language: answers follow it (English and Chinese both matter)."""

from __future__ import annotations

import re

_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """'zh' when Chinese carries the text, else 'en'. A Chinese character is about a word,
    so English words are counted as words (two characters' weight each), not letter by
    letter: "checkout 的 Pod 为什么一直 Pending？" is a Chinese question with English names."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= 0.3 * (cjk + 2 * words) else "en"
