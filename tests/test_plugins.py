"""The plugin door (pluggy): a third-party package found through its entry point adds a tool,
a telemetry source, a command, a settings section and a kind of telemetry without touching the
engine; built-in `Plugin` records go through the same hooks; a broken plugin fails alone.

The example package is tests/plugin_pkg (its own pyproject.toml). Instead of a slow
`pip install`, each test writes the package's dist-info (METADATA and entry_points.txt, read
from that pyproject) into tmp_path and puts it on sys.path, which is what importlib.metadata
reads after a real install.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from copilot.cli import main
from copilot.config import config_file, load_settings
from copilot.errors import ConfigError
from copilot.plugin_settings import Option
from copilot.plugin_manager import GROUP, Plugin, load_plugins
from copilot.sources import SourceQuery, select_sources
from copilot.tools import ToolContext, tool

PKG = Path(__file__).resolve().parent / "plugin_pkg"
MODULE = "copilot_example_plugin"


def write_dist(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = [f"[{GROUP}]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site directory on sys.path holding the example package's dist-info."""
    project = tomllib.loads((PKG / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    root = tmp_path / "site"
    write_dist(root, project["name"], project["version"], project["entry-points"][GROUP])
    monkeypatch.syspath_prepend(str(PKG))
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return root


def write_config(text: str) -> Path:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


INCIDENTS = [{"time": "2024-05-14T13:05:00Z", "component": "checkout", "title": "Checkout degraded"},
             {"time": "2024-05-14T15:00:00Z", "component": "search", "title": "Search down"}]


def test_the_example_package_adds_a_tool_a_source_settings_and_a_kind(site, tmp_path, monkeypatch):
    incidents = tmp_path / "incidents.json"
    incidents.write_text(json.dumps(INCIDENTS), encoding="utf-8")
    write_config(f'[plugins.example]\nstatus_file = "{incidents}"\nmax_items = 5\ntoken = "sp-abcdef123456"\n')
    monkeypatch.setenv("COPILOT_EXAMPLE_TEAM", "payments")
    settings = load_settings()
    loaded = load_plugins(settings=settings)

    assert loaded.errors == []
    example = loaded.get("example")
    assert example is not None and example.version == "0.3.0"
    assert example.description == "status page incidents and the deploy queue (example plugin)"
    assert {p.name for p in loaded.plugins} >= {"example", "telemetry", "prometheus"}  # built-ins alongside
    # settings: the file, then the environment, typed; defaults for the rest
    assert settings.plugins["example"] == {"status_file": str(incidents), "max_items": 5, "team": "payments",
                                           "token": "sp-abcdef123456", "mode": "read"}
    assert loaded.data_kinds["incidents"] == "incidents declared on a status page" and "metrics" in loaded.data_kinds
    before = dict(settings.plugins["example"])
    load_plugins(settings=settings)  # reading a section twice (a session, then a workflow) changes nothing
    assert settings.plugins["example"] == before
    # the tool, registered under the plugin's name, reading its options from the run's settings
    queue = loaded.registry.get("deploy_queue")
    assert queue is not None and queue.plugin == "example" and queue.parameters["required"] == ["component"]


async def test_the_example_tool_reads_its_settings_through_the_run(site, monkeypatch):
    monkeypatch.setenv("COPILOT_EXAMPLE_MAX_ITEMS", "7")
    settings = load_settings()
    loaded = load_plugins(settings=settings)
    result = await loaded.registry.invoke("deploy_queue", {"component": "checkout"}, ToolContext(settings=settings))
    assert result.status == "ok" and result.output == "sre: no deploys queued for checkout (showing at most 7)"
    load_plugins(settings=settings)  # read again: unset options stay unset, not the text "None"
    assert settings.plugins["example"]["status_file"] is None and settings.plugins["example"]["max_items"] == 7


def test_the_example_source_is_read_when_configured(site, tmp_path):
    incidents = tmp_path / "incidents.json"
    incidents.write_text(json.dumps(INCIDENTS), encoding="utf-8")
    settings = load_settings()
    assert select_sources(settings, load_plugins(settings=settings).source_factories).demo  # not configured yet

    write_config(f'[plugins.example]\nstatus_file = "{incidents}"\n')
    settings = load_settings()
    selection = select_sources(settings, load_plugins(settings=settings).source_factories)
    assert not selection.demo and [s.name for s in selection.sources] == ["status-page"]
    source = selection.sources[0]
    assert source.label == f"status page incidents in {incidents}"
    tel = source.collect(SourceQuery(start=1715691000.0, end=1715693000.0))  # 12:50-13:23 UTC
    assert [(a.component, a.name) for a in tel.alerts] == [("checkout", "Checkout degraded")]
    assert source.check().ok and source.check().detail == "2 incidents"


def test_an_offline_investigation_reads_the_plugins_source(site, tmp_path, capsys, monkeypatch):
    import time

    now = time.time()
    incidents = tmp_path / "incidents.json"
    incidents.write_text(json.dumps([{"time": now - 1200, "component": "checkout", "title": "Checkout degraded"},
                                     {"time": now - 300, "component": "checkout", "title": "Checkout errors"}]),
                         encoding="utf-8")
    monkeypatch.setenv("COPILOT_EXAMPLE_STATUS_FILE", str(incidents))
    rc = main(["--query", "what is wrong with checkout?", "--offline", "--format", "json", "--no-memory", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert rc in (0, 2)  # 2: alerts alone name no root cause
    assert out["data"]["sources"] == [{"name": "status-page", "label": f"status page incidents in {incidents}",
                                       "live": True, "kinds": ["alerts", "incidents"], "path": str(incidents)}]
    alerts = [f for f in out["findings"] if f["source"] == "alerts"]
    assert [(f["component"], f["signal"]) for f in alerts] == [("checkout", "Checkout degraded"),
                                                               ("checkout", "Checkout errors")]
    assert "alert Checkout degraded (critical) fired on checkout" in out["answer"]


def test_the_example_command_runs_from_the_cli_with_its_settings(site, capsys, monkeypatch):
    write_config('[plugins.example]\nmax_items = 3\nmode = "audit"\n')
    monkeypatch.setenv("COPILOT_EXAMPLE_TEAM", "payments")
    assert main(["status-page"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "team=payments max_items=3 mode=audit" and out.err == ""


def test_built_in_commands_and_help_do_not_import_plugins(site, capsys):
    assert main(["config", "path"]) == 0
    assert MODULE not in sys.modules
    with pytest.raises(SystemExit):
        main(["--help"])
    assert MODULE not in sys.modules and "copilot plugins" in capsys.readouterr().out


def test_copilot_plugins_lists_commands_and_settings_with_secrets_masked(site, capsys):
    write_config('[plugins.example]\ntoken = "sp-abcdef123456"\n')
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "  command: copilot status-page" in out
    assert "[plugins.example] max_items / COPILOT_EXAMPLE_MAX_ITEMS = 20" in out
    assert "kind of telemetry: incidents" in out
    assert "sp-abcdef123456" not in out and '"sp-…56"' in out
    assert main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["plugins"]["example"]["token"] == "sp-…56" and shown["plugins"]["example"]["max_items"] == 20


@pytest.mark.parametrize("config, env, message", [
    ('max_items = "many"', {}, "plugins.example.max_items must be whole number, got 'many'"),
    ("colour = 1", {}, "[plugins.example] has no option 'colour'; known: max_items, mode, status_file, team, token"),
    ("", {"COPILOT_EXAMPLE_MODE": "write"}, "environment: COPILOT_EXAMPLE_MODE must be one of read, audit, got 'write'"),
    ("", {"COPILOT_EXAMPLE_MAX_ITEMS": "2.5"}, "environment: COPILOT_EXAMPLE_MAX_ITEMS must be whole number"),
])
def test_a_wrong_plugin_setting_is_one_line_and_exit_1(site, capsys, monkeypatch, config, env, message):
    path = write_config(f"[plugins.example]\n{config}\n")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as caught:
        load_plugins(settings=load_settings())
    assert message in str(caught.value)
    assert main(["status-page"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("copilot: error: ") and message in err
    assert "Traceback" not in err
    if config:
        assert str(path) in err


def test_a_section_for_no_installed_plugin_is_reported(site):
    write_config("[plugins.exampel]\nteam = \"x\"\n")
    loaded = load_plugins(settings=load_settings())
    assert loaded.get("example") is not None
    assert len(loaded.errors) == 1 and "[plugins.exampel] names no installed plugin" in loaded.errors[0]


BROKEN = {
    "crashes_on_import.py": "raise RuntimeError('no token for the vendor API')\n",
    "hook_typo.py": ("from copilot.hookspecs import hookimpl\n\n@hookimpl\ndef copilot_tool():\n    return []\n"),
    "bad_tools.py": ("from copilot.hookspecs import hookimpl\n\n@hookimpl\ndef copilot_tools():\n"
                     "    return ['not a tool']\n"),
    "needs_option.py": ("from copilot.hookspecs import hookimpl\nfrom copilot.plugin_settings import Option\n\n"
                        "@hookimpl\ndef copilot_settings():\n    return [Option('url', required=True)]\n"),
    "clashes.py": ("from copilot.hookspecs import hookimpl\n\ndef register(sub):\n    sub.add_parser('config')\n\n"
                   "@hookimpl\ndef copilot_commands():\n    return [register]\n"),
}


@pytest.fixture
def broken(site, tmp_path, monkeypatch):
    code = tmp_path / "broken_code"
    code.mkdir()
    for name, text in BROKEN.items():
        (code / name).write_text(text, encoding="utf-8")
    write_dist(tmp_path / "site", "broken-plugins", "1.0",
               {"crashy": "crashes_on_import", "typo": "hook_typo", "badtools": "bad_tools",
                "needy": "needs_option", "clashy": "clashes", "nothing": "json"})
    monkeypatch.syspath_prepend(str(code))
    for name in BROKEN:
        monkeypatch.delitem(sys.modules, name[:-3], raising=False)


def test_each_broken_plugin_fails_alone_in_one_line(broken):
    loaded = load_plugins(settings=load_settings())
    names = {p.name for p in loaded.plugins}
    assert {"example", "telemetry", "clashy"} <= names
    assert not names & {"crashy", "typo", "badtools", "needy", "nothing"}
    assert all("\n" not in e for e in loaded.errors)
    joined = "\n".join(loaded.errors)
    assert "plugin 'crashy' (crashes_on_import) failed to load: RuntimeError: no token for the vendor API" in joined
    assert "plugin 'typo' (hook_typo) implements unknown hook(s) copilot_tool" in joined
    assert "plugin 'badtools': copilot_tools returned str, not a copilot.tools.Tool" in joined
    assert "plugin 'needy' needs url: set it under [plugins.needy]" in joined and "COPILOT_NEEDY_URL" in joined
    assert "plugin 'nothing' (json) is neither a copilot.plugins.Plugin nor implements any copilot hook" in joined
    assert len(loaded.errors) == 5
    assert loaded.registry.get("deploy_queue") is not None and loaded.registry.get("describe_telemetry") is not None


def test_the_cli_keeps_working_beside_broken_plugins(broken, capsys):
    assert main(["status-page"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "team=sre max_items=20 mode=read"
    warnings = out.err.strip().splitlines()
    assert all(w.startswith("copilot: warning: ") for w in warnings)
    assert any("plugin 'clashy': a command failed to register" in w for w in warnings)
    assert any("'crashy'" in w for w in warnings) and "Traceback" not in out.err
    assert main(["config", "path"]) == 0  # the built-in command the plugin tried to take is intact
    capsys.readouterr()
    assert main(["config", "show", "--json"]) == 0
    left_out = json.loads(capsys.readouterr().out)["plugin_errors"]
    assert len(left_out) == 5 and any("'crashy'" in e for e in left_out)


def test_a_crash_inside_a_plugin_command_is_one_line(site, capsys):
    assert main(["status-page", "--crash"]) == 1
    err = capsys.readouterr().err
    assert err == ("copilot: error: plugin 'example' command 'status-page' failed: "
                   "RuntimeError: the status page answered 500\n")


# -- the adapter: a `Plugin` record goes through the same hooks ----------------------------------

@tool
def ping(host: str) -> str:
    """Ping a host.

    Args:
        host: the host
    """
    return f"pong {host}"


def test_a_plugin_record_brings_tools_commands_and_settings(capsys):
    registered = []

    def register(sub):
        registered.append(sub.add_parser("ping-all"))

    record = Plugin("pinger", "pings hosts", tools=[ping], commands=[register],
                    settings=[Option("count", type="int", default=3), Option("hosts", type="list")],
                    data_kinds={"pings": "ping round trips"})
    settings = load_settings()
    loaded = load_plugins(extra=[record], settings=settings,
                          env={"COPILOT_PINGER_COUNT": "9", "COPILOT_PINGER_HOSTS": "a, b"})
    got = loaded.get("pinger")
    assert got is not None and got.tools == [ping] and got.commands == [register]
    assert loaded.registry.get("ping").plugin == "pinger"
    assert settings.plugins["pinger"] == {"count": 9, "hosts": ["a", "b"]}
    assert loaded.data_kinds["pings"] == "ping round trips"
    assert loaded.manager is not None and loaded.manager.has_plugin("pinger")


def test_two_plugins_with_one_name_keep_the_first():
    a, b = Plugin("twin", "first", tools=[ping]), Plugin("twin", "second")
    loaded = load_plugins(extra=[a, b])
    assert loaded.get("twin").description == "first"
    assert any("two plugins are named 'twin'" in e for e in loaded.errors)


def test_a_plugin_names_its_fault_kinds_as_data_and_cannot_rename_built_ins():
    from copilot.faults import fault_info

    record = Plugin("queues", "message queues", kinds={"queue_backlog": "traffic", "oom_killed": "resource_exhaustion"},
                    fault_texts={"queue_backlog": {"name_en": "queue backlog", "name_zh": "队列积压",
                                                   "mitigation_en": "Scale the consumers."},
                                 "oom_killed": {"name_en": "something else"},
                                 "queue_lag": {"title": "x"}})
    loaded = load_plugins(extra=[record])
    info = fault_info("queue_backlog")
    assert (info.name("en"), info.name("zh"), info.mitigation("en")) == ("queue backlog", "队列积压", "Scale the consumers.")
    assert info.mitigation("zh") == fault_info("unknown").mitigation("zh")  # no zh text and no experience: generic
    assert fault_info("oom_killed").name("en") == "container OOMKilled"
    assert any("'oom_killed' is built in" in e for e in loaded.errors)
    assert any("unknown fields title" in e for e in loaded.errors)
