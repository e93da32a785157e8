"""Merging templates that are one event with differently shaped variables."""

from __future__ import annotations

import random

from copilot.plugins.detectors.logparse import mine_templates
from copilot.plugins.detectors.logparse_mask import mask_variables
from copilot.plugins.detectors.logparse_merge import aligned_merge, covers, is_variable_token, merge_templates


def _toks(text: str) -> tuple[str, ...]:
    return tuple(text.split(" "))


def test_variable_tokens_are_wildcards_and_punctuation_only():
    assert is_variable_token("<*>") and is_variable_token("<*>:<*>") and is_variable_token("(<*>),")
    assert not is_variable_token("user=<*>") and not is_variable_token("****") and not is_variable_token("KB)")


def test_a_wildcard_inside_a_token_covers_any_text_there():
    general = _toks("<*>:<*> error : could not resolve <*>")
    assert covers(general, _toks("wpad:<*> error : could not resolve <*>"))
    assert not covers(general, _toks("wpad <*> error : could not resolve <*>"))
    assert not covers(_toks("<*> <*> <*>"), _toks("a b c"))  # nothing constant to agree on


def test_alignment_merges_only_variable_runs():
    merged = aligned_merge(_toks("<*> close, <*> bytes sent, lifetime <*>:<*>"),
                           _toks("<*> close, <*> bytes sent, lifetime <*> sec"))
    assert merged == _toks("<*> close, <*> bytes sent, lifetime <*>")
    # Extra variables (a longer list of values) merge; plain words do not.
    assert aligned_merge(_toks("en0: supported channels <*> <*>"), _toks("en0: supported channels <*> <*> <*>"))
    assert aligned_merge(_toks("request took <*> ms"), _toks("request took <*> seconds")) is None
    assert aligned_merge(_toks("failed after <*> tries"), _toks("failed after <*>")) is None
    assert aligned_merge(_toks("cupsd startup succeeded"), _toks("cupsd shutdown succeeded")) is None


def test_many_values_at_one_position_of_a_long_template_are_a_variable():
    jobs = ["a.b.heartbeat", "Safari.Update", "cache.daily", "escrow.daily", "harvest"]
    templates = {f"com.apple.{j}: told to run this job; start time is <*> seconds away" for j in jobs}
    assert set(merge_templates(templates).values()) == {"com.apple.<*>: told to run this job; start time is <*> seconds away"}
    # A short message's leading word names the event: kept apart.
    daemons = {f"{d} startup succeeded" for d in ["cupsd", "sshd", "xinetd", "crond", "ntpd"]}
    assert set(merge_templates(daemons).values()) == daemons


def test_masking_reads_comparisons_and_restated_quantities_as_one_value():
    assert mask_variables("lifetime <1 sec") == "lifetime <*> sec"
    assert mask_variables("1190 bytes (1.16 KB) sent, 7 bytes received") == "<*> bytes sent, <*> bytes received"
    assert mask_variables("connection from 10.0.0.1 (host) at 5") == "connection from <*> (host) at <*>"
    assert mask_variables("uid=0 user=root ok=true") == "uid=<*> user=root ok=true"


def _proxy_close_line(rng: random.Random) -> str:
    def amount() -> str:
        n = rng.choice([0, rng.randint(1, 999), rng.randint(1024, 90000)])
        return f"{n} bytes ({n / 1024:.1f} KB)" if n >= 1024 else f"{n} bytes"
    life = "<1 sec" if rng.random() < 0.3 else f"00:{rng.randint(1, 59):02d}"
    return f"[10.30 16:49:{rng.randint(10, 59)}] app.exe - h{rng.randint(1, 9)}.example.com:443 close, " \
           f"{amount()} sent, {amount()} received, lifetime {life}"


def test_one_event_with_optional_sizes_and_lifetimes_is_one_template():
    rng = random.Random(3)
    lines = [_proxy_close_line(rng) for _ in range(300)]
    lines += [f"[10.30 16:50:{i % 50 + 10}] app.exe - h{i}.example.com:443 open through proxy p.example.com:5070 HTTPS"
              for i in range(40)]
    templates = [m.template for m in mine_templates(lines)]
    assert len(set(templates[:300])) == 1
    assert len(set(templates[300:])) == 1 and templates[300] != templates[0]


def test_a_few_words_in_a_variable_slot_stay_constants_after_masking():
    rng = random.Random(5)
    lines = []
    for i in range(60):
        user = "root" if i % 10 else rng.choice(["guest", "test"])
        lines.append(f"authentication failure; uid=0 rhost=10.0.{i}.9 user={user}")
    templates = [m.template for m in mine_templates(lines)]
    by_user = {line.rsplit("=", 1)[1]: t for line, t in zip(lines, templates)}
    assert by_user["root"] == "authentication failure; uid=<*> rhost=<*> user=<*>"
    assert by_user["guest"].endswith("user=guest") and by_user["test"].endswith("user=test")
