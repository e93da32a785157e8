"""The ASGI app of `copilot serve` (Starlette).

    POST /alerts/alertmanager   Alertmanager webhook (payload version 4)
    POST /alerts/grafana        Grafana alerting webhook
    GET  /healthz               liveness and queue depth
    GET  /metrics               Prometheus metrics of the service
    GET  /sessions/{id}/report  the Markdown report of a finished investigation
    POST /chat/slack            Slack Events API: questions answered in their thread (chat.py)
    POST /chat/lark             Lark / Feishu event callbacks, the same
    POST /chat/slack/actions    Slack interactivity (Approve / Deny clicks on a proposed fix)
    POST /chat/lark/card        Lark card callbacks (the same clicks; /chat/lark takes them too)

Every request needs `Authorization: Bearer <token>` (compared in constant time) unless the
service was started with auth off — except the chat endpoints, which a platform calls with
its own signature instead (verified there); bodies over `max_body` bytes get 413. Investigations and
deliveries run in worker threads so the event loop keeps answering while they work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..audit import AuditLog
from ..config import Settings, data_dir
from .approvals import ActionPayloadError, ChatDecision, ChatProposals, Outcome, lark_card, parse_slack_action, \
    proposal_text, slack_blocks
from .chat import (
    ChatPayloadError,
    ChatQuestion,
    ChatReplier,
    Parsed,
    ReplyError,
    SeenEvents,
    SignatureError,
    answer_question,
    lark_decrypt,
    parse_lark,
    parse_slack,
    verify_lark_signature,
    verify_slack,
)
from .delivery import Message, build_message, deliver
from .investigation import Investigation, alert_question, investigate
from .metrics import ServiceMetrics
from .payloads import AlertGroup, PayloadError, parse_alertmanager
from .queue import AlertQueue

log = logging.getLogger("copilot.serve")

MAX_BODY = 1 << 20  # 1 MiB
CHAT_PREFIX = "/chat/"  # authenticated by the platform's signature, not the bearer token


class BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: bearer token on every request, and a cap on the declared body size."""

    def __init__(self, app: Any, token: str | None, max_body: int, metrics: ServiceMetrics) -> None:
        self.app, self.token, self.max_body, self.metrics = app, token, max_body, metrics

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token is not None and not scope.get("path", "").startswith(CHAT_PREFIX):
            given = headers.get("authorization", "")
            scheme, _, credential = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), self.token.encode()):
                self.metrics.rejected.labels("unauthorized").inc()
                response = JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                return await response(scope, receive, send)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            self.metrics.rejected.labels("too_large").inc()
            response = JSONResponse({"error": f"request body over {self.max_body} bytes"}, status_code=413)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes even when no Content-Length was sent."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


