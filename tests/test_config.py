"""Settings precedence and error messages as a user would meet them."""

from __future__ import annotations

import os

import pytest

from orgorepl import config, paths
from orgorepl.errors import ConfigError


def write_config(text: str, mode: int = 0o600):
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_defaults_file_env_flags_in_that_order(monkeypatch):
    assert config.load().base_url == "https://www.orgo.ai/api"
    write_config('base_url = "http://file/api"\ncomputer = "from-file"\n')
    s = config.load()
    assert (s.base_url, s.sources["base_url"]) == ("http://file/api", str(paths.config_file()))
    monkeypatch.setenv("ORGO_BASE_URL", "http://env/api")
    s = config.load()
    assert (s.base_url, s.sources["base_url"]) == ("http://env/api", "env ORGO_BASE_URL")
    assert s.computer == "from-file"
    s = config.load({"base_url": "http://flag/api", "computer": None})
    assert (s.base_url, s.sources["base_url"]) == ("http://flag/api", "flag --base-url")


def test_unknown_key_names_file_and_key():
    path = write_config('colour = "red"\n')
    with pytest.raises(ConfigError) as info:
        config.load()
    assert str(path) in str(info.value) and "'colour'" in str(info.value)


def test_a_typo_names_the_closest_key():
    write_config('editng_mode = "vi"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'editng_mode'; did you mean 'editing_mode'\?"):
        config.load()
    write_config('zzzz = 1\n')
    with pytest.raises(ConfigError) as info:
        config.load()
    assert "did you mean" not in str(info.value)  # nothing close: no guess


def test_orgorepl_config_with_a_typo_still_shows_the_rest_and_fails(orgorepl_cmd):
    import subprocess

    write_config('editng_mode = "vi"\ntheme = "dark"\npython_timeout = 900\n')
    done = subprocess.run(orgorepl_cmd + ["config"], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 16
    assert "did you mean 'editing_mode'?" in done.stderr
    assert "python_timeout = 900 is invalid" in done.stderr
    width = max(len(key) for key in config.DEFAULTS)
    assert f'{"theme".ljust(width)} = "dark"  # {paths.config_file()}' in done.stdout  # the rest, as it is
    assert f'{"python_timeout".ljust(width)} = 10  # default' in done.stdout  # the faulty key: its default


def test_bad_value_names_key_and_expected_type():
    write_config("python_timeout = 900\n")
    with pytest.raises(ConfigError) as info:
        config.load()
    assert "python_timeout" in str(info.value) and "1 to 300" in str(info.value)


def test_broken_toml_is_a_config_error():
    write_config("base_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load()


def test_key_in_world_readable_file_warns_and_never_shows_the_key():
    write_config('api_key = "sk_live_supersecret_value"\n', mode=0o644)
    s = config.load()
    assert s.api_key == "sk_live_supersecret_value"
    assert any("chmod 600" in w for w in s.warnings)
    assert "supersecret" not in s.masked("api_key")


def test_invalid_key_value_is_not_echoed():
    with pytest.raises(ConfigError) as info:
        config.load({"api_key": "   "})
    assert "(hidden)" in str(info.value)


def test_every_setting_has_a_default_that_passes_its_own_check():
    for setting in config.SCHEMA:
        if setting.default is not None:
            assert setting.check(setting.default) == setting.default, setting.key


def test_env_and_file_values_are_parsed_to_their_types(monkeypatch):
    write_config('stateful = false\nediting_mode = "VI"\ntoggle_key = "Ctrl-T"\n')
    s = config.load()
    assert (s.stateful, s.editing_mode, s.toggle_key) == (False, "vi", "c-t")
    assert s.sources["stateful"] == str(paths.config_file())


def test_a_toggle_key_that_would_break_editing_is_refused():
    write_config('toggle_key = "c-c"\n')
    with pytest.raises(ConfigError, match="toggle_key.*F1..F12"):
        config.load()


def test_orgorepl_config_shows_sources_and_masks_the_key(orgorepl_cmd, monkeypatch):
    import subprocess

    write_config('theme = "dark"\n')
    env = dict(os.environ, ORGO_API_KEY="sk_live_do_not_print_me_1234")
    out = subprocess.run(orgorepl_cmd + ["--timeout", "42", "config"], capture_output=True, text=True,
                         env=env).stdout
    assert "do_not_print_me" not in out
    assert "api_key" in out and "env ORGO_API_KEY" in out
    width = max(len(key) for key in config.DEFAULTS)  # the keys are aligned to the longest
    assert f'{"theme".ljust(width)} = "dark"  # {paths.config_file()}' in out
    assert f'{"python_timeout".ljust(width)} = 42  # flag --timeout' in out


def test_orgorepl_config_output_is_valid_toml_that_loads_back(orgorepl_cmd, monkeypatch):
    import subprocess
    import tomllib

    write_config('theme = "light"\nstateful = false\n')
    out = subprocess.run(orgorepl_cmd + ["config"], capture_output=True, text=True).stdout
    data = tomllib.loads(out)
    assert data["theme"] == "light" and data["stateful"] is False
    write_config(out)
    assert config.load().values == config.load().values and config.load().theme == "light"
