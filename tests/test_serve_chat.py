"""The chat bot of `copilot serve`: Slack Events API and Lark/Feishu event callbacks posted to
the real app on a uvicorn port, in the shapes the platforms document (tests/data/chat/);
the replies go to a local stand-in of each platform's web API, which records them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402

from copilot.config import load_settings  # noqa: E402
from copilot.demo import ensure_demo  # noqa: E402
from copilot.service.app import create_app  # noqa: E402
from copilot.service.chat import (  # noqa: E402
    ChatPayloadError,
    lark_decrypt_bytes,
    lark_signature,
    slack_signature,
)
from tests.jsonserver import reply_json, serve, stop  # noqa: E402
from tests.serve_helpers import Served, wait_for  # noqa: E402

DATA = Path(__file__).parent / "data" / "chat"
TOKEN = "s3rve-token-for-tests"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LARK_TOKEN = "xxxxxx"  # the verification token in the recorded Lark events


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class PlatformAPI:
    """Slack's chat.postMessage and Lark's token + message-reply endpoints, recording calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with outer.lock:
                    outer.calls.append({"path": self.path, "auth": self.headers.get("Authorization", ""), "body": body})
                if self.path == "/api/chat.postMessage":
                    reply_json(self, 200, {"ok": True, "channel": body.get("channel"), "ts": "1515449530.000100"})
                elif self.path == "/open-apis/auth/v3/tenant_access_token/internal":
                    ok = body == {"app_id": "cli_9f5343c580712544", "app_secret": "lark-app-secret"}
                    reply_json(self, 200, {"code": 0, "msg": "ok", "tenant_access_token": "t-g1044ghJRUIJJ5ELPPQ",
                                           "expire": 7200} if ok else {"code": 10014, "msg": "app secret invalid"})
                elif self.path.startswith("/open-apis/im/v1/messages/") and self.path.endswith("/reply"):
                    reply_json(self, 200, {"code": 0, "msg": "success", "data": {"message_id": "om_reply"}})
                else:
                    reply_json(self, 404, {"error": "not found"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server, self.url = serve(Handler)

    def posts(self, prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["path"].startswith(prefix)]


@pytest.fixture
def api():
    platform = PlatformAPI()
    yield platform
    stop(platform.server)


@pytest.fixture
def demo():
    return ensure_demo()


def bot_settings(demo, api: PlatformAPI, **extra):
    return load_settings({"data": str(demo), "offline": True, "memory": False,
                          "slack_bot_token": "xoxb-test-bot-token", "slack_signing_secret": SIGNING_SECRET,
                          "slack_api_url": f"{api.url}/api",
                          "lark_app_id": "cli_9f5343c580712544", "lark_app_secret": "lark-app-secret",
                          "lark_verification_token": LARK_TOKEN, "lark_api_url": api.url, **extra})


def slack_post(url: str, body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    stamp = str(int(at if at is not None else time.time()))
    signed = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": slack_signature(secret, stamp, body),
              "Content-Type": "application/json", **(headers or {})}
    return httpx.post(f"{url}/chat/slack", content=body, headers=signed)


def test_slack_url_check_and_signatures(demo, api, tmp_path):
    with Served(create_app(bot_settings(demo, api), token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        ok = slack_post(srv.url, recorded("slack_url_verification.json"))  # no bearer token: the signature is the auth
        assert ok.status_code == 200
        assert ok.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
        forged = slack_post(srv.url, recorded("slack_app_mention.json"), secret="not-the-secret")
        assert forged.status_code == 401 and "X-Slack-Signature does not match" in forged.json()["error"]
        replay = slack_post(srv.url, recorded("slack_app_mention.json"), at=time.time() - 600)
        assert replay.status_code == 401 and "5 minutes" in replay.json()["error"]
        unsigned = httpx.post(f"{srv.url}/chat/slack", content=recorded("slack_app_mention.json"))
        assert unsigned.status_code == 401
        ignored = slack_post(srv.url, recorded("slack_bot_message.json"))  # the bot's own reply, echoed back
        assert ignored.status_code == 200 and ignored.json()["ignored"]
        # the other endpoints still need the bearer token
        assert httpx.get(f"{srv.url}/healthz").status_code == 401
    assert api.calls == []  # nothing was answered


def test_slack_question_is_answered_in_its_thread_once(demo, api, tmp_path):
    truth = json.loads((demo / "incident.json").read_text())
    with Served(create_app(bot_settings(demo, api), token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        first = slack_post(srv.url, recorded("slack_app_mention.json"))
        assert first.status_code == 200 and first.json() == {"ok": True, "queued": True}
        # Slack re-sends an event it thinks was missed: answered once
        again = slack_post(srv.url, recorded("slack_app_mention.json"), headers={"X-Slack-Retry-Num": "1"})
        assert again.json() == {"ok": True, "duplicate": True}
        answered = 'copilot_serve_chat_questions_total{outcome="answered",platform="slack"} 1.0'

        def scraped() -> str:
            return httpx.get(f"{srv.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text

        # the question is counted once its whole answer is posted (the report may take several messages)
        wait_for(lambda: answered in scraped(), 120, "the answer in the thread")
        metrics = scraped()
    posts = api.posts("/api/chat.postMessage")
    assert all(p["auth"] == "Bearer xoxb-test-bot-token" for p in posts)
    assert all(p["body"]["channel"] == "C0LAN2Q65" and p["body"]["thread_ts"] == "1515449522.000016" for p in posts)
    assert posts[0]["body"]["text"].startswith("Looking into it: why is checkout slow? (data: files in ")
    answer = posts[1]["body"]["text"]
    assert answer.startswith("*[fault] Most likely root cause: " + truth["component"])
    assert "Incident report" in "".join(p["body"]["text"] for p in posts[1:])
    assert 'copilot_serve_chat_questions_total{outcome="answered",platform="slack"} 1.0' in metrics
    assert 'copilot_serve_chat_questions_total{outcome="duplicate",platform="slack"} 1.0' in metrics


def test_a_question_matching_a_workflow_says_so_before_it_runs(demo, api, tmp_path):
    event = json.loads(recorded("slack_app_mention.json"))
    event["event_id"] = "Ev0WORKFLOW"
    event["event"]["text"] = "<@U0LAN0Z89> service checkout high latency"
    with Served(create_app(bot_settings(demo, api), token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        assert slack_post(srv.url, json.dumps(event).encode()).json()["queued"] is True
        wait_for(lambda: len(api.posts("/api/chat.postMessage")) >= 2, 120, "the echo and the answer")
    posts = api.posts("/api/chat.postMessage")
    assert posts[0]["body"]["text"].startswith("I'll run high-latency for service checkout")


def test_lark_question_is_answered_in_its_thread(demo, api, tmp_path):
    truth = json.loads((demo / "incident.json").read_text())
    with Served(create_app(bot_settings(demo, api), token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        check = httpx.post(f"{srv.url}/chat/lark", content=recorded("lark_url_verification.json"))
        assert check.status_code == 200 and check.json() == {"challenge": "ajls384kdjx98XX"}
        forged = json.loads(recorded("lark_message_receive.json"))
        forged["header"]["token"] = "guessed"
        refused = httpx.post(f"{srv.url}/chat/lark", json=forged)
        assert refused.status_code == 401 and "verification token" in refused.json()["error"]
        accepted = httpx.post(f"{srv.url}/chat/lark", content=recorded("lark_message_receive.json"))
        assert accepted.json() == {"ok": True, "queued": True}
        wait_for(lambda: len(api.posts("/open-apis/im/")) >= 2, 120, "the answer in the Lark thread")
    tokens = api.posts("/open-apis/auth/")
    assert len(tokens) == 1  # the tenant token is reused for the second reply
    replies = api.posts("/open-apis/im/v1/messages/om_5ce6d572455d361153b7cb51da133945/reply")
    assert len(replies) >= 2 and all(r["auth"] == "Bearer t-g1044ghJRUIJJ5ELPPQ" for r in replies)
    assert all(r["body"]["msg_type"] == "text" and r["body"]["reply_in_thread"] is True for r in replies)
    texts = [json.loads(r["body"]["content"])["text"] for r in replies]
    # in the asker's language; the mention is not part of the question
    assert texts[0].startswith("正在排查：checkout 为什么变慢了？（数据：files in ")
    assert f"最可能的根因：{truth['component']}" in texts[1]


def encrypt_for_lark(key: str, plain: bytes) -> str:
    """Lark's documented scheme, for building an encrypted callback in the test."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(data) + enc.finalize()).decode()


def test_lark_decryption_matches_the_documented_example():
    pytest.importorskip("cryptography")
    # Lark's developer docs: Encrypt Key "test key" turns "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=" into "hello world"
    assert lark_decrypt_bytes("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == b"hello world"
    with pytest.raises(ChatPayloadError, match="cannot be decrypted with the configured lark_encrypt_key"):
        lark_decrypt_bytes("another key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")


def test_lark_encrypted_and_signed_events(demo, api, tmp_path):
    pytest.importorskip("cryptography")
    key = "lark-encrypt-key-1"
    settings = bot_settings(demo, api, lark_encrypt_key=key)
    body = json.dumps({"encrypt": encrypt_for_lark(key, recorded("lark_message_receive.json"))}).encode()
    stamp, nonce = str(int(time.time())), "13234422"
    signed = {"X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce,
              "X-Lark-Signature": lark_signature(key, stamp, nonce, body)}
    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        tampered = dict(signed, **{"X-Lark-Signature": lark_signature("wrong", stamp, nonce, body)})
        assert httpx.post(f"{srv.url}/chat/lark", content=body, headers=tampered).status_code == 401
        unsigned = httpx.post(f"{srv.url}/chat/lark", content=body)
        assert unsigned.status_code == 401 and "X-Lark-Signature" in unsigned.json()["error"]
        plain = httpx.post(f"{srv.url}/chat/lark", content=recorded("lark_message_receive.json"), headers=signed)
        assert plain.status_code == 401  # with an Encrypt Key set, a plain body is not from Lark
        # Lark's URL check is encrypted too (and unsigned): decrypted, its token checked, answered
        check = json.dumps({"encrypt": encrypt_for_lark(key, recorded("lark_url_verification.json"))}).encode()
        assert httpx.post(f"{srv.url}/chat/lark", content=check).json() == {"challenge": "ajls384kdjx98XX"}
        ok = httpx.post(f"{srv.url}/chat/lark", content=body, headers=signed)
        assert ok.status_code == 200 and ok.json() == {"ok": True, "queued": True}
        wait_for(lambda: len(api.posts("/open-apis/im/")) >= 2, 120, "the answer in the Lark thread")


def test_an_unconfigured_platform_is_refused_with_what_to_set(demo, api, tmp_path):
    settings = load_settings({"data": str(demo), "offline": True, "memory": False})
    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt")) as srv:
        r = slack_post(srv.url, recorded("slack_app_mention.json"))
        assert r.status_code == 404 and "slack_signing_secret" in r.json()["error"]
        r = httpx.post(f"{srv.url}/chat/lark", content=recorded("lark_message_receive.json"))
        assert r.status_code == 404 and "lark_verification_token" in r.json()["error"]