class _Alerts:
    """The alert webhooks: the queue of investigations, the workers that run them, the deliveries."""

    def __init__(self, settings: Settings, *, max_body: int, ledger: Path | None,
                 run: Callable[[Settings, AlertGroup], Investigation],
                 send: Callable[[Settings, Message], list], processes: bool) -> None:
        self.settings, self.max_body, self.ledger = settings, max_body, ledger
        self.run, self.send, self.processes = run, send, processes
        self._queue: AlertQueue | None = None
        self.pool: Any = None
        self.metrics = ServiceMetrics(lambda: self._queue.depth if self._queue is not None else 0)

    async def call(self, group: AlertGroup) -> Investigation:
        if not self.processes:
            return await asyncio.to_thread(self.run, self.settings, group)
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(self.settings.serve_concurrency, multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.run, self.settings, group)

    async def investigate(self, group: AlertGroup) -> Investigation:
        """The group's investigation; a crashed worker is a failed investigation, reported as such."""
        try:
            return await self.call(group)
        except Exception as exc:  # noqa: BLE001
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                self.pool = None  # start a fresh pool for the next alert
            return Investigation("", alert_question(group), error=f"{type(exc).__name__}: {exc}")

    async def handle(self, group: AlertGroup) -> None:
        started = time.monotonic()
        inv = await self.investigate(group)
        metrics = self.metrics
        metrics.duration.observe(time.monotonic() - started)
        metrics.investigations.labels("failed" if inv.failed else "answered").inc()
        if inv.failed:
            metrics.failures.inc()
            log.warning("investigation %s failed: %s", inv.session_id, inv.error)
        message = build_message(inv, group, self.settings.serve_public_url)
        for result in await asyncio.to_thread(self.send, self.settings, message):
            metrics.deliveries.labels(result.target, "ok" if result.ok else "failed").inc()
            if not result.ok:
                log.warning("delivery of %s to %s failed: %s", inv.session_id, result.target, result.error)

    def queue(self) -> AlertQueue:
        if self._queue is None:
            self._queue = AlertQueue(self.handle, self.settings.serve_concurrency, self.ledger)
        return self._queue

    def _rejected(self, reason: str, message: str, status: int) -> Response:
        self.metrics.rejected.labels(reason).inc()
        return JSONResponse({"error": message}, status_code=status)

    async def receive(self, request: Request, source: str) -> Response:
        try:
            raw = await read_body(request, self.max_body)
        except BodyTooLarge:
            return self._rejected("too_large", f"request body over {self.max_body} bytes", 413)
        try:
            group = parse_alertmanager(json.loads(raw), source)
        except json.JSONDecodeError as exc:
            return self._rejected("bad_payload", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                  400)
        except PayloadError as exc:
            return self._rejected("bad_payload", str(exc), 400)
        self.metrics.alerts_received.labels(source).inc(len(group.alerts))
        submitted = self.queue().submit(group)
        if submitted.duplicates:
            self.metrics.alerts_duplicate.labels(source).inc(submitted.duplicates)
        return JSONResponse({"group_key": group.key, **submitted.to_dict()}, status_code=202)

    async def alertmanager(self, request: Request) -> Response:
        return await self.receive(request, "alertmanager")

    async def grafana(self, request: Request) -> Response:
        return await self.receive(request, "grafana")

    async def stop(self) -> None:
        if not await self.queue().join(timeout=60):
            log.warning("stopping with investigations still running")
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Pages:
    """What the service shows: liveness, its metrics, a finished investigation's report."""

    def __init__(self, settings: Settings, alerts: _Alerts) -> None:
        self.settings, self.alerts = settings, alerts

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "queue_depth": self.alerts.queue().depth})

    async def prometheus(self, request: Request) -> Response:
        body, content_type = self.alerts.metrics.exposition()
        return Response(body, media_type=content_type)

    async def session_report(self, request: Request) -> Response:
        from copilot.sessions.store import SessionStore

        from ..errors import CopilotError

        try:
            store = SessionStore(self.settings.sessions_path())
            sid = store.resolve(request.path_params["session_id"])
            diagnosis = store.last_diagnosis(sid)
        except CopilotError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        if not diagnosis:
            return JSONResponse({"error": f"session {sid} has no finished diagnosis"}, status_code=404)
        return PlainTextResponse(diagnosis.get("answer", ""), media_type="text/markdown; charset=utf-8")


