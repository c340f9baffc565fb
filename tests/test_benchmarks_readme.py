"""``benchmarks.all`` rewrites the results table of ``benchmarks/README.md`` and keeps the
hand-written notes below its mark."""

from __future__ import annotations

from benchmarks.all import NOTES_MARK, kept_notes


def test_notes_below_the_mark_are_kept_word_for_word(tmp_path):
    readme = tmp_path / "README.md"
    notes = f"{NOTES_MARK}\n\n- round 4: a note\n"
    readme.write_text(f"# old table\n| a | b |\n\n{notes}")
    assert kept_notes(readme) == "\n" + notes


def test_a_readme_without_notes_gets_the_mark(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# a table only\n")
    assert kept_notes(readme) == f"\n{NOTES_MARK}\n"
    assert kept_notes(tmp_path / "missing.md") == f"\n{NOTES_MARK}\n"
