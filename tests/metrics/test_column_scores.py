"""The online scores path (plain columns) decodes exactly what the Arrow path decodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.metrics.prediction_log import prediction_log_table
from ego_cl.metrics.scores import MODES, column_scores, sample_scores

_ints = st.integers(0, 6)


@st.composite
def log_columns(draw) -> dict[str, list]:
    n = draw(st.integers(0, 8))
    k = draw(st.integers(0, 4))
    rows = [draw(st.lists(st.tuples(_ints, _ints), min_size=1, max_size=3)) for _ in range(n)]
    tops = {
        name: [draw(st.lists(_ints, min_size=k, max_size=k)) for _ in range(n)]
        for name in ("verb_topk", "noun_topk", "action_topk_verb", "action_topk_noun")
    }
    losses = {
        f"{m}_loss": draw(st.lists(st.floats(0, 50, allow_nan=False), min_size=n, max_size=n)) for m in MODES
    }
    return {
        "step": draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)),
        "index": draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n)),
        "verb_labels": [[v for v, _ in r] for r in rows],
        "noun_labels": [[u for _, u in r] for r in rows],
        **tops,
        **losses,
    }


def _same(a, b) -> None:
    for name in ("step", "index"):
        got, want = getattr(a, name), getattr(b, name)
        assert got.dtype == want.dtype == np.int64
        np.testing.assert_array_equal(got, want)
    for field in ("primary", "hit_rank", "loss"):
        got, want = getattr(a, field), getattr(b, field)
        assert got.keys() == want.keys()
        for mode in want:
            assert got[mode].dtype == want[mode].dtype
            np.testing.assert_array_equal(got[mode], want[mode])


@given(log_columns())
def test_column_scores_equal_the_arrow_path(columns):
    _same(column_scores(columns), sample_scores(prediction_log_table(columns)))


def test_column_scores_reject_what_the_arrow_path_rejects():
    columns = {
        "step": [0],
        "index": [0],
        "verb_labels": [[1, 2]],
        "noun_labels": [[1]],
        **{name: [[1]] for name in ("verb_topk", "noun_topk", "action_topk_verb", "action_topk_noun")},
        **{f"{m}_loss": [0.5] for m in MODES},
    }
    with pytest.raises(ValueError, match="same length"):
        column_scores(columns)
    columns["verb_labels"], columns["noun_labels"] = [[]], [[]]
    with pytest.raises(ValueError, match="at least one label"):
        column_scores(columns)
