"""Packaging: the ``ego-cl`` console script, ``py.typed``, LICENSE, CITATION.cff, dependency ranges
in ``pyproject.toml`` with the exact pins in ``constraints.txt`` (what ``make`` installs)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import ego_cl
from ego_cl.runners import commands

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runners_top_layer() -> set[str]:
    contract = next(
        c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c.get("containers") == ["ego_cl.runners"]
    )
    assert contract["layers"][0] == "commands"
    return {name.strip() for name in contract["layers"][1].split("|")}


# ---- the ego-cl console script -------------------------------------------------------------------


def test_the_console_script_is_the_commands_entry_point():
    target = PYPROJECT["project"]["scripts"]["ego-cl"]
    module, func = target.split(":")
    assert getattr(importlib.import_module(module), func) is commands.main


def test_every_command_module_is_a_subcommand():
    assert set(commands.COMMANDS) == _runners_top_layer()
    for name in commands.COMMANDS:
        assert callable(importlib.import_module(f"ego_cl.runners.{name}").main), name


def test_help_lists_every_command(capsys):
    assert commands.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in commands.COMMANDS:
        assert re.search(rf"^  {name}\s", out, re.M), name


@pytest.mark.parametrize(("argv", "code"), [([], 2), (["bogus"], 2), (["--version"], 0)])
def test_usage_errors_and_version(argv, code, capsys):
    assert commands.main(argv) == code
    captured = capsys.readouterr()
    if argv == ["bogus"]:
        assert "unknown command 'bogus'" in captured.err
    if argv == ["--version"]:
        assert captured.out.strip() == f"ego-cl {ego_cl.__version__}"


@pytest.mark.parametrize("name", sorted(commands.COMMANDS))
def test_subcommand_help_is_the_commands_own(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        commands.main([name, "--help"])
    assert exit_info.value.code == 0
    dispatched = capsys.readouterr().out
    with pytest.raises(SystemExit):
        importlib.import_module(f"ego_cl.runners.{name}").main(["--help"])
    assert dispatched == capsys.readouterr().out
    assert dispatched.startswith("usage:")


def test_a_subcommand_runs_through_the_guard(tmp_path, capsys):
    """Bad input is one line and exit 2, exactly as with ``python -m``."""
    assert commands.main(["report", str(tmp_path / "no-such-run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no-such-run" in err[0]


@pytest.mark.integration
def test_the_installed_script_runs():
    script = Path(sys.executable).with_name("ego-cl")
    if not script.exists():
        script = shutil.which("ego-cl")
    if script is None:
        pytest.skip("ego-cl is not installed in this environment (pip install -e .)")
    done = subprocess.run([str(script), "synth", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout


# ---- py.typed, LICENSE, CITATION.cff --------------------------------------------------------------


def test_py_typed_ships_as_package_data():
    assert (Path(ego_cl.__file__).parent / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["ego_cl"]


def test_license_is_mit_as_pyproject_says():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "LICENSE" in PYPROJECT["project"]["license-files"]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_citation_names_the_original_study_and_ego_cl():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"].startswith("ego_cl")
    assert cff["version"] == ego_cl.__version__
    study = cff["preferred-citation"]
    assert study["title"] == (
        "EgoAdapt: A multi-stream evaluation study of adaptation to real-world egocentric user video"
    )
    assert study["authors"][0] == {"family-names": "De Lange", "given-names": "Matthias"}
    assert study["year"] == 2023
    assert {i["value"] for i in study["identifiers"]} == {"arXiv:2307.05784"}


# ---- dependency ranges and the constraints file ---------------------------------------------------


def _requirements() -> list[Requirement]:
    deps = PYPROJECT["project"]["dependencies"]
    extras = PYPROJECT["project"]["optional-dependencies"]
    return [Requirement(r) for r in [*deps, *extras["dev"]]]


def test_library_dependencies_are_ranges_not_exact_pins():
    exact = [str(r) for r in _requirements() if any(s.operator in ("==", "===") for s in r.specifier)]
    assert exact == []
    torch = next(r for r in _requirements() if r.name == "torch")
    assert torch.specifier.contains("2.3.0")
    assert torch.specifier.contains("9.0")


def test_constraints_pin_every_dependency_within_its_range():
    pins = _constraints()
    for req in _requirements():
        if req.marker is not None and not req.marker.evaluate():
            continue
        assert _norm(req.name) in pins, f"{req.name} has no exact pin in constraints.txt"
        assert req.specifier.contains(pins[_norm(req.name)], prereleases=True), (req, pins[_norm(req.name)])


def test_constraints_match_this_environment():
    pins = _constraints()
    for name in ("torch", "torchvision", "pytorchvideo", "av", "numpy"):
        assert version(name) == pins[name], name


def test_make_installs_with_the_constraints():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"pip install .*-c constraints\.txt", makefile)
    assert re.search(r"^\$\(STAMP\):.*\bconstraints\.txt\b", makefile, re.M)
    assert re.search(r"^STAMP :=.*constraints\.txt", makefile, re.M)


@pytest.mark.integration
def test_pip_resolves_the_project_with_constraints_offline():
    pip = [sys.executable, "-m", "pip", "install", "-e", ".", "-c", "constraints.txt"]
    done = subprocess.run(
        [*pip, "--dry-run", "--no-index", "--no-build-isolation", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
