"""A local HTTP endpoint that accepts connections and then hangs: it never answers
("silent"), or it starts a streamed chat answer and stops sending midway ("stall").

For the model-call deadlines: the faults are real sockets, not mocks of the client.
"""

from __future__ import annotations

import json
import socket
import threading
import time


class HungEndpoint:
    def __init__(self, mode: str = "silent") -> None:
        if mode not in ("silent", "stall", "slow"):
            raise ValueError("mode: silent, stall or slow")
        self.mode = mode
        self.accepted: list[float] = []  # time.monotonic() of every accepted connection
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HungEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._held:
            conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            self._held.append(conn)  # kept open, never closed until the test ends
            if self.mode == "stall":
                threading.Thread(target=self._start_answer, args=(conn,), daemon=True).start()
            elif self.mode == "slow":
                threading.Thread(target=self._slow_answer, args=(conn,), daemon=True).start()

    def _start_answer(self, conn: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536) or b"\r\n\r\n"
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Final Answer: the"},
                                  "finish_reason": None}]}
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
                         + f"data: {json.dumps(chunk)}\n\n".encode())
        except OSError:
            return

    slow_s = 1.5  # "slow": how long the server reads the prompt before its first token

    def _slow_answer(self, conn: socket.socket) -> None:
        """Answer at once (headers), keep the stream alive with SSE comments while "reading the
        prompt" (as llama.cpp's server does), then send the whole answer."""
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536) or b"\r\n\r\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
            until = time.monotonic() + self.slow_s
            while time.monotonic() < until and not self._stop.wait(0.2):
                conn.sendall(b": ping\n\n")
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Final Answer: slow but sure"},
                                  "finish_reason": "stop"}]}
            conn.sendall(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
            conn.close()
        except OSError:
            return
