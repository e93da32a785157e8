"""`copilot serve --host H --port P`: investigate alerts from Alertmanager or Grafana
webhooks and deliver the reports to chat. Takes the same data and model flags as --query.

    COPILOT_SERVE_TOKEN=... copilot serve --port 9095 --data ./incident
"""

from __future__ import annotations

import ipaddress
import os
import sys

TOKEN_ENV = "COPILOT_SERVE_TOKEN"


def register(sub) -> None:
    from copilot.cli import add_settings_flags

    p = sub.add_parser("serve", help="HTTP service: alert webhooks in, investigations out to chat")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9095, help="port to listen on; 0 picks a free one (default 9095)")
    p.add_argument("--no-auth", dest="no_auth", action="store_true",
                   help=f"serve without {TOKEN_ENV} (only on a loopback address)")
    p.add_argument("--concurrency", type=int, metavar="N", help="investigations at once (setting serve_concurrency)")
    p.add_argument("--max-body", dest="max_body", type=int, default=1 << 20, metavar="BYTES",
                   help="largest request body accepted (default 1 MiB)")
    add_settings_flags(p)
    p.set_defaults(func=_serve)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def chat_bots(settings) -> list[str]:
    """The chat endpoints that will answer (the others say what to set)."""
    bots = []
    if settings.slack_signing_secret and settings.slack_bot_token:
        bots.append("/chat/slack")
    if settings.lark_verification_token and settings.lark_app_id and settings.lark_app_secret:
        bots.append("/chat/lark")
    return bots


def _serve(args) -> int:
    import socket

    from copilot.cli import settings_from_args
    from copilot.errors import CopilotError

    settings = settings_from_args(args)
    if args.concurrency is not None:
        settings.serve_concurrency = args.concurrency
    if settings.serve_concurrency < 1:
        raise CopilotError(f"serve_concurrency must be at least 1, got {settings.serve_concurrency}")
    if args.max_body < 1:
        raise CopilotError("--max-body must be at least 1 byte")
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    if token is None and not args.no_auth:
        raise CopilotError(f"set {TOKEN_ENV} to the bearer token clients must send, "
                           "or pass --no-auth to serve without one on 127.0.0.1")
    if args.no_auth:
        if not _loopback(args.host):
            raise CopilotError(f"--no-auth is allowed only on a loopback address, not {args.host}")
        token = None
    try:
        import uvicorn

        from copilot.service.app import create_app, default_ledger
    except ModuleNotFoundError as exc:
        raise CopilotError(f"copilot serve needs {exc.name}; install it with `pip install 'sre-copilot[serve]'`") from None

    from copilot.session import resolve_data_dir

    resolve_data_dir(settings)  # a wrong --data fails now, not at the first alert
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY: without it a keep-alive response (headers and
    # body in two writes) waits ~40 ms for the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise CopilotError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    host, port = sock.getsockname()[:2]
    app = create_app(settings, token=token, max_body=args.max_body, ledger=default_ledger())
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"copilot serve: listening on http://{shown}:{port} (auth {'on' if token else 'OFF'}, "
          f"concurrency {settings.serve_concurrency}, model {settings.model_label}, "
          f"chat bot {', '.join(chat_bots(settings)) or 'off'}, chat approvals "
          f"{'by ' + str(len(settings.chat_approvers)) + ' user(s)' if settings.chat_approvers else 'off'})",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
