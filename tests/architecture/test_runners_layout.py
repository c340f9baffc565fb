"""The rooms of ``ego_cl.runners`` stay walled: imports at module top (except optional heavy ones,
each with its reason), the run-directory layout spelled out only in ``results``, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ego_cl

PACKAGE = Path(ego_cl.__file__).parent
RUNNERS = PACKAGE / "runners"
LAYOUT_NAMES = {"users", "baseline", "hindsight"}
"""Run-directory children that only :class:`ego_cl.runners.results.RunDir` may join onto a path."""


def inner_imports_without_reason(source: str) -> list[int]:
    """Lines of imports inside functions that carry no ``#`` comment (on the line or the one above)."""
    lines = source.splitlines()
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import | ast.ImportFrom):
                here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                if "#" not in here and not above.strip().startswith("#"):
                    found.append(node.lineno)
    return found


def layout_joins(source: str) -> list[int]:
    """Lines that join a run-directory child name onto a path by hand (``x / "users"``)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.right, ast.Constant)
        and node.right.value in LAYOUT_NAMES
    ]


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_runners_import_at_module_top():
    bad = {
        str(p.relative_to(PACKAGE)): lines
        for p in _modules(RUNNERS)
        if (lines := inner_imports_without_reason(p.read_text()))
    }
    assert bad == {}


def test_only_results_spells_out_the_run_directory_layout():
    bad = {
        str(p.relative_to(PACKAGE)): lines
        for p in _modules(RUNNERS)
        if p.name != "results.py" and (lines := layout_joins(p.read_text()))
    }
    assert bad == {}


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _modules(PACKAGE)
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    import json\n", [2]),
        ("def f():\n    import submitit  # optional\n", []),
        ("def f():\n    # heavy, only when plotting\n    import matplotlib\n", []),
        ("import json\n\ndef f():\n    return json\n", []),
    ],
)
def test_inner_import_scan_catches_silent_imports(source, expected):
    assert inner_imports_without_reason(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('p = run_dir / "users" / uid\n', [1]),
        ('p = run.user(uid).path / "metrics.json"\n', []),
        ('x = "users"\n', []),
    ],
)
def test_layout_scan_catches_hand_joined_paths(source, expected):
    assert layout_joins(source) == expected
