"""`copilot serve`: alert webhooks in, investigations queued with bounded concurrency,
reports delivered to chat. Starlette and uvicorn are imported by `app` only."""
