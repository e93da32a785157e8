"""Test helpers for `copilot serve`: a local webhook receiver, the app on a real uvicorn
port, and Alertmanager-shaped payloads built from the demo incident's own alerts."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Receiver:
    """A chat webhook stand-in: records every JSON body; answers `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None, body: bytes = b"ok") -> None:
        self.messages: list[dict[str, Any]] = []
        self.hits = 0
        self.statuses = list(statuses or [])
        self.body = body
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.hits += 1
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    if status == 200:
                        outer.messages.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class Served:
    """An ASGI app on a real uvicorn port in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as `copilot serve` does
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "Served":
        self.thread.start()
        wait_for(lambda: self.server.started, 30, "uvicorn to start")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(90)


def demo_alert(demo: Path) -> dict[str, Any]:
    return json.loads((demo / "alerts.jsonl").read_text(encoding="utf-8").splitlines()[0])


def alertmanager_payload(demo: Path, status: str = "firing") -> dict[str, Any]:
    """Webhook payload version 4, as Alertmanager posts it, for the demo's first alert."""
    a = demo_alert(demo)
    labels = {"alertname": a["name"], "service": a["component"], "severity": a["severity"]}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="%s"}' % a["name"],
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "copilot",
        "groupLabels": {"alertname": a["name"]},
        "commonLabels": labels,
        "commonAnnotations": {"description": a["description"]},
        "externalURL": "http://alertmanager.local:9093",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {"description": a["description"]},
            "startsAt": a["timestamp"],
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.local:9090/graph",
            "fingerprint": "c0ffee00c0ffee00",
        }],
    }
