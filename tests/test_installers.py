"""Cheap checks of the installer recipes (the real build takes minutes: installers/linux/build.sh
and smoke_test.sh do that). Each test guards something a person installing inknotes would meet."""
from __future__ import annotations

import configparser
import importlib.util
import os
import re
import runpy
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
INST = ROOT / "installers"
ICONS = ROOT / "resources" / "icons"
SCRIPTS = [INST / "linux" / "build.sh", INST / "linux" / "smoke_test.sh", INST / "linux" / "install.sh",
           INST / "linux" / "tesseract.sh", INST / "macos" / "build.sh"]
SPECS = [INST / system / "inknotes.spec" for system in ("linux", "windows", "macos")]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shell_scripts_are_executable_and_parse(script: Path) -> None:
    assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
    assert script.read_text().startswith("#!/bin/sh\n")
    r = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_spec_files_are_valid_python_using_the_shared_contents(spec: Path) -> None:
    text = spec.read_text()
    compile(text, str(spec), "exec")
    for needed in ("pyinstaller_common", "common.excludes()", "common.hiddenimports()",
                   "common.runtime_hooks()", "common.resource_datas()", "entry_cli.py", "entry_gui.py"):
        assert needed in text, f"{spec} lacks {needed}"


def test_desktop_entry_is_valid_and_starts_the_gui_program() -> None:
    path = INST / "linux" / "inknotes.desktop"
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(path, encoding="utf-8")
    entry = cp["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "inknotes"
    assert entry["Terminal"] == "false"
    assert entry["Icon"] == "inknotes"
    assert entry["Categories"].endswith(";") and entry["Keywords"].endswith(";")
    program = entry["Exec"].split()[0]
    assert f'name="{program}"' in (INST / "linux" / "inknotes.spec").read_text()
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_install_script_points_the_menu_at_the_unpacked_folder(tmp_path: Path) -> None:
    """install.sh in a fake unpacked bundle writes a menu entry with an absolute Exec path."""
    bundle = tmp_path / "my apps" / "inknotes"
    (bundle / "icons").mkdir(parents=True)
    for name in ("inknotes-256.png", "inknotes-512.png", "inknotes.svg"):
        shutil.copy(ICONS / name, bundle / "icons" / name)
    shutil.copy(INST / "linux" / "inknotes.desktop", bundle)
    shutil.copy(INST / "linux" / "install.sh", bundle)
    for prog in ("inknotes", "inknotes-gui"):
        (bundle / prog).write_text("#!/bin/sh\n")
        (bundle / prog).chmod(0o755)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data")}
    r = subprocess.run(["sh", str(bundle / "install.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    desktop = (tmp_path / "data" / "applications" / "inknotes.desktop").read_text()
    assert f'Exec="{bundle}/inknotes-gui"' in desktop
    assert (tmp_path / "data" / "icons" / "hicolor" / "256x256" / "apps" / "inknotes.png").is_file()
    assert (tmp_path / "home" / ".local" / "bin" / "inknotes").resolve() == bundle / "inknotes"
    r = subprocess.run(["sh", str(bundle / "install.sh"), "--uninstall"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0 and not (tmp_path / "data" / "applications" / "inknotes.desktop").exists()


@pytest.mark.parametrize("size", [256, 512])
def test_png_icons_have_their_size_and_a_transparent_background(size: int) -> None:
    with Image.open(ICONS / f"inknotes-{size}.png") as im:
        assert im.size == (size, size) and im.mode == "RGBA"
        assert im.getpixel((0, 0))[3] == 0, "corner should be transparent"
        assert im.getpixel((size // 2, size // 5))[3] == 255, "the page should be opaque"


def test_svg_icon_is_what_the_generator_draws() -> None:
    from defusedxml import ElementTree

    text = (ICONS / "inknotes.svg").read_text(encoding="utf-8")
    root = ElementTree.fromstring(text.encode())
    assert root.get("viewBox") == "0 0 512 512"
    assert text == _load(INST / "make_icon.py", "make_icon").svg(), "run installers/make_icon.py"
    for name in ("inknotes.ico", "inknotes.icns"):
        assert (ICONS / name).stat().st_size > 1000


def test_default_bundle_leaves_tensorflow_out_and_model_bundle_keeps_it() -> None:
    common = _load(INST / "pyinstaller_common.py", "pyinstaller_common")
    assert {"tensorflow", "keras", "tensorboard"} <= set(common.excludes(model=False))
    assert "tensorflow" not in common.excludes(model=True)
    assert "PySide6.QtWidgets" not in common.excludes(model=False)


def test_bundle_data_puts_resources_and_migrations_where_the_code_looks(tmp_path: Path) -> None:
    common = _load(INST / "pyinstaller_common.py", "pyinstaller_common")
    dests = {(Path(src).name, dest) for src, dest in common.resource_datas(model=False)}
    assert ("inknotes-256.png", str(Path("resources/icons"))) in dests
    assert ("env.py", str(Path("inknotes/store/migrations"))) in dests
    # the tracer's learned weights ship in every variant (the built-in engine needs them) ...
    models = str(Path("resources/models"))
    assert {("tracer_prior.npz", models), ("tracer_direction.npz", models),
            ("tracer_retrace.npz", models)} <= dests
    # ... and nothing else from resources/models goes into the default bundle
    assert not any("models" in Path(dest).parts and not name.startswith("tracer_") for name, dest in dests)


def test_runtime_hook_puts_the_bundled_tesseract_first(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "tesseract"
    folder.mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setenv("PATH", "/usr/bin")
    # setenv first so monkeypatch records the variables and removes what the hook sets
    monkeypatch.setenv("TESSDATA_PREFIX", "unset")
    monkeypatch.delenv("TESSDATA_PREFIX")
    monkeypatch.setenv("INKNOTES_SYSTEM_TESSERACT", "unset")
    monkeypatch.delenv("INKNOTES_SYSTEM_TESSERACT")
    runpy.run_path(str(INST / "pyi_rth_inknotes.py"))
    assert os.environ["PATH"] == "/usr/bin", "no bundled tesseract: PATH must stay as it was"
    (folder / "tesseract").write_text("#!/bin/sh\n")
    runpy.run_path(str(INST / "pyi_rth_inknotes.py"))
    assert os.environ["PATH"].split(os.pathsep)[0] == str(folder)
    assert os.environ["TESSDATA_PREFIX"] == str(folder / "tessdata")


@pytest.mark.skipif(not Path("/usr/bin/tesseract").is_file(), reason="needs Debian's tesseract-ocr")
def test_tesseract_wrapper_runs_with_an_empty_path(tmp_path: Path) -> None:
    """The bundled wrapper must not need any program from PATH (the smoke test runs with none)."""
    folder = tmp_path / "tesseract"
    folder.mkdir()
    shutil.copy(INST / "linux" / "tesseract.sh", folder / "tesseract")
    (folder / "tesseract.bin").symlink_to("/usr/bin/tesseract")
    r = subprocess.run([str(folder / "tesseract"), "--version"], env={"PATH": "/nonexistent"},
                       capture_output=True, text=True)
    assert r.returncode == 0 and "tesseract 5" in (r.stdout + r.stderr)


def test_installer_extra_and_readme_install_section() -> None:
    assert 'installer = ["pyinstaller' in (ROOT / "pyproject.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "## Install" in readme
    section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "install.sh" in section and "tar" in section


def test_windows_build_splats_the_arguments_it_builds() -> None:
    # "@Args" is PowerShell's own list of the script's arguments: splatting it instead of the
    # PyInstaller arguments the script assembles ran PyInstaller without a spec file.
    text = (INST / "windows" / "build.ps1").read_text()
    splats = set(re.findall(r"@(\w+)\b", text))
    assigned = set(re.findall(r"^\s*\$(\w+)\s*=", text, re.M))
    assert splats and splats <= assigned, splats - assigned


@pytest.mark.parametrize("recipe", [INST / "linux" / "build.sh", INST / "macos" / "build.sh",
                                    INST / "windows" / "build.ps1"], ids=lambda p: p.parent.name)
def test_every_bundle_carries_the_licence(recipe: Path) -> None:
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert re.search(r"(cp|Copy-Item) LICENSE ", recipe.read_text()), f"{recipe} does not ship LICENSE"
