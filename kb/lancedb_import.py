"""Importing LanceDB without paying for the REST client it never uses here.

`import lancedb` pulls in `lance_namespace_urllib3_client`, a generated REST client whose
~370 API methods are each wrapped in `pydantic.validate_call`, which builds its validator at
decoration time: ~0.7 s of the ~1.2 s import on an idle machine, for methods a local store
never calls. While LanceDB is imported, `validate_call` builds each validator on the
method's first call instead — the same validation, paid only by what is used.
"""

from __future__ import annotations

import functools
import threading
from types import ModuleType
from typing import Any, Callable

_LOCK = threading.Lock()


def _lazy(real: Callable[..., Any]) -> Callable[..., Any]:
    def validate_call(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
            built: list[Callable[..., Any]] = []

            @functools.wraps(f)
            def call(*args: Any, **kwargs: Any) -> Any:
                if not built:
                    built.append(real(**options)(f))
                return built[0](*args, **kwargs)

            return call

        return decorate(func) if func is not None else decorate

    return validate_call


def import_lancedb() -> ModuleType:
    """`lancedb`, imported with validators built on first use (see the module docstring).
    Threads wait for one import: a partly imported module is never handed out."""
    import sys

    with _LOCK:
        if "lancedb" not in sys.modules:
            import pydantic

            real = pydantic.validate_call
            pydantic.validate_call = _lazy(real)  # type: ignore[assignment]
            try:
                import lancedb
            finally:
                pydantic.validate_call = real  # type: ignore[assignment]
        import lancedb  # done, or waits for an import another thread started without this helper
    return lancedb
