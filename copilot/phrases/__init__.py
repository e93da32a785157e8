"""Report sentences in the user's language, written from structured data.

Detectors and the ranking describe what they saw in English sentences (`Finding.summary`,
`RootCause.reasons`). A Chinese report needs the same facts in Chinese: these functions
write them from the structured fields (source, kind, component, signal, score, onset,
details; the cause's fault kind and evidence ids), with the same numbers formatted the
same way and the same finding ids cited. English stays the detectors' own sentences.
What cannot be rendered (a finding kind no renderer knows, a sentence a model wrote)
stays as it was. Log templates, change and alert descriptions are data: quoted verbatim.
"""

from .findings import finding_sentence
from .reasons import cause_reasons

__all__ = ["finding_sentence", "cause_reasons"]
