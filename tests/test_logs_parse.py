"""Template mining on small synthetic logs: header stripping, masking, clustering."""

from __future__ import annotations

from copilot.plugins.detectors.logparse import mine_templates
from copilot.plugins.detectors.logparse_header import read_header, strip_headers
from copilot.plugins.detectors.logparse_mask import canonical_template, mask_variables


def test_headers_of_common_formats_are_stripped():
    cases = {
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown": "check pass; user unknown",
        "2015-10-18 18:01:47,978 INFO [main] org.apache.App: Created app 7": "Created app 7",
        "17/06/09 20:10:40 INFO executor.Backend: Registered signal handlers": "Registered signal handlers",
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child in error state 6": "mod_jk child in error state 6",
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579": "onStandStepChanged 3579",
        "03-17 16:13:38.811  1702  2395 D WindowManager: freezing display": "freezing display",
        "[10.30 16:49:06] chrome.exe - example.org:443 open through proxy": "example.org:443 open through proxy",
        "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack": "Loaded Servicing Stack",
        "2024-03-01T14:05:00.123Z ERROR PaymentException: card declined": "PaymentException: card declined",
    }
    for line, content in cases.items():
        assert strip_headers([line]) == [content], line


def test_lines_without_timestamp_are_kept_whole():
    assert read_header("connection reset by peer 42") is None
    assert strip_headers(["connection reset by peer 42"]) == ["connection reset by peer 42"]


def test_file_shape_keeps_messages_that_look_like_header_fields():
    lines = [f"2024-01-01 10:00:{i:02d} [notice] worker {i} started" for i in range(8)]
    lines.append("2024-01-01 10:00:09 [error] [client 10.0.0.1] File does not exist: /x")
    out = strip_headers(lines)
    assert out[0] == "worker 0 started"
    assert out[-1] == "[client 10.0.0.1] File does not exist: /x"


def test_a_bracket_group_some_lines_lack_is_message_even_when_most_lines_have_it():
    head = "2017-05-16 00:00:{:02d}.008 25746 INFO nova.compute.manager [req-{} 113d3a99c3da401f 54fadb412c4e40cd - - -]"
    lines = [f"{head.format(i, i)} [instance: b900-{i}] Took {i}.5 seconds to build instance." for i in range(18)]
    lines += [f"{head.format(i, i)} 10.11.10.1 \"GET /v2/servers HTTP/1.1\" status: 200" for i in range(2)]
    out = strip_headers(lines)
    assert out[0] == "[instance: b900-0] Took 0.5 seconds to build instance."
    assert out[-1] == '10.11.10.1 "GET /v2/servers HTTP/1.1" status: 200'


def test_masking_keeps_delimiters_and_canonical_rules_apply():
    assert mask_variables("rhost=218.188.2.4 uid=0 took 35ms") == "rhost=<*> uid=<*> took <*>"
    assert mask_variables("open /var/log/app.log at 0x7f3a") == "open <*> at <*>"
    assert mask_variables("connect to db.example.com:5432 failed") == "connect to <*>:<*> failed"
    assert canonical_template("blk_<*>  is  true") == "<*> is <*>"
    assert canonical_template("v<*>.<*>.<*> and <*><*>") == "<*> and <*>"


def test_key_value_masks_named_instances_and_keeps_words_and_delimiters():
    # A value naming an instance ("pkg/.Activity", "object@addr") is a variable even if
    # every line shows the same one; plain words and numbers with delimiters are not.
    assert mask_variables("cmp=com.tencent.mm/.ui.LauncherUI (has extras)") == "cmp=<*> (has extras)"
    assert mask_variables("manager = com.huawei.health.g.c@4e1b ok") == "manager = <*> ok"
    assert mask_variables("logname= uid=0 tty=ssh user=guest") == "logname= uid=<*> tty=ssh user=guest"
    assert mask_variables("steps=12##30 phase=@0x1f") == "steps=<*>##<*> phase=@<*>"
    assert mask_variables("Error Domain=com.apple.sos Code=5") == "Error Domain=com.apple.sos Code=<*>"


def test_templates_group_lines_and_keep_constants():
    lines = []
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    for i, user in enumerate(users):
        lines.append(f"Invalid user {user} from 10.0.{i}.7")
        lines.append(f"session opened for user {user} by (uid={i})")
    lines += ["cupsd startup succeeded", "cupsd shutdown succeeded"] * 3
    templates = [m.template for m in mine_templates(lines)]
    assert templates[0] == "Invalid user <*> from <*>"
    assert templates[1] == "session opened for user <*> by (uid=<*>)"
    assert set(templates[-6:]) == {"cupsd startup succeeded", "cupsd shutdown succeeded"}
    assert len(set(templates)) == 4


def test_contents_are_returned_without_headers():
    lines = [f"Jun 14 15:16:0{i} host sshd[{100 + i}]: Accepted password for u{i}" for i in range(5)]
    mined = mine_templates(lines)
    assert mined[2].content == "Accepted password for u2"
    assert len({m.template for m in mined}) == 1
