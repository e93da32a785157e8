import pytest

from copilot.config import config_file, load_settings
from copilot.errors import ConfigError


def test_defaults_are_offline():
    s = load_settings(env={})
    assert not s.use_llm and s.model_label == "offline"


def test_precedence_file_env_flags(tmp_path, monkeypatch):
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('model = "from-file"\nmax_steps = 5\nbase_url = "http://file/v1"\n')
    s = load_settings(env={})
    assert (s.model, s.max_steps) == ("from-file", 5)
    s = load_settings(env={"COPILOT_MODEL": "from-env", "OPENAI_BASE_URL": "http://env/v1"})
    assert s.model == "from-env" and s.base_url == "http://env/v1" and s.max_steps == 5
    s = load_settings({"model": "from-flag", "max_steps": 9}, env={"COPILOT_MODEL": "from-env"})
    assert (s.model, s.max_steps) == ("from-flag", 9)
    assert s.use_llm
    assert load_settings({"offline": True}, env={}).use_llm is False


def test_secrets_are_masked():
    s = load_settings(env={"OPENAI_API_KEY": "sk-verysecretkey123"})
    masked = s.masked()["api_key"]
    assert "verysecret" not in masked and masked.startswith("sk-")


def test_bad_values_give_one_line_errors():
    with pytest.raises(ConfigError, match="max_steps must be a int"):
        load_settings(env={"COPILOT_MAX_STEPS": "many"})
    with pytest.raises(ConfigError, match="tool_protocol"):
        load_settings({"tool_protocol": "smoke"}, env={})
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("model = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={})
    path.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(env={})