class _ChatBot:
    """The chat bot: questions in Slack / Lark threads answered there, proposed fixes decided there."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics, max_body: int, audit: AuditLog | None) -> None:
        self.settings, self.metrics, self.max_body = settings, metrics, max_body
        self.tasks: set[asyncio.Task] = set()
        self._replier: ChatReplier | None = None
        self._limit: asyncio.Semaphore | None = None
        self.seen_events = SeenEvents()
        self.proposals = ChatProposals(settings.chat_approvers, settings.chat_approval_minutes * 60, audit)

    def replier(self) -> ChatReplier:
        if self._replier is None:
            self._replier = ChatReplier(self.settings)
        return self._replier

    def post_in_thread(self, q: ChatQuestion, text: str, **rich: Any) -> None:
        import httpx

        try:
            self.replier().post(q, text, **rich)
            self.metrics.deliveries.labels(f"{q.platform}_thread", "ok").inc()
        except (ReplyError, httpx.HTTPError) as exc:
            self.metrics.deliveries.labels(f"{q.platform}_thread", "failed").inc()
            log.warning("reply in %s thread %s failed: %s", q.platform, q.thread, exc)

    def offer_remediation(self, q: ChatQuestion, result: dict[str, Any]) -> None:
        """The run's proposed fix, with Approve / Deny, when someone may approve it from chat."""
        from ..remediation import propose

        if not self.settings.chat_approvers or result["error"] or not result.get("diagnosis"):
            return
        plan = propose(result["diagnosis"], result["session_id"])
        if plan is None:
            return
        p = self.proposals.open(q.platform, q.channel, q.thread, plan, q.user, result.get("language", "en"))
        text = proposal_text(p, self.settings.chat_approval_minutes)
        if q.platform == "slack":
            self.post_in_thread(q, text, blocks=slack_blocks(p, text))
        else:
            self.post_in_thread(q, text, card=lark_card(p, text))

    async def answer_in_thread(self, q: ChatQuestion) -> None:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.settings.serve_concurrency)

        def reply(text: str) -> None:
            self.post_in_thread(q, text)

        async with self._limit:
            started = time.monotonic()
            result = await asyncio.to_thread(answer_question, self.settings, q, reply)
            self.metrics.duration.observe(time.monotonic() - started)
            await asyncio.to_thread(self.offer_remediation, q, result)
            outcome = "failed" if result["error"] else "answered"
            self.metrics.investigations.labels(outcome).inc()
            self.metrics.chat_questions.labels(q.platform, outcome).inc()

    def background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def carry_out(self, d: ChatDecision, outcome: Outcome, p: Any) -> None:
        where = ChatQuestion(d.platform, d.key, "", d.channel, d.thread, d.user)
        await asyncio.to_thread(self.post_in_thread, where, outcome.message)
        if outcome.run and p is not None:
            await asyncio.to_thread(self.post_in_thread, where, await asyncio.to_thread(self.proposals.run, p))

    @staticmethod
    def decision_response(platform: str, outcome: Outcome, **extra: Any) -> Response:
        if platform == "lark":  # Lark shows the toast to the clicker
            return JSONResponse({"toast": {"type": "success" if outcome.ok else "error", "content": outcome.message}})
        return JSONResponse({"ok": True, **extra})

    def take_decision(self, platform: str, d: ChatDecision) -> Response:
        """A verified click or reply: decided once per click/message id (re-sent callbacks are
        answered with the proposal's state and change nothing)."""
        if not self.seen_events.first_time(f"{platform}:decision:{d.key}"):
            self.metrics.chat_decisions.labels(platform, "duplicate").inc()
            p = self.proposals.get(d.proposal)
            state = p.state if p else "unknown"
            return self.decision_response(platform, Outcome(False, f"Proposal {d.proposal}: already taken ({state}).",
                                                            False), duplicate=True)
        outcome, p = self.proposals.decide(d)
        label = ("approved" if outcome.run else "denied") if outcome.ok else "refused"
        self.metrics.chat_decisions.labels(platform, label).inc()
        self.background(self.carry_out(d, outcome, p))
        return self.decision_response(platform, outcome, decision=label)

    def refusal(self, reason: str, message: str, status: int) -> Response:
        self.metrics.rejected.labels(reason).inc()
        return JSONResponse({"error": message}, status_code=status)

    def not_configured(self, platform: str) -> str:
        """Why the platform's bot cannot answer ('' when it is configured)."""
        s = self.settings
        if platform == "slack" and not (s.slack_signing_secret and s.slack_bot_token):
            return "the Slack bot is not configured; set slack_signing_secret and slack_bot_token"
        if platform == "lark" and not (s.lark_verification_token and s.lark_app_id and s.lark_app_secret):
            return "the Lark bot is not configured; set lark_verification_token, lark_app_id and lark_app_secret"
        return ""

    async def chat(self, request: Request, platform: str, interactive: bool = False) -> Response:
        missing = self.not_configured(platform)
        if missing:
            return self.refusal("not_configured", missing, 404)
        try:
            raw = await read_body(request, self.max_body)
        except BodyTooLarge:
            return self.refusal("too_large", f"request body over {self.max_body} bytes", 413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            parsed = self.parse(platform, interactive, headers, raw)
        except SignatureError as exc:
            return self.refusal("bad_signature", str(exc), 401)
        except json.JSONDecodeError as exc:
            return self.refusal("bad_payload", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                400)
        except (ChatPayloadError, ActionPayloadError, AttributeError) as exc:
            return self.refusal("bad_payload", str(exc) if not isinstance(exc, AttributeError)
                                else "the event is not shaped like the platform's event callback", 400)
        return self.dispatch(platform, parsed)

    def parse(self, platform: str, interactive: bool, headers: dict[str, str], raw: bytes) -> Parsed:
        if platform == "slack":
            verify_slack(self.settings.slack_signing_secret, headers, raw)
            return self.parse_slack_action(raw) if interactive else parse_slack(json.loads(raw))
        return self.parse_lark(headers, raw)

    @staticmethod
    def parse_slack_action(raw: bytes) -> Parsed:
        """A Slack interactivity request: application/x-www-form-urlencoded `payload=<json>`."""
        from urllib.parse import parse_qs

        form = parse_qs(raw.decode("utf-8", "replace"))
        if "payload" not in form:
            raise ChatPayloadError("an interactivity request carries a form field `payload`")
        clicked = parse_slack_action(json.loads(form["payload"][0]))
        return Parsed(decision=clicked) if clicked else Parsed(ignored="an action that is not ours")

    def parse_lark(self, headers: dict[str, str], raw: bytes) -> Parsed:
        """A Lark event: signed and encrypted when the app has an Encrypt Key, plain otherwise."""
        key = self.settings.lark_encrypt_key
        payload = json.loads(raw)
        if key and "x-lark-signature" in headers:
            verify_lark_signature(key, headers, raw)
        if isinstance(payload, dict) and "encrypt" in payload:
            if not key:
                raise ChatPayloadError("the Lark event is encrypted; set lark_encrypt_key to the app's Encrypt Key")
            payload = lark_decrypt(key, str(payload["encrypt"]))
        elif key:
            raise SignatureError("lark_encrypt_key is set but the event is not encrypted")
        parsed = parse_lark(payload, self.settings.lark_verification_token)
        if (parsed.question is not None or parsed.decision is not None) and key and "x-lark-signature" not in headers:
            raise SignatureError("missing X-Lark-Signature")
        return parsed

    def dispatch(self, platform: str, parsed: Parsed) -> Response:
        """A verified event: a URL challenge answered, a decision taken, a new question queued."""
        if parsed.challenge is not None:
            return JSONResponse({"challenge": parsed.challenge})
        if parsed.decision is not None:
            return self.take_decision(platform, parsed.decision)
        q = parsed.question
        if q is None:
            return JSONResponse({"ok": True, "ignored": parsed.ignored})
        if not self.seen_events.first_time(f"{platform}:{q.event_id}"):
            self.metrics.chat_questions.labels(platform, "duplicate").inc()
            return JSONResponse({"ok": True, "duplicate": True})
        self.background(self.answer_in_thread(q))
        return JSONResponse({"ok": True, "queued": True})

    async def slack(self, request: Request) -> Response:
        return await self.chat(request, "slack")

    async def lark(self, request: Request) -> Response:
        return await self.chat(request, "lark")

    async def slack_actions(self, request: Request) -> Response:
        return await self.chat(request, "slack", interactive=True)

    async def stop(self) -> None:
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=60)
            if pending:
                log.warning("stopping with chat questions still running")


