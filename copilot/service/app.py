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
    queue_box: dict[str, AlertQueue] = {}
    pool_box: dict[str, Any] = {}
    metrics = ServiceMetrics(lambda: queue_box["q"].depth if "q" in queue_box else 0)

    async def call(group: AlertGroup) -> Investigation:
        if not processes:
            return await asyncio.to_thread(run, settings, group)
        if "pool" not in pool_box:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool_box["pool"] = ProcessPoolExecutor(settings.serve_concurrency, multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(pool_box["pool"], run, settings, group)

    async def handle(group: AlertGroup) -> None:
        started = time.monotonic()
        try:
            inv = await call(group)
        except Exception as exc:  # noqa: BLE001 - a crashed worker is a failed investigation, reported as such
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                pool_box.pop("pool", None)  # start a fresh pool for the next alert
            inv = Investigation("", alert_question(group), error=f"{type(exc).__name__}: {exc}")
        metrics.duration.observe(time.monotonic() - started)
        metrics.investigations.labels("failed" if inv.failed else "answered").inc()
        if inv.failed:
            metrics.failures.inc()
            log.warning("investigation %s failed: %s", inv.session_id, inv.error)
        message = build_message(inv, group, settings.serve_public_url)
        for result in await asyncio.to_thread(send, settings, message):
            metrics.deliveries.labels(result.target, "ok" if result.ok else "failed").inc()
            if not result.ok:
                log.warning("delivery of %s to %s failed: %s", inv.session_id, result.target, result.error)

    def queue() -> AlertQueue:
        if "q" not in queue_box:
            queue_box["q"] = AlertQueue(handle, settings.serve_concurrency, ledger)
        return queue_box["q"]

    async def receive_alerts(request: Request, source: str) -> Response:
        try:
            raw = await read_body(request, max_body)
        except BodyTooLarge:
            metrics.rejected.labels("too_large").inc()
            return JSONResponse({"error": f"request body over {max_body} bytes"}, status_code=413)
        try:
            group = parse_alertmanager(json.loads(raw), source)
        except json.JSONDecodeError as exc:
            metrics.rejected.labels("bad_payload").inc()
            return JSONResponse({"error": f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"},
                                status_code=400)
        except PayloadError as exc:
            metrics.rejected.labels("bad_payload").inc()
            return JSONResponse({"error": str(exc)}, status_code=400)
        metrics.alerts_received.labels(source).inc(len(group.alerts))
        submitted = queue().submit(group)
        if submitted.duplicates:
            metrics.alerts_duplicate.labels(source).inc(submitted.duplicates)
        return JSONResponse({"group_key": group.key, **submitted.to_dict()}, status_code=202)

    async def alertmanager(request: Request) -> Response:
        return await receive_alerts(request, "alertmanager")

    async def grafana(request: Request) -> Response:
        return await receive_alerts(request, "grafana")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "queue_depth": queue().depth})

    async def prometheus(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    async def session_report(request: Request) -> Response:
        from copilot.sessions.store import SessionStore

        from ..errors import CopilotError

        try:
            store = SessionStore(settings.sessions_path())
            sid = store.resolve(request.path_params["session_id"])
            diagnosis = store.last_diagnosis(sid)
        except CopilotError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        if not diagnosis:
            return JSONResponse({"error": f"session {sid} has no finished diagnosis"}, status_code=404)
        return PlainTextResponse(diagnosis.get("answer", ""), media_type="text/markdown; charset=utf-8")

    # ---- the chat bot: questions in Slack / Lark threads, answered there -----------------
    chat_tasks: set[asyncio.Task] = set()
    chat_box: dict[str, Any] = {}
    seen_events = SeenEvents()
    proposals = ChatProposals(settings.chat_approvers, settings.chat_approval_minutes * 60, audit)

    def replier() -> ChatReplier:
        if "replier" not in chat_box:
            chat_box["replier"] = ChatReplier(settings)
        return chat_box["replier"]

    def post_in_thread(q: ChatQuestion, text: str, **rich: Any) -> None:
        import httpx

        try:
            replier().post(q, text, **rich)
            metrics.deliveries.labels(f"{q.platform}_thread", "ok").inc()
        except (ReplyError, httpx.HTTPError) as exc:
            metrics.deliveries.labels(f"{q.platform}_thread", "failed").inc()
            log.warning("reply in %s thread %s failed: %s", q.platform, q.thread, exc)

    def offer_remediation(q: ChatQuestion, result: dict[str, Any]) -> None:
        """The run's proposed fix, with Approve / Deny, when someone may approve it from chat."""
        from ..remediation import propose

        if not settings.chat_approvers or result["error"] or not result.get("diagnosis"):
            return
        plan = propose(result["diagnosis"], result["session_id"])
        if plan is None:
            return
        p = proposals.open(q.platform, q.channel, q.thread, plan, q.user, result.get("language", "en"))
        text = proposal_text(p, settings.chat_approval_minutes)
        if q.platform == "slack":
            post_in_thread(q, text, blocks=slack_blocks(p, text))
        else:
            post_in_thread(q, text, card=lark_card(p, text))

    async def answer_in_thread(q: ChatQuestion) -> None:
        if "limit" not in chat_box:
            chat_box["limit"] = asyncio.Semaphore(settings.serve_concurrency)

        def reply(text: str) -> None:
            post_in_thread(q, text)

        async with chat_box["limit"]:
            started = time.monotonic()
            result = await asyncio.to_thread(answer_question, settings, q, reply)
            metrics.duration.observe(time.monotonic() - started)
            await asyncio.to_thread(offer_remediation, q, result)
            outcome = "failed" if result["error"] else "answered"
            metrics.investigations.labels(outcome).inc()
            metrics.chat_questions.labels(q.platform, outcome).inc()

    def background(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        chat_tasks.add(task)
        task.add_done_callback(chat_tasks.discard)

    async def carry_out(d: ChatDecision, outcome: Outcome, p: Any) -> None:
        where = ChatQuestion(d.platform, d.key, "", d.channel, d.thread, d.user)
        await asyncio.to_thread(post_in_thread, where, outcome.message)
        if outcome.run and p is not None:
            await asyncio.to_thread(post_in_thread, where, await asyncio.to_thread(proposals.run, p))

    def decision_response(platform: str, outcome: Outcome, **extra: Any) -> Response:
        if platform == "lark":  # Lark shows the toast to the clicker
            return JSONResponse({"toast": {"type": "success" if outcome.ok else "error", "content": outcome.message}})
        return JSONResponse({"ok": True, **extra})

    def take_decision(platform: str, d: ChatDecision) -> Response:
        """A verified click or reply: decided once per click/message id (re-sent callbacks are
        answered with the proposal's state and change nothing)."""
        if not seen_events.first_time(f"{platform}:decision:{d.key}"):
            metrics.chat_decisions.labels(platform, "duplicate").inc()
            p = proposals.get(d.proposal)
            state = p.state if p else "unknown"
            return decision_response(platform, Outcome(False, f"Proposal {d.proposal}: already taken ({state}).", False),
                                     duplicate=True)
        outcome, p = proposals.decide(d)
        label = ("approved" if outcome.run else "denied") if outcome.ok else "refused"
        metrics.chat_decisions.labels(platform, label).inc()
        background(carry_out(d, outcome, p))
        return decision_response(platform, outcome, decision=label)

    def chat_refusal(reason: str, message: str, status: int) -> Response:
        metrics.rejected.labels(reason).inc()
        return JSONResponse({"error": message}, status_code=status)

    async def chat(request: Request, platform: str, interactive: bool = False) -> Response:
        if platform == "slack" and not (settings.slack_signing_secret and settings.slack_bot_token):
            return chat_refusal("not_configured", "the Slack bot is not configured; set slack_signing_secret and "
                                "slack_bot_token", 404)
        if platform == "lark" and not (settings.lark_verification_token and settings.lark_app_id
                                       and settings.lark_app_secret):
            return chat_refusal("not_configured", "the Lark bot is not configured; set lark_verification_token, "
                                "lark_app_id and lark_app_secret", 404)
        try:
            raw = await read_body(request, max_body)
        except BodyTooLarge:
            return chat_refusal("too_large", f"request body over {max_body} bytes", 413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            if platform == "slack":
                verify_slack(settings.slack_signing_secret, headers, raw)
                if interactive:  # application/x-www-form-urlencoded `payload=<json>`
                    from urllib.parse import parse_qs

                    form = parse_qs(raw.decode("utf-8", "replace"))
                    if "payload" not in form:
                        raise ChatPayloadError("an interactivity request carries a form field `payload`")
                    clicked = parse_slack_action(json.loads(form["payload"][0]))
                    parsed = Parsed(decision=clicked) if clicked else Parsed(ignored="an action that is not ours")
                else:
                    parsed = parse_slack(json.loads(raw))
            else:
                payload = json.loads(raw)
                if settings.lark_encrypt_key and "x-lark-signature" in headers:
                    verify_lark_signature(settings.lark_encrypt_key, headers, raw)
                if isinstance(payload, dict) and "encrypt" in payload:
                    if not settings.lark_encrypt_key:
                        raise ChatPayloadError("the Lark event is encrypted; set lark_encrypt_key to the app's Encrypt Key")
                    payload = lark_decrypt(settings.lark_encrypt_key, str(payload["encrypt"]))
                elif settings.lark_encrypt_key:
                    raise SignatureError("lark_encrypt_key is set but the event is not encrypted")
                parsed = parse_lark(payload, settings.lark_verification_token)
                if (parsed.question is not None or parsed.decision is not None) and settings.lark_encrypt_key \
                        and "x-lark-signature" not in headers:
                    raise SignatureError("missing X-Lark-Signature")
        except SignatureError as exc:
            return chat_refusal("bad_signature", str(exc), 401)
        except json.JSONDecodeError as exc:
            return chat_refusal("bad_payload", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", 400)
        except (ChatPayloadError, ActionPayloadError, AttributeError) as exc:
            return chat_refusal("bad_payload", str(exc) if not isinstance(exc, AttributeError)
                                else "the event is not shaped like the platform's event callback", 400)
        if parsed.challenge is not None:
            return JSONResponse({"challenge": parsed.challenge})
        if parsed.decision is not None:
            return take_decision(platform, parsed.decision)
        q = parsed.question
        if q is None:
            return JSONResponse({"ok": True, "ignored": parsed.ignored})
        if not seen_events.first_time(f"{platform}:{q.event_id}"):
            metrics.chat_questions.labels(platform, "duplicate").inc()
            return JSONResponse({"ok": True, "duplicate": True})
        background(answer_in_thread(q))
        return JSONResponse({"ok": True, "queued": True})

    async def slack(request: Request) -> Response:
        return await chat(request, "slack")

    async def lark(request: Request) -> Response:
        return await chat(request, "lark")

    async def slack_actions(request: Request) -> Response:
        return await chat(request, "slack", interactive=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        queue()
        yield
        if chat_tasks:
            _, pending = await asyncio.wait(set(chat_tasks), timeout=60)
            if pending:
                log.warning("stopping with chat questions still running")
        if not await queue().join(timeout=60):
            log.warning("stopping with investigations still running")
        if "pool" in pool_box:
            pool_box["pool"].shutdown(wait=True, cancel_futures=True)

    app = Starlette(
        routes=[
            Route("/alerts/alertmanager", alertmanager, methods=["POST"]),
            Route("/alerts/grafana", grafana, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
            Route("/sessions/{session_id}/report", session_report, methods=["GET"]),
            Route("/chat/slack", slack, methods=["POST"]),
            Route("/chat/lark", lark, methods=["POST"]),
            Route("/chat/slack/actions", slack_actions, methods=["POST"]),
            Route("/chat/lark/card", lark, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    guarded = Guard(app, token, max_body, metrics)
    guarded.state = app.state  # type: ignore[attr-defined]
    app.state.metrics = metrics
    app.state.queue = queue
    app.state.proposals = proposals
    return guarded


def default_ledger() -> Path:
    return data_dir() / "serve" / "seen-alerts.txt"
