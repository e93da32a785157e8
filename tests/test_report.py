from copilot.diagnosis import Diagnosis, Finding, RootCause
from copilot.reflection import reflect
from copilot.report import build_report, render_markdown

FINDINGS = [
    Finding("M1", "metrics", "payment", "cpu_usage", "level_shift", "payment cpu_usage rose 3.1x (30 -> 93 %) at 14:05", 12.0, 1000.0),
    Finding("M2", "metrics", "checkout", "latency_p90", "spike", "checkout latency_p90 rose 4x at 14:06", 8.0, 1060.0),
    Finding("T1", "traces", "payment", "checkout->payment", "latency", "checkout->payment p90 rose 5x", 7.0, 1030.0),
    Finding("L1", "logs", "checkout", "timeout calling payment <*>", "error_surge", "checkout logged 80 timeouts", 5.0, 1100.0),
    Finding("C1", "changes", "catalogue", "deploy-7", "deploy", "catalogue deployed v2 40 min before", 1.0, 0.0),
]


def diagnosis(causes):
    return Diagnosis("why is checkout slow?", "", root_causes=causes, findings=list(FINDINGS))


def test_five_sections_consistent_with_the_ranking():
    causes = [RootCause("payment", "cpu_saturation", 0.8, ["M1", "T1"], ["cpu rose first"]),
              RootCause("checkout", "network_delay", 0.3, ["M2"], [])]
    report = build_report(diagnosis(causes), "en")
    onsets = {o["source"]: o for o in report["alert_onsets"]}
    assert onsets["metrics"]["evidence"] == ["M1"] and onsets["logs"]["evidence"] == ["L1"]
    assert onsets["alerts"]["onset"] is None
    comps = [c["component"] for c in report["faulty_components"]]
    assert comps == ["payment", "checkout"]  # deduplicated, ranked first; a change alone is not a fault
    assert report["root_cause"]["component"] == "payment" and report["root_cause"]["evidence"] == ["M1", "T1"]
    md = render_markdown(report)
    for heading in ("1. When", "2. Faulty", "3. How", "4. Most likely", "5. Recommended"):
        assert heading in md
    assert "[M1]" in md and "Restart the stateless service" in md


def test_chinese_report_and_no_cause():
    md = render_markdown(build_report(diagnosis([]), "zh"))
    assert "一、各类告警/异常的开始时间" in md and "现有证据不足以确定根因" in md


def test_unknown_fault_is_reported_as_novel_with_strongest_evidence():
    md = render_markdown(build_report(diagnosis([RootCause("payment", "unknown", 0.4, ["M1"])]), "en"))
    assert "novel fault" in md and "[M1]" in md


def test_reflection_demotes_a_hypothesis_without_its_signature():
    causes = [RootCause("checkout", "jvm_gc", 0.9, ["M2", "L1"]), RootCause("payment", "cpu_saturation", 0.8, ["M1", "T1"])]
    revised, notes = reflect(causes, FINDINGS)
    assert revised[0].component == "payment"
    assert any("checkout / jvm_gc" in n and "missing" in n and "demoted" in n for n in notes)
    assert any("payment / cpu_saturation" in n and "kept" in n for n in notes)


def test_weak_early_blips_do_not_date_the_incident_or_demote_the_cause():
    blip = Finding("M9", "metrics", "payment", "gc_count", "spike", "payment gc_count wobbled", 1.5, 400.0)
    findings = FINDINGS + [blip]
    causes = [RootCause("payment", "cpu_saturation", 0.8, ["M1", "T1"])]
    report = build_report(Diagnosis("q", "", root_causes=causes, findings=findings), "en")
    metrics = next(o for o in report["alert_onsets"] if o["source"] == "metrics")
    assert metrics["evidence"] == ["M1"]
    _, notes = reflect(causes, findings)
    assert "began first" in notes[0]


def test_actions_prefer_matching_expert_experience():
    causes = [RootCause("payment", "cpu_saturation", 0.8, ["M1"])]
    kb = [{"id": "exp-gc", "fault_kind": "jvm_gc", "mitigation": "tune GC"},
          {"id": "exp-cpu", "fault_kind": "cpu_saturation", "mitigation": "restart payment pods"}]
    report = build_report(diagnosis(causes), "en", knowledge=kb)
    assert [a["text"] for a in report["actions"]["now"]] == ["restart payment pods"]
    assert report["actions"]["now"][0]["source"] == "exp-cpu"


def test_a_signal_the_data_does_not_hold_is_said_so_not_reported_clean():
    """A Kubernetes dump holds no metrics or traces: the report says so, and "no anomaly
    found" is said only of signals the data held (here the alerts and the platform state)."""
    platform = Finding("K1", "platform", "checkout", "checkout-7d9", "oom_killed", "checkout OOMKilled at 512Mi", 9.0, 1000.0)
    d = Diagnosis("why is checkout failing?", "", root_causes=[RootCause("checkout", "oom_killed", 0.8, ["K1"])],
                  findings=[platform], data_held={"metrics": False, "logs": True, "traces": False, "changes": False,
                                                  "alerts": True, "platform": True, "database": False})
    report = build_report(d, "en")
    status = {o["source"]: o["status"] for o in report["alert_onsets"]}
    assert status == {"metrics": "no_data", "logs": "nothing_found", "traces": "no_data", "changes": "no_data",
                      "alerts": "nothing_found", "platform": "found"}
    assert {g["source"]: g["status"] for g in report["symptoms"]} == status
    md = render_markdown(report)
    assert "**Metrics**: the data holds no metrics" in md and "**Traces**: the data holds no traces" in md
    assert "**Logs**: no anomaly found" in md and "**Alerts**: no anomaly found" in md
    zh = render_markdown(build_report(d, "zh"))
    assert "**性能指标**：数据中没有性能指标" in zh and "**日志**：未发现异常" in zh
    # the record survives the session store's round trip; an old record without it says nothing new
    assert Diagnosis.from_dict(d.to_dict()).data_held == d.data_held
    old = Diagnosis("q", "", findings=[platform])
    assert {o["status"] for o in build_report(old, "en")["alert_onsets"]} == {"unknown", "found"}
