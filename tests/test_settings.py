"""Settings survive damage: a file that cannot be read is kept aside before anything is saved."""
from __future__ import annotations

import json

import pytest

from inknotes import settings
from inknotes.cli import main
from inknotes.errors import OutputError


def test_a_damaged_settings_file_is_kept_before_saving_over_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path))
    text = '{"export_folder": "/home/me/Exports", "theme": "dark",'  # cut off mid-write
    (tmp_path / "settings.json").write_text(text)
    assert settings.load()["theme"] == "system"  # defaults meanwhile
    settings.update(inksight_mode="text")
    assert (tmp_path / "settings.json.damaged").read_text() == text
    assert json.loads((tmp_path / "settings.json").read_text())["inksight_mode"] == "text"
    settings.update(theme="light")  # a good file is simply updated, the kept copy stays
    assert (tmp_path / "settings.json.damaged").read_text() == text


def test_a_config_folder_that_is_a_file_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "cfg").write_text("not a folder")
    with pytest.raises(OutputError, match="Cannot save the settings"):
        settings.update(theme="dark")
    assert main(["model", "mode", "text"]) == 1
    err = capsys.readouterr().err
    assert "Cannot save the settings" in err and "Traceback" not in err
