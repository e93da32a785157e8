"""Vectors of the bundled knowledge, computed at release time for the default embedder, so a
first run loads the bundled knowledge without embedding it (seconds saved on every new
install). Keyed by a hash of each text: a text changed since the file was built simply
misses and is embedded as usual.

Rebuild after editing kb/bundled/:  .venv/bin/python -m copilot.kb.prebuilt
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "bundled" / "vectors.json"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def load(embedder_name: str) -> dict[str, Any]:
    """text key -> float32 vector, when the file was built with this embedder."""
    import numpy as np

    if not PATH.exists():
        return {}
    data = json.loads(PATH.read_text(encoding="utf-8"))
    if data.get("embedder") != embedder_name:
        return {}
    return {k: np.frombuffer(base64.b64decode(v), dtype=np.float16).astype(np.float32)
            for k, v in data["vectors"].items()}


def build() -> int:
    import numpy as np

    from . import schema as S
    from .embed import E5Embedder
    from .seed import bundled_plan

    plan, _ = bundled_plan()
    texts = [S.search_text("experience", {**S.blank("experience"), **e}) for e in plan.experiences]
    texts += [S.search_text("document", {**S.blank("document"), **c}) for cs in plan.documents.values() for c in cs]
    emb = E5Embedder()
    vecs = emb.passages(texts)
    out = {"embedder": emb.name, "vectors": {
        text_key(t): base64.b64encode(np.asarray(v, dtype=np.float16).tobytes()).decode() for t, v in zip(texts, vecs)}}
    PATH.write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
    return len(texts)


if __name__ == "__main__":
    print(f"wrote {build()} vectors to {PATH}")
