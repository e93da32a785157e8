"""A local JSON HTTP server for tests: `serve(handler)` starts it on 127.0.0.1 (port 0) in
a thread with a listen backlog big enough for concurrent clients; `reply_json` answers."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # Python's default (5) delays the 6th concurrent connect by a SYN retry
    daemon_threads = True


def reply_json(handler: http.server.BaseHTTPRequestHandler, code: int, body: Any) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> tuple[Server, str]:
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stop(server: Server) -> None:
    server.shutdown()
    server.server_close()
