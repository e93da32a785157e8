"""LanceDB imported with validators built on first call: the same validation, restored after."""

from __future__ import annotations

import pydantic
import pytest

from kb.lancedb_import import _lazy, import_lancedb


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
