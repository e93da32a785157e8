"""LanceDB imported with validators built on first call: the same validation, restored after."""

from __future__ import annotations

import pydantic
import pytest

from copilot.kb.lancedb_import import _lazy, import_lancedb


def test_lazy_validate_call_still_validates_on_call() -> None:
    built: list[str] = []
    real = pydantic.validate_call

    def counting(**options):  # type: ignore[no-untyped-def]
        built.append("built")
        return real(**options)

    @_lazy(counting)
    def double(n: int) -> int:
        return n * 2

    assert built == []  # nothing built at decoration time
    assert double("21") == 42  # coerced as pydantic does
    with pytest.raises(pydantic.ValidationError):
        double("twenty")
    assert built == ["built"]  # built once, on the first call
    assert double.__name__ == "double"


def test_import_restores_validate_call_and_gives_a_working_lancedb(tmp_path) -> None:  # type: ignore[no-untyped-def]
    real = pydantic.validate_call
    lancedb = import_lancedb()
    assert pydantic.validate_call is real
    db = lancedb.connect(str(tmp_path))
    db.create_table("t", data=[{"id": "a", "n": 1}])
    assert db.open_table("t").count_rows() == 1


def test_threads_importing_at_once_each_get_the_whole_module() -> None:
    """The offline plan runs kb_search and similar_incidents at once: neither may see a
    partly imported lancedb (it did: "partially initialized module 'lancedb'")."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "from copilot.kb.lancedb_import import import_lancedb\n"
        "got = []\n"
        "def late():\n"  # asks while the first import is under way
        "    while 'lancedb' not in sys.modules:\n"
        "        pass\n"
        "    got.append(hasattr(import_lancedb(), 'connect'))\n"
        "ts = [threading.Thread(target=late) for _ in range(3)]\n"
        "[t.start() for t in ts]\n"
        "got.append(hasattr(import_lancedb(), 'connect'))\n"
        "[t.join() for t in ts]\n"
        "print(got)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[True, True, True, True]"
