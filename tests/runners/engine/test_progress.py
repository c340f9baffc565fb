"""The progress bars fit an 80-column terminal (issue 18.5), whatever the user ids and run names."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from ego_cl.runners.engine.progress import LABEL_WIDTH, Progress, slot_label

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _render(keys: list[str], total: int = 12345) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system=None, legacy_windows=False)
    with Progress(total=len(keys), pretty=True, console=console) as progress:
        for slot, key in enumerate(keys):
            progress.update(slot, key, total // 2, total)
    text = _ANSI.sub("", buffer.getvalue()).replace("\r", "\n")
    return [line for line in text.splitlines() if line.strip()]


def test_long_keys_render_within_80_columns_one_row_per_bar():
    keys = [
        "users/" + "participant-" * 20 + "@2025-01-01_00-00-00_" + "learner.kind=replay," * 10,
        "baseline/5430eb3b600e6af0/" + "x" * 300,
        "users/P01@GRID_learner.lr=0.1,learner.momentum=0.9,stream.batch_size=8",
    ]
    lines = _render(keys)
    assert lines
    assert max(len(line) for line in lines) <= 80
    last = lines[-(len(keys) + 1) :]  # the final frame: the overall bar and one row per slot
    assert last[0].startswith("users")
    for slot, line in enumerate(last[1:]):
        assert line.startswith(f"{slot} ")
        assert "6172/12345" in line  # the label never pushes n/m onto another line


@given(st.integers(0, 99), st.text(max_size=300), st.text(max_size=300), st.booleans())
@settings(max_examples=200)
def test_slot_label_is_bounded_and_starts_with_the_slot(slot, user, run, baseline):
    key = f"baseline/abc/{user}" if baseline else f"users/{user}@{run}"
    label = slot_label(slot, key)
    assert len(label) <= LABEL_WIDTH
    assert label.split(" ", 1)[0] == str(slot)
    assert all(" " <= ch <= "~" for ch in label)  # one terminal column per character
