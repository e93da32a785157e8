"""A local HTTP server for sources with no Debian package: it answers recorded responses
of the documented API (exact shapes the real servers return) and records every request,
so tests can assert what was pushed down. Binds 127.0.0.1 on a free port; optional TLS.
It also serves as an HTTP proxy: a request for an absolute URL is recorded with its host."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any
    host: str = ""  # for a proxied request: the host the client asked for


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class Route:
    method: str
    path: str
    replies: list[Reply | Callable[[Seen], Reply]] = field(default_factory=list)
    calls: int = 0

    def next(self, seen: Seen) -> Reply:
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        return reply(seen) if callable(reply) else reply


class Stub:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.routes: list[Route] = []
        self.seen: list[Seen] = []
        self.require: Callable[[Seen], bool] | None = None  # auth check: False -> 401
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                seen = Seen(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                            {k.lower(): v for k, v in self.headers.items()}, body, parts.netloc)
                stub.seen.append(seen)
                if stub.require is not None and not stub.require(seen):
                    reply: Reply = (401, {"error": "unauthorized"})
                else:
                    route = next((r for r in stub.routes if r.method == self.command and r.path == parts.path), None)
                    reply = route.next(seen) if route else (404, "404 page not found\n")
                status, payload, *rest = reply
                headers = rest[0] if rest else {}
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                ctype = "text/plain; charset=utf-8" if isinstance(payload, (str, bytes)) else "application/json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def route(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> Route:
        r = Route(method, path, list(replies))
        self.routes.insert(0, r)  # the latest wins
        return r

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def __enter__(self) -> "Stub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


T0 = 1_715_691_600  # 2024-05-14T13:00:00Z, the recorded responses' hour


def open_source(cls: Any, url: str, **options: Any) -> Any:
    """A live source from settings as a user writes them, with quick backoff for tests."""
    from copilot.config import Settings

    options.setdefault("retries", 1)
    src = cls.from_settings(Settings(sources={cls.name: {"url": url, **options}}))
    src.http_options = {"backoff": 0.001}
    return src


def hour_query(*components: str) -> Any:
    """The recorded hour, narrowed to `components`."""
    from copilot.sources import SourceQuery

    return SourceQuery(start=T0, end=T0 + 3600, components=components)
