"""The README stays true: its API snippets run (on a small synthetic dataset) and it never links
outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runners.tiny_run import make_tiny

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARKER = re.compile(
    r"<!-- readme-snippet: (?P<name>[\w-]+) -->\n(?:<!--[^\n]*-->\n)*```python\n(?P<code>.*?)\n```", re.S
)
"""A ```python block right after its marker comment (other HTML comments, e.g. ``fmt: off``, between)."""
PLACEHOLDER_ROOT, PLACEHOLDER_CHECKPOINT = "/data/ego4d", "/data/pretrained.pt"
SNIPPETS = ("custom-learner", "plain-loop")


def readme_snippets(text: str) -> dict[str, str]:
    """Snippet name → code of every ```python block right after a ``readme-snippet`` marker."""
    return {m["name"]: m["code"] for m in MARKER.finditer(text)}


def outside_links(text: str) -> list[str]:
    """Link targets and paths that lead outside the repository (or to a path it does not have)."""
    bad = re.findall(r"(?:\.\./)+[\w.-]+/\S*|/work/\S*|\bshared/\S*", text)  # bare `../x` is a value
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://|#|mailto:", target):
            continue
        path = (REPO / target.split("#")[0]).resolve()
        if not path.is_relative_to(REPO) or not path.exists():
            bad.append(target)
    return bad


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("readme"))


def test_both_snippets_are_marked_and_short():
    snippets = readme_snippets(README.read_text())
    assert sorted(snippets) == sorted(SNIPPETS)
    for name, code in snippets.items():
        assert len(code.splitlines()) < 30, name
        assert PLACEHOLDER_ROOT in code, name
        assert PLACEHOLDER_CHECKPOINT in code, name


@pytest.mark.parametrize("name", SNIPPETS)
def test_snippet_runs_on_synthetic_data(name, tiny, capsys):
    root, checkpoint = tiny
    code = readme_snippets(README.read_text())[name]
    code = code.replace(PLACEHOLDER_ROOT, str(root)).replace(PLACEHOLDER_CHECKPOINT, str(checkpoint))
    exec(compile(code, f"README.md:{name}", "exec"), {"__name__": f"readme_{name.replace('-', '_')}"})
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed, "the snippet prints its result"
    assert re.fullmatch(r"user \S+: .*[-+]?\d+\.\d+%?", printed[-1]), printed[-1]


def test_snippet_extraction_sees_a_broken_snippet():
    text = "<!-- readme-snippet: x -->\n<!-- fmt: off -->\n```python\nraise ValueError('rotted')\n```\n"
    with pytest.raises(ValueError, match="rotted"):
        exec(readme_snippets(text)["x"], {})


def test_markdown_never_links_outside_the_repository():
    docs = [README, *sorted(REPO.glob("benchmarks/*.md")), *sorted(REPO.glob("configs/*.md"))]
    bad = {str(p.relative_to(REPO)): links for p in docs if (links := outside_links(p.read_text()))}
    assert bad == {}


@pytest.mark.parametrize(
    "text",
    [
        "see [spec](../shared/reference/spec.md)",
        "read /work/shared/DESIGN.md",
        "[x](nope/missing.md)",
        "the spec (`../reference/egoadapt-spec.md`)",
    ],
)
def test_link_check_catches_outside_links(text):
    assert outside_links(text)


def test_link_check_lets_values_and_repository_links_pass():
    assert outside_links("a `clip_uid` of `../x` is refused; see [bench](benchmarks/README.md)") == []
