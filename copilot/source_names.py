"""A question that names its data source ("请参考local的数据源", "from Prometheus",
"用 prometheus 的数据") is answered from that source only.

    named_sources(question)   the canonical source names the question asks for, in order
    without_source_clause(q)  the question with those clauses removed (so "请参考" in a
                              source clause does not make an investigation a knowledge question)
    narrow(selection, ...)    the run's DataSelection cut down to the named sources, or one
                              line saying which named source is not configured and how to set it
    local_only(question)      a knowledge question that names the local source is answered
                              from the local knowledge base only, never the model's general knowledge
    named_note(lang)          the sentence the trace shows for that
"""

from __future__ import annotations

import re
from typing import Any

from .errors import CopilotError

# What people call each source (source.name on the left). "local"/"本地" is the files source:
# the --data directory, or the bundled demo when that is what the run reads.
ALIASES: dict[str, tuple[str, ...]] = {
    "files": ("local", "本地", "files", "file", "文件", "离线"),
    "prometheus": ("prometheus", "prom", "promql", "普罗米修斯"),
    "loki": ("loki",),
    "elasticsearch": ("elasticsearch", "elastic", "kibana"),
    "alertmanager": ("alertmanager",),
    "jaeger": ("jaeger",),
    "tempo": ("tempo",),
    "kubernetes": ("kubernetes", "k8s"),
    "cloudwatch": ("cloudwatch", "aws"),
}
_BY_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
# Words that name a source on their own after "from"/"using"; the others ("aws", "k8s",
# "file") need "data"/"source" after them ("errors from AWS" is about AWS, not CloudWatch).
_STRONG = ("local", "本地", "prometheus", "普罗米修斯", "loki", "elasticsearch", "alertmanager", "jaeger", "tempo",
           "cloudwatch")


def _alternatives(words: Any) -> str:
    return "|".join(sorted((re.escape(a) for a in words), key=len, reverse=True))


_WORD = _alternatives(_BY_ALIAS)
_SOURCE_WORDS = r"(?:data\s*sources?|datasources?|sources?|data|metrics|数据源|数据)"
_CLAUSE = re.compile(
    # Chinese: 请参考local的数据源 / 用 prometheus 的数据 / 基于本地数据 / 只看 loki
    rf"[，,;；]?\s*(?:请\s*)?(?:参考|使用|用|基于|根据|依据|只看)\s*"
    rf"(?:(?P<zh>{_alternatives(_STRONG)})\s*(?:的)?\s*{_SOURCE_WORDS}?|(?P<zh2>{_WORD})\s*(?:的)?\s*{_SOURCE_WORDS})"
    # English: from Prometheus / using the local data source / based on loki logs
    rf"|[,;]?\s*\b(?:(?:answer|look|check|read|only)\s+)?(?:from|using|use|via|according\s+to|based\s+on)\s+(?:the\s+)?(?:only\s+)?"
    rf"(?:(?P<en>{_alternatives(_STRONG)})\b(?:\s+{_SOURCE_WORDS}\b)?|(?P<en2>{_WORD})\s+{_SOURCE_WORDS}\b)(?:\s+only\b)?"
    # "the prometheus data source", "local的数据源"
    rf"|(?P<bare>\b{_WORD})\s*(?:的)?\s*(?:data\s*sources?|datasources?|数据源)",
    re.I,
)


def _matches(question: str) -> list[re.Match[str]]:
    return [m for m in _CLAUSE.finditer(question) if _word(m)]


def _word(m: re.Match[str]) -> str:
    return m.group("zh") or m.group("zh2") or m.group("en") or m.group("en2") or m.group("bare") or ""


def named_sources(question: str) -> list[str]:
    out: list[str] = []
    for m in _matches(question):
        word = _word(m).lower()
        name = _BY_ALIAS.get(word)
        if name and name not in out:
            out.append(name)
    return out


def without_source_clause(question: str) -> str:
    return _CLAUSE.sub(" ", question).strip()


def _how_to_set(name: str) -> str:
    if name == "files":
        return "pass --data DIR (a telemetry directory)"
    if name == "cloudwatch":
        return "set cloudwatch_dir (saved AWS CLI output) or cloudwatch_resources and cloudwatch_region"
    if name == "kubernetes":
        return "set kubernetes_context (or a kubeconfig)"
    return f"set {name}_url (COPILOT_{name.upper()}_URL)"


def narrow(selection: Any, names: list[str], settings: Any, factories: list[Any]) -> Any:
    """The sources the question names, taken from this run's selection or else from the
    configured sources; raises CopilotError naming a source that is not configured."""
    from .sources import DataSelection

    have = {s.name: s for s in selection.sources}
    picked = []
    for name in names:
        source = have.get(name)
        if source is None:
            for factory in factories:
                try:
                    made = factory(settings)
                except CopilotError:
                    continue
                if made is not None and made.name == name:
                    source = made
                    break
        if source is None:
            raise CopilotError(f"the question asks for the {name} data source, which is not configured; "
                               f"{_how_to_set(name)}, or ask without naming a source")
        picked.append(source)
    demo = selection.demo and all(s.name == "files" for s in picked)
    return DataSelection(picked, demo=demo, named=list(names))


def local_only(question: str) -> bool:
    return "files" in named_sources(question)


def named_note(lang: str) -> str:
    return ("问题指定了本地数据源：只根据本地知识库作答。" if lang == "zh"
            else "The question names the local source: answering from the local knowledge base only.")
