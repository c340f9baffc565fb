"""Report and summary figures name classes from the taxonomy where it has them."""

from __future__ import annotations

import json

import attrs

from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.reporting import plots
from ego_cl.runners.reporting.extra import class_names
from ego_cl.runners.reporting.plots import class_label, plot_label_histograms

NAMES = {"verb": ["take", "cut", "wash"], "noun": ["knife", "onion"]}


def _figure_of(monkeypatch, label_sets, names):
    captured = {}

    def keep(fig, path):
        captured["fig"] = fig
        return [path]

    monkeypatch.setattr(plots, "save", keep)
    plot_label_histograms(label_sets, plots.Path("unused"), title="t", names=names)
    return captured["fig"].axes


def test_few_classes_are_named_on_the_ticks(monkeypatch):
    axes = _figure_of(monkeypatch, [[(1, 0)], [(1, 0)], [(2, 1)]], NAMES)
    action, verb, noun = ([t.get_text() for t in ax.get_xticklabels()] for ax in axes)  # MODES order
    assert verb == ["cut", "wash"]
    assert noun == ["knife", "onion"]
    assert action == ["cut knife", "wash onion"]
    unnamed = _figure_of(monkeypatch, [[(1, 0)], [(1, 0)], [(2, 1)]], None)
    assert [t.get_text() for t in unnamed[0].get_xticklabels()] == ["1,0", "2,1"]


def test_many_classes_name_the_most_frequent_bars(monkeypatch):
    names = {"verb": [f"v{i}" for i in range(40)], "noun": ["n0"]}
    label_sets = [[(i, 0)] for i in range(40) for _ in range(40 - i)]  # verb i occurs 40 - i times
    verb_ax = _figure_of(monkeypatch, label_sets, names)[1]
    assert [t.get_text().strip() for t in verb_ax.texts] == [f"v{i}" for i in range(10)]
    assert class_label("verb", 99, names) == "99"  # outside the taxonomy: the id


def test_the_report_finds_the_runs_taxonomy(tmp_path):
    annotations = tmp_path / "v1" / "annotations"
    annotations.mkdir(parents=True)
    (annotations / "fho_lta_taxonomy.json").write_text(json.dumps({"verbs": ["a", "b"], "nouns": ["c"]}))
    cfg = StreamRunConfig()
    assert class_names(attrs.evolve(cfg, data=attrs.evolve(cfg.data, ego4d_root=str(tmp_path)))) == {
        "verb": ("a", "b"),
        "noun": ("c",),
    }
    assert class_names(None) is None
    assert class_names(attrs.evolve(cfg, data=attrs.evolve(cfg.data, ego4d_root=str(tmp_path / "x")))) is None
