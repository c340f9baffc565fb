"""One owner of "read the taxonomy file or infer it": :func:`find_taxonomy`."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.data.taxonomy import TAXONOMY_FILE, find_taxonomy, infer_taxonomy
from tests.strategies import annotation_lists


def _write(root, verbs, nouns):
    path = root / TAXONOMY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"verbs": verbs, "nouns": nouns}))


def test_the_file_wins_over_the_annotations(tmp_path):
    _write(tmp_path, ["take", "put", "cut"], ["cup", "knife"])
    found = find_taxonomy(tmp_path, infer_from=[])
    assert (found.n_verbs, found.n_nouns, found.verbs) == (3, 2, ("take", "put", "cut"))


def test_no_file_and_nothing_to_infer_from_is_none(tmp_path):
    assert find_taxonomy(tmp_path) is None


@settings(max_examples=25, deadline=None)
@given(annotation_lists(max_size=8).filter(bool), st.booleans())
def test_without_a_file_the_taxonomy_is_inferred(tmp_path_factory, annotations, as_iterator):
    root = tmp_path_factory.mktemp("root")
    source = iter(annotations) if as_iterator else annotations
    assert find_taxonomy(root, infer_from=source) == infer_taxonomy(annotations)
