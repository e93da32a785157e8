import asyncio

import pytest

from copilot.redact import redact
from copilot.tools import ToolContext, ToolRegistry, tool


@pytest.mark.parametrize(
    "text,secret",
    [
        ("db password=hunter2x connect failed", "hunter2x"),
        ('{"api_key": "abcd1234efgh"}', "abcd1234efgh"),
        ("Authorization: Bearer eyJhbGciOi.abcdefghijk.zzzzzzzzzzzz", "abcdefghijk"),
        ("GET https://admin:s3cr3tpw@prom.internal/api", "s3cr3tpw"),
        ("aws key AKIAABCDEFGHIJKLMNOP in env", "AKIAABCDEFGHIJKLMNOP"),
        ("export OPENAI_API_KEY=sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaa"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "MIIE"),
        ("REDIS_TOKEN: tok_9f8e7d6c", "tok_9f8e7d6c"),
    ],
)
def test_secrets_are_masked(text, secret):
    out = redact(text)
    assert secret not in out and "[REDACTED]" in out


def test_ordinary_telemetry_is_untouched():
    text = "checkout latency_p90 rose 5.0x (16.6 -> 82.6 ms) at 13:26; token bucket refill rate 100/s"
    assert redact(text) == text


def test_tool_output_is_redacted_before_the_model_sees_it():
    @tool
    def env_dump() -> str:
        """Dump env."""
        return "DB_PASSWORD=topsecret99 HOST=db1"

    reg = ToolRegistry()
    reg.add(env_dump)
    result = asyncio.run(reg.invoke("env_dump", {}, ToolContext()))
    assert "topsecret99" not in result.output and "HOST=db1" in result.output