def _routes(alerts: _Alerts, pages: _Pages, bot: _ChatBot) -> list[Route]:
    """The service's routes (the module docstring describes them)."""
    table: list[tuple[str, Callable[[Request], Any], str]] = [
        ("/alerts/alertmanager", alerts.alertmanager, "POST"),
        ("/alerts/grafana", alerts.grafana, "POST"),
        ("/healthz", pages.healthz, "GET"),
        ("/metrics", pages.prometheus, "GET"),
        ("/sessions/{session_id}/report", pages.session_report, "GET"),
        ("/chat/slack", bot.slack, "POST"),
        ("/chat/lark", bot.lark, "POST"),
        ("/chat/slack/actions", bot.slack_actions, "POST"),
        ("/chat/lark/card", bot.lark, "POST"),
    ]
    return [Route(path, endpoint, methods=[method]) for path, endpoint, method in table]


def create_app(
    settings: Settings,
    *,
    token: str | None,
    max_body: int = MAX_BODY,
    ledger: Path | None = None,
    run: Callable[[Settings, AlertGroup], Investigation] = investigate,
    send: Callable[[Settings, Message], list] = deliver,
    processes: bool = True,
    audit: AuditLog | None = None,
) -> Any:
    """`token=None` turns auth off (the CLI allows that only on loopback, and only when asked).

    With `processes` (the default) investigations run in a pool of `serve_concurrency` worker
    processes, so their CPU work never holds this process's GIL and the service stays
    responsive; otherwise in threads (`run` must then be picklable only in process mode)."""
    alerts = _Alerts(settings, max_body=max_body, ledger=ledger, run=run, send=send, processes=processes)
    bot = _ChatBot(settings, alerts.metrics, max_body, audit)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        alerts.queue()
        yield
        await bot.stop()
        await alerts.stop()

    app = Starlette(routes=_routes(alerts, _Pages(settings, alerts), bot), lifespan=lifespan)
    guarded = Guard(app, token, max_body, alerts.metrics)
    guarded.state = app.state  # type: ignore[attr-defined]
    app.state.metrics = alerts.metrics
    app.state.queue = alerts.queue
    app.state.proposals = bot.proposals
    return guarded


def default_ledger() -> Path:
    return data_dir() / "serve" / "seen-alerts.txt"
