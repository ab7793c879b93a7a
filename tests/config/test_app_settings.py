"""Typed app settings (config/app_settings.py): declared once, parsed from the environment at
start-up with clear errors, read at call time, and importing the settings writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from config.app_settings import Setting, SettingError, Settings, from_environment
from studies.listening import conf as listening_conf
from studies.surveys import conf as surveys_conf

ROOT = Path(__file__).resolve().parents[2]
DECLARED = (
    Settings(
        Setting("MAX_BATCH", "ATTUNE_LISTENING_MAX_BATCH", int, 100, "events per POST"),
        Setting("STRATEGIES", "ATTUNE_LISTENING_STRATEGIES", tuple, ("iso",), "strategies"),
        Setting("PRELOAD", "ATTUNE_FER_PRELOAD", bool, True, "preload"),
        Setting("WORDING", "ATTUNE_INSTRUMENT_WORDING", "json", None, "wording"),
    ),
)


def test_declared_variables_are_parsed_by_their_type():
    values = from_environment(
        {"ATTUNE_LISTENING_MAX_BATCH": "7", "ATTUNE_LISTENING_STRATEGIES": "iso, random",
         "ATTUNE_FER_PRELOAD": "off", "ATTUNE_INSTRUMENT_WORDING": '{"stai6": {"calm": "rolig"}}',
         "PATH": "/usr/bin", "DEBUG": "1"},
        DECLARED,
    )
    assert values == {"ATTUNE_LISTENING_MAX_BATCH": 7, "ATTUNE_LISTENING_STRATEGIES": ("iso", "random"),
                      "ATTUNE_FER_PRELOAD": False, "ATTUNE_INSTRUMENT_WORDING": {"stai6": {"calm": "rolig"}}}
    assert from_environment({"ATTUNE_LISTENING_STRATEGIES": '["iso", "mapping"]'}, DECLARED) == {
        "ATTUNE_LISTENING_STRATEGIES": ("iso", "mapping")}


def test_a_misspelt_variable_is_an_error_naming_the_closest_setting():
    with pytest.raises(SettingError, match="Unknown setting ATTUNE_LISTENING_MAX_BACH.*did you mean ATTUNE_LISTENING_MAX_BATCH"):
        from_environment({"ATTUNE_LISTENING_MAX_BACH": "3"}, DECLARED)
    with pytest.raises(SettingError, match="Unknown setting ATTUNE_NOTHING_LIKE_IT"):
        from_environment({"ATTUNE_NOTHING_LIKE_IT": "3"}, DECLARED)
    assert from_environment({"ATTUNE_REQUIRE_BROWSER": "1"}, DECLARED, ignore=("ATTUNE_REQUIRE_BROWSER",)) == {}


@pytest.mark.parametrize(("name", "raw", "kind"), [
    ("ATTUNE_LISTENING_MAX_BATCH", "many", "int"),
    ("ATTUNE_FER_PRELOAD", "perhaps", "bool"),
    ("ATTUNE_INSTRUMENT_WORDING", "{not json", "json"),
])
def test_a_bad_value_is_an_error_naming_the_variable_and_type(name, raw, kind):
    with pytest.raises(SettingError, match=f"{name}=.* is not a valid {kind}"):
        from_environment({name: raw}, DECLARED)


def test_a_setting_declared_twice_is_refused():
    row = Setting("A", "ATTUNE_A", int, 1, "a")
    with pytest.raises(SettingError, match="declared twice"):
        Settings(row, row)


def test_every_app_declares_each_environment_name_once():
    from config import settings as config_settings

    names = [row.env for mod in (config_settings.accounts_conf, config_settings.config_conf,
                                 config_settings.emotion_conf, config_settings.experiments_conf,
                                 config_settings.listening_conf, config_settings.recommender_conf,
                                 config_settings.recruitment_conf, config_settings.surveys_conf)
             for row in mod.SETTINGS.rows]
    assert len(names) == len(set(names)) and all(n.startswith("ATTUNE_") for n in names)


def test_values_are_read_at_call_time_and_typed():
    assert listening_conf.MAX_BATCH == 100
    with override_settings(ATTUNE_LISTENING_MAX_BATCH="5", ATTUNE_SURVEYS_PROPAGATION_KS=[3, 4]):
        assert listening_conf.MAX_BATCH == 5  # coerced to the declared int
        assert surveys_conf.PROPAGATION_KS == (3, 4)
        assert surveys_conf.gate_settings()["propagation_ks"] == [3, 4]
    assert listening_conf.MAX_BATCH == 100
    with pytest.raises(AttributeError, match="no setting 'MAX_BACH'"):
        listening_conf.MAX_BACH  # noqa: B018


def _run_settings_import(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import config.settings in a fresh interpreter with an audit hook that records every file
    opened for writing and every directory made."""
    code = (
        "import sys\n"
        "writes = []\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[1], str) and any(c in args[1] for c in 'wax+'):\n"
        "        writes.append(('open', str(args[0])))\n"
        "    elif event == 'open' and isinstance(args[2], int) and args[2] & 0o1101:\n"
        "        writes.append(('open', str(args[0])))\n"
        "    elif event in ('os.mkdir', 'os.rename', 'os.remove', 'os.chmod'):\n"
        "        writes.append((event, str(args[0])))\n"
        "sys.addaudithook(hook)\n"
        "import config.settings\n"
        "print(writes)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTUNE_") or k == "ATTUNE_REQUIRE_BROWSER"}
    env.update(extra_env)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_importing_the_settings_writes_no_file_and_makes_no_directory():
    done = _run_settings_import({})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_an_unknown_variable_stops_start_up():
    done = _run_settings_import({"ATTUNE_FER_MAX_FSP": "4"})
    assert done.returncode != 0
    assert "Unknown setting ATTUNE_FER_MAX_FSP in the environment; did you mean ATTUNE_FER_MAX_FPS?" in done.stderr
