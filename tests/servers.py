"""Helpers for tests that start real servers: a free port, start-and-wait-until-ready, stop,
and a self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], workdir: Path, ready: Callable[[], bool], timeout: float = 15.0) -> subprocess.Popen:
    """Start a server and wait until `ready()` is true; its output goes to <workdir>/server.log."""
    log_path = workdir / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited: {log_path.read_text()[-2000:]}")
        try:
            if ready():
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not become ready in {timeout:g} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def self_signed_cert(workdir: Path) -> tuple[str, str]:
    """(cert.pem, key.pem) for CN and IP SAN 127.0.0.1; skips the test without openssl."""
    if not shutil.which("openssl"):
        pytest.skip("needs openssl to make a test certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=workdir, check=True, capture_output=True)
    return str(workdir / "cert.pem"), str(workdir / "key.pem")
