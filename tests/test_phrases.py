"""Chinese report prose written from structured findings (copilot/phrases, copilot/reflection).

The findings come from the real detectors: the telemetry plugin's tools over every demo
fault kind, and the detector functions over small synthetic inputs for shapes the demo
does not produce. A Chinese sentence must carry every number of the detector's English
sentence, leave no English prose behind (names, units and verbatim data aside) and keep
the finding ids it cites.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from copilot.demo import GENERATED_KINDS, ensure_demo
from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.language import detect_language
from copilot.phrases import cause_reasons, finding_sentence
from copilot.reflection import Check, Note, localize_note, parse_note, reflect, review
from copilot.report import build_report, render_markdown
from copilot.tools import ToolContext, ToolRegistry
from copilot.plugins.telemetry_plugin import plugin

PLAN = ["describe_telemetry", "detect_metric_anomalies", "detect_log_anomalies", "detect_trace_anomalies",
        "list_changes", "rank_root_causes"]
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CODE = re.compile(r"``.*?``|`[^`]*`")
CITED = re.compile(r"\[([A-Z]\d+)\]")
SIGMA = re.compile(r"(\d+\.\d) sigma")
# Words a Chinese SRE writes as they are.
KEPT_WORDS = {"sigma", "utc", "span", "spans", "cpu", "gc", "ms", "req", "min", "jvm"}


async def _run(fault: str) -> tuple[list[Finding], list[RootCause]]:
    reg, ctx = ToolRegistry(), ToolContext(data_dir=ensure_demo(fault))
    for t in plugin.tools:
        reg.add(t)
    ranked = []
    for name in PLAN:
        result = await reg.invoke(name, {}, ctx)
        ctx.findings.extend(f for f in result.findings if all(f.id != g.id for g in ctx.findings))
        if name == "rank_root_causes":
            ranked = [RootCause.from_dict(r) for r in result.data["root_causes"]]
    return list(ctx.findings), ranked


RUNS: dict[str, tuple[list[Finding], list[RootCause]]] = {}


async def demo(fault: str) -> tuple[list[Finding], list[RootCause]]:
    if fault not in RUNS:
        RUNS[fault] = await _run(fault)
    return RUNS[fault]


def names_of(f: Finding) -> set[str]:
    """What a sentence names as it is: components, the signal, callers, authors, units."""
    d = f.details.to_dict()  # any kind: read as the JSON shows it
    words = {f.component, f.signal, str(d.get("caller", "")), str(d.get("author", "")), str(d.get("unit", ""))}
    words |= set(d.get("callers") or ())
    words |= {str(v) for v in (d.get("labels") or {}).values()}
    return {w.lower() for text in words for w in re.findall(r"[A-Za-z]+", text)}


def english_left(zh: str, allowed: set[str]) -> list[str]:
    prose = CODE.sub("", zh)
    return [w for w in re.findall(r"[A-Za-z]+", prose) if w.lower() not in allowed | KEPT_WORDS]


def assert_same_facts(f: Finding, zh: str) -> None:
    assert zh != f.summary, f"no Chinese form for {f.source}/{f.kind}: {f.summary}"
    missing = Counter(NUMBER.findall(f.summary)) - Counter(NUMBER.findall(zh))
    assert not missing, f"numbers {sorted(missing)} of {f.summary!r} missing from {zh!r}"
    assert not english_left(zh, names_of(f)), (english_left(zh, names_of(f)), zh)
    assert len(re.findall(r"[\u4e00-\u9fff]", zh)) >= 4, zh
    template = f.details.to_dict().get("template")
    if template and len(template) <= 100:
        assert f"`{template}`" in zh  # log templates stay verbatim


@pytest.mark.parametrize("fault", GENERATED_KINDS)
async def test_every_demo_finding_reads_in_chinese_with_its_numbers(fault):
    findings, _ = await demo(fault)
    assert {f.source for f in findings} >= {"metrics", "alerts", "changes", "traces"}
    for f in findings:
        assert finding_sentence(f, "en") == f.summary  # English is the detector's own sentence
        zh = finding_sentence(f, "zh")
        assert_same_facts(f, zh)
        # the sigma a detector prints is the score it stores, so Chinese prints it the same way
        assert set(SIGMA.findall(f.summary)) <= {f"{f.score:.1f}"}, (f.score, f.summary)
        assert set(SIGMA.findall(zh)) == set(SIGMA.findall(f.summary))
        if f.source == "alerts":  # the description is data in the details, quoted verbatim
            desc = f.details.description
            assert desc and f.summary.endswith(f": {desc}") and f"`{desc}`" in zh


@pytest.mark.parametrize("fault", GENERATED_KINDS)
async def test_root_cause_reasons_in_chinese_cite_the_same_findings(fault):
    findings, ranked = await demo(fault)
    assert ranked
    for rc in ranked[:3]:
        zh = cause_reasons(rc, findings, "zh")
        assert cause_reasons(rc, findings, "en") == rc.reasons
        assert len(zh) == len(rc.reasons)
        for en_line, zh_line in zip(rc.reasons, zh):
            assert CITED.findall(zh_line) == CITED.findall(en_line)
            assert len(re.findall(r"[\u4e00-\u9fff]", zh_line)) >= 4, f"left in English: {en_line}"
        assert zh[0].startswith(f"{rc.component}：")


async def test_chinese_report_sections_three_and_four_and_reflection():
    findings, ranked = await demo("disk_full")
    revised, notes = reflect(ranked, findings)
    diag = Diagnosis("从 13:30 开始 cache 报错很多，根因是什么？", "", root_causes=revised, findings=findings)
    zh, en = build_report(diag, "zh", reflection=notes), build_report(diag, "en", reflection=notes)
    md = render_markdown(zh)
    three = md[md.index("## 三、"):md.index("## 四、")]
    four = md[md.index("## 四、"):md.index("## 五、")]
    assert "磁盘空间不足" in four and "`disk_full`" in four
    for part in (three, four):
        prose = CODE.sub("", CITED.sub("", part))
        assert detect_language(prose) == "zh"
    # the same findings, in the same order, cited in both languages
    assert [i["evidence"] for g in zh["symptoms"] for i in g["items"]] == \
        [i["evidence"] for g in en["symptoms"] for i in g["items"]]
    assert [CITED.findall(r) for r in zh["root_cause"]["reasons"]] == [CITED.findall(r) for r in en["root_cause"]["reasons"]]
    assert len(zh["reflection"]) == len(notes) and all("保留" in n or "降级" in n for n in zh["reflection"])
    assert en["reflection"] == notes and en["root_cause"]["reasons"] == revised[0].reasons
    assert "（另有" in three or all(not g["more"] for g in zh["symptoms"])


# -- reflection notes --------------------------------------------------------------------
FINDINGS = [
    Finding("M1", "metrics", "payment", "disk_usage", "level_shift", "payment disk_usage rose", 40.0, 1000.0),
    Finding("M2", "metrics", "checkout", "latency_p90", "level_shift", "checkout latency_p90 rose", 20.0, 1600.0),
]


def test_reflection_notes_are_structured_and_read_back_in_either_language():
    causes = [RootCause("payment", "disk_full", 0.8, ["M1"]), RootCause("checkout", "jvm_gc", 0.4, ["M2"]),
              RootCause("cart", "memory_leak", 0.2, [])]
    revised, notes = review(causes, FINDINGS)
    assert [n.verdict for n in notes] == ["kept", "demoted", "demoted"]
    assert notes[1].checks == (Check("signature_missing"), Check("began_late", 10))
    assert notes[2].checks == (Check("no_evidence"),)
    _, texts = reflect(causes, FINDINGS)
    assert texts == [n.text("en") for n in notes]
    assert texts[1] == ("checkout / jvm_gc: the expected jvm_gc signature is missing; "
                        "its anomalies began 10 min after the earliest one -> demoted.")
    zh = [localize_note(t, "zh") for t in texts]
    assert zh[1] == "checkout / jvm_gc：缺少JAVA进程GC异常应有的特征；它的异常比最早的异常晚 10 分钟出现 → 降级"
    assert zh[0] == "payment / disk_full：具备磁盘空间不足的特征；它的异常最先出现 → 保留"
    assert [parse_note(z) for z in zh] == notes  # a saved Chinese report can be rendered in English again
    assert [localize_note(z, "en") for z in zh] == texts
    assert [localize_note(t, "en") for t in texts] == texts


def test_notes_nothing_can_read_stay_as_written():
    assert parse_note("payment / disk_full: looks fine to me -> kept.") is None
    assert localize_note("payment / disk_full: looks fine to me -> kept.", "zh") == "payment / disk_full: looks fine to me -> kept."
    note = Note("payment", "disk_full", (Check("began_first"),), "kept")
    assert localize_note(note.text("zh"), "zh") == note.text("zh")
    model = "model reflection: revise (revised to cache / disk_full); would be refuted by: normal disk usage on cache"
    assert localize_note(model, "zh") == "模型反思：修正（改判为 cache / disk_full）；可推翻该结论的证据：normal disk usage on cache"
    assert localize_note(model, "en") == model


# -- detector shapes the demo does not produce -------------------------------------------
def _series(values, component="db", metric="success_rate"):
    from copilot.plugins.telemetry.model import MetricSeries

    ts = np.arange(len(values), dtype=float) * 60.0
    return MetricSeries(component, metric, ts, np.asarray(values, dtype=float), {"instance": "db-0"})


def _ids():
    n = iter(range(1, 1000))
    return lambda prefix: f"{prefix}{next(n)}"


def test_a_falling_metric_and_its_ratio_forms():
    from copilot.plugins.detectors.metrics import detect_metric_anomalies

    rng = np.random.default_rng(3)
    drop = np.r_[100 + rng.normal(0, 1, 60), 30 + rng.normal(0, 1, 30)]
    dip = np.r_[50 + rng.normal(0, 0.5, 60), 40 + rng.normal(0, 0.5, 30)]
    series = [_series(drop, "db", "requests_per_sec"), _series(dip, "db", "success_rate")]
    found = detect_metric_anomalies(series, (3600.0, 5400.0), (0.0, 3600.0), _ids())
    assert {f.details.direction for f in found} == {"down"}
    zh = {f.signal: finding_sentence(f, "zh") for f in found}
    assert "降至正常水平的" in zh["requests_per_sec"] and "低于基线" in zh["requests_per_sec"]
    assert "（db-0）" in zh["requests_per_sec"]
    # with the request counts beside it, a success ratio is judged per request (beta-binomial)
    assert "个请求中失败" in zh["success_rate"] and "贝塔二项检验" in zh["success_rate"]
    for f in found:
        assert_same_facts(f, zh[f.signal])


def test_changes_after_the_onset_and_without_author():
    from copilot.plugins.detectors.changes import detect_changes
    from copilot.plugins.telemetry.model import ChangeEvent

    changes = [ChangeEvent(1300.0, "cart", "rollback", "roll back cart to v2.4.2", "", "chg-1"),
               ChangeEvent(1000.0, "db", "schema", "add index on orders", "ops", "chg-2")]
    found = detect_changes(changes, (900.0, 2000.0), 1000.0, _ids())
    zh = {f.component: finding_sentence(f, "zh") for f in found}
    assert zh["cart"].startswith("00:21 cart 进行了回滚，在异常开始（00:16）之后 5 分钟")
    assert "与异常开始（00:16）同时" in zh["db"] and "ops 对 db 做了变更（`schema`）" in zh["db"]
    assert "`add index on orders`" in zh["db"]
    for f in found:
        assert_same_facts(f, zh[f.component])


def test_unknown_shapes_fall_back_to_the_detectors_sentence():
    odd = [Finding("X1", "profiles", "cart", "cpu", "hot_path", "cart spends 40% in json encode", 5.0, 10.0),
           Finding("M9", "metrics", "cart", "cpu", "seasonal", "cart cpu broke its weekly pattern", 5.0, 10.0),
           Finding("M1", "metrics", "cart", "cpu", "level_shift", "cart cpu rose 3x", 5.0, 10.0)]  # no details
    assert [finding_sentence(f, "zh") for f in odd] == [f.summary for f in odd]


def test_reasons_render_from_their_codes_and_free_text_stays():
    from copilot.reasons import cited, reason

    rc = RootCause("cart", "code_exception", 0.7, ["M1"], [
        "疑似新型故障：cart 的连接池耗尽。", reason("cause", component="cart", why="code_exception_after_change"),
        cited("M1", "cart cpu rose 3x"), reason("callees_inherited", names=["cart", "db"]),
        "something new a model says"])
    assert rc.reasons[1:4] == ["cart: exceptions appear in its logs after a recent change.", "cart cpu rose 3x [M1]",
                               "its callees cart, db are anomalous too, so part of what it shows is inherited"]
    m1 = Finding("M1", "metrics", "cart", "cpu", "level_shift", "cart cpu rose 3x", 5.0, 10.0)
    zh = cause_reasons(rc, [m1], "zh")
    assert zh == ["疑似新型故障：cart 的连接池耗尽。", "cart：近期变更之后，它的日志中出现异常", "cart cpu rose 3x [M1]",
                  "它的下游 cart、db 也有异常，它表现出的部分症状是从下游传导来的", "something new a model says"]
    # the codes travel with the diagnosis: JSON (memory, sessions, tool results) and pickle (the service's workers)
    import json
    import pickle

    back = RootCause.from_dict(json.loads(json.dumps(rc.to_dict())))
    assert back.reasons == rc.reasons and cause_reasons(back, [m1], "zh") == zh
    assert rc.to_dict()["reason_codes"][0] is None and rc.to_dict()["reason_codes"][2] == \
        {"code": "finding", "values": {"id": "M1", "summary": "cart cpu rose 3x"}}
    assert cause_reasons(pickle.loads(pickle.dumps(rc)), [m1], "zh") == zh
    # a stored code this version does not know keeps its stored sentence
    odd = RootCause.from_dict({**rc.to_dict(), "reason_codes": [None, {"code": "gone", "values": {}}]})
    assert odd.reasons[1] == rc.reasons[1] and cause_reasons(odd, [m1], "zh")[1] == rc.reasons[1]


def test_every_reason_code_renders_in_both_languages():
    from copilot.phrases.reasons import REASONS, WHY, render

    sample = {"component": "cart", "why": "unknown", "text": "t", "text_zh": "中文原因", "id": "M1", "summary": "s",
              "names": ["a", "b"], "at": "gateway", "r": 0.3, "kind": "disk_full", "was": "db", "verdict": "corrected",
              "date": "2026-01-01", "sim": 0.9, "hits": 2, "root_cause": "rc"}
    for code in REASONS:
        en, zh = render(code, sample, "en"), render(code, sample, "zh")
        assert en and zh and en != zh or code == "finding", code
    for key, (en, zh) in WHY.items():
        assert len(re.findall(r"[\u4e00-\u9fff]", render("cause", {"component": "c", "why": key}, "zh"))) >= 4, key


@pytest.mark.parametrize("fault", ["frontend_exception", "checkout_return", "catalog_exception"])
def test_requests_that_stop_part_way_read_in_chinese(fault):
    from copilot.plugins.detectors.traces import detect_trace_anomalies
    from tests.test_trace_paths import BASELINE, WINDOW, shop

    found = [f for f in detect_trace_anomalies(shop(fault), WINDOW, BASELINE, _ids()) if f.kind == "call_path_change"]
    assert found
    for f in found:
        zh = finding_sentence(f, "zh")
        assert_same_facts(f, zh)
        assert "提前返回或异常" in zh
        if f.details.blamed_by_callers:
            assert zh.startswith("、".join(f.details.callers) + " 调用 ")
        else:
            assert all(f"`{m}`" in zh for m in f.details.missing)


@pytest.mark.parametrize("fault", ["api_slow", "store_errors", "lost", "orphans"])
def test_other_trace_shapes_read_in_chinese(fault):
    from copilot.plugins.detectors.traces import detect_trace_anomalies
    from tests.test_traces_changes import BASELINE, T0, WINDOW, make_spans

    spans = make_spans(None if fault == "orphans" else fault)
    if fault == "orphans":
        for s in spans:
            if s.component == "api" and s.start >= T0 + 4200 and int(s.trace_id[1:]) % 3 == 0:
                s.span_id = "gone-" + s.span_id
    found = detect_trace_anomalies(spans, WINDOW, BASELINE, _ids())
    assert found
    for f in found:
        assert_same_facts(f, finding_sentence(f, "zh"))


# -- log baselines, printed sigmas and alert descriptions, from structured data ------------
T0 = 1_700_000_000.0
LOG_WINDOW = (T0 + 3600, T0 + 7200)


def _log_incident():
    from copilot.plugins.telemetry.model import LogRecord

    steady = [LogRecord(T0 - 3600 + 60 * k, "cart", f"request {k} served", "INFO") for k in range(180)]
    new = [LogRecord(LOG_WINDOW[0] + 900 + 60 * k, "cart", f"cache miss for key user:{k}", "WARN") for k in range(6)]
    return steady + new


@pytest.mark.parametrize("baseline, minutes, adjacent, en, zh", [
    ((T0, T0 + 3600), 60, True, "the previous hour", "此前 1 小时"),
    ((T0 - 3600, T0 + 3600), 120, True, "the previous 2 hours", "此前 2 小时"),
    ((T0 + 1800, T0 + 3600), 30, True, "the previous 30 min", "此前 30 分钟"),
    ((T0, T0 + 1800), 30, False, "the 30-minute baseline", "30 分钟的基线期"),
])
def test_log_findings_carry_their_baseline_period(baseline, minutes, adjacent, en, zh):
    from copilot.plugins.detectors.logs import detect_log_anomalies

    (new,) = [f for f in detect_log_anomalies(_log_incident(), LOG_WINDOW, baseline, _ids()) if f.kind == "new_template"]
    assert (new.details.baseline_minutes, new.details.baseline_adjacent) == (minutes, adjacent)
    assert f"never seen in {en}." in new.summary
    text = finding_sentence(new, "zh")
    assert f"{zh}内从未出现过" in text
    assert_same_facts(new, text)
    # the period comes from the details alone: the English sentence is not read
    assert finding_sentence(replace(new, summary="cart logged something new"), "zh") == text


def test_log_findings_without_a_baseline_say_so():
    from copilot.plugins.detectors.logs import detect_log_anomalies
    from copilot.plugins.telemetry.model import LogRecord

    errors = [LogRecord(LOG_WINDOW[0] + 60 * k, "cart", f"OrderException: order {k} failed", "ERROR") for k in range(5)]
    (surge,) = detect_log_anomalies(errors, LOG_WINDOW, None, _ids())
    assert (surge.details.baseline_minutes, surge.details.baseline_adjacent) == (None, False)
    assert "none in the baseline" in surge.summary
    assert finding_sentence(surge, "zh").endswith("基线期内没有出现过")


def test_the_printed_sigma_is_the_stored_score():
    """16 lines against 1 scores 5.748: stored as 5.75, which prints as 5.8, not 5.7."""
    from copilot.plugins.detectors.logs import detect_log_anomalies, poisson_sigma
    from copilot.plugins.telemetry.model import LogRecord

    assert f"{poisson_sigma(16, 1.0):.1f}" != f"{round(poisson_sigma(16, 1.0), 2):.1f}"
    records = [LogRecord(T0 + 1800, "cart", "cache warmed", "INFO")]
    records += [LogRecord(LOG_WINDOW[0] + 120 * k, "cart", "cache warmed", "INFO") for k in range(16)]
    (burst,) = detect_log_anomalies(records, LOG_WINDOW, (T0, T0 + 3600), _ids())
    assert burst.kind == "template_burst" and burst.score == round(poisson_sigma(16, 1.0), 2)
    assert f"({burst.score:.1f} sigma)" in burst.summary
    assert f"（{burst.score:.1f} sigma）" in finding_sentence(burst, "zh")


async def test_alert_descriptions_are_details_in_both_alert_paths():
    from copilot.bench.rank import alert_findings
    from copilot.plugins.telemetry.files import load_directory

    findings, _ = await demo("disk_full")
    alerts = [f for f in findings if f.source == "alerts"]
    assert alerts
    bench = {(f.component, f.signal): f.details for f in alert_findings(load_directory(ensure_demo("disk_full")), _ids())}
    for f in alerts:
        assert bench[(f.component, f.signal)] == f.details
    # only the details are read: a description left in the sentence alone is not quoted
    bare = Finding("A1", "alerts", "cart", "HighLatency", "alert", "alert HighLatency fired on cart at x: slow", 0.0, T0,
                   {"severity": "critical"})
    assert finding_sentence(bare, "zh") == "2023-11-14 22:13 UTC cart 触发告警 `HighLatency`（严重）"


def test_platform_causes_read_in_chinese_with_when_they_ended():
    from copilot.plugins.platform.rank import platform_causes

    live = Finding("K1", "platform", "api", "memory", "oom_killed", "api container OOMKilled (limit 256Mi)", 8.0, 100.0,
                   details={"active": True, "fault_kind": "oom_killed"})
    over = Finding("K2", "platform", "web", "restarts", "crash_loop", "web container crashed 5 times", 6.0, 50.0,
                   details={"active": False, "ended": 3600.0, "fault_kind": "crash_loop"})
    causes = {rc.component: rc for rc, _, _ in platform_causes([live, over])}
    assert causes["api"].reasons[0] == "api: its container exceeds its memory limit and is OOMKilled."
    assert cause_reasons(causes["api"], [live], "zh")[0] == "api：它的容器超出内存限制，被 OOMKilled"
    assert causes["web"].reasons[0].endswith("(over: last seen 01:00 UTC).")
    assert cause_reasons(causes["web"], [over], "zh")[0] == "web：它的容器反复崩溃重启（已结束：最后出现于 01:00 UTC）"


def test_a_chinese_question_with_english_names_is_chinese():
    from copilot.language import detect_language

    assert detect_language("checkout 的 Pod 为什么一直 Pending？") == "zh"
    assert detect_language("JAVA进程GC异常 checkout") == "zh"
    assert detect_language("why is 支付 slow on checkout?") == "en"
    assert detect_language("Why are checkout pods Pending?") == "en"
