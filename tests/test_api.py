"""``ego_cl.api``: everything an embedding needs, from the layer that owns it, without side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ego_cl import api
from ego_cl.data import usersplit
from ego_cl.learners.registry import LEARNERS
from ego_cl.metrics.prediction_log import prediction_log_columns
from ego_cl.runners.engine import loop
from ego_cl.types import Batch, Prediction, Target

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_every_exported_name_exists_once():
    assert len(api.__all__) == len(set(api.__all__))
    assert [n for n in api.__all__ if not hasattr(api, n)] == []


def test_split_names_are_the_data_layers_constants():
    assert (api.TRAIN_SPLIT, api.TEST_SPLIT, api.PRETRAIN_SPLIT) == (
        usersplit.TRAIN_SPLIT,
        usersplit.TEST_SPLIT,
        usersplit.PRETRAIN_SPLIT,
    )
    assert api.SPLIT_NAMES == usersplit.SPLIT_NAMES


@pytest.mark.parametrize("kind", sorted(LEARNERS))
def test_every_learner_and_its_config_is_exported(kind):
    spec = LEARNERS[kind]
    assert getattr(api, spec.learner.__name__) is spec.learner
    assert getattr(api, spec.config.__name__) is spec.config
    assert spec.learner.__name__ in api.__all__
    assert spec.config.__name__ in api.__all__
    assert api.LEARNERS is LEARNERS


def test_the_loop_is_the_runners_loop_with_its_log_columns(monkeypatch):
    batch = Batch(
        indices=torch.tensor([0, 1]),
        clips=torch.zeros(2, 0),
        target=Target.from_label_sets([[(1, 0)], [(0, 1)]]),
    )
    calls = []
    monkeypatch.setattr(loop, "online_loop", lambda *a, **kw: calls.append(kw) or iter(()))
    list(api.online_loop(api.LabelWindowPredictor(window=2, n_verbs=2, n_nouns=2), [batch], api.MetricSet()))
    assert len(calls) == 1
    prediction = Prediction(indices=batch.indices, verb_logits=torch.eye(2), noun_logits=torch.eye(2))
    expected = prediction_log_columns(prediction, batch.labelled(), step=3, k=5)
    assert calls[0]["log_columns"](prediction, batch, 3) == expected


def test_online_metrics_equal_a_hand_driven_metric_set():
    labels = [[(1, 1)], [(0, 1)], [(1, 0)], [(1, 1)]]
    batches = [
        Batch(indices=torch.tensor([i]), clips=torch.zeros(1, 0), target=Target.from_label_sets([labels[i]]))
        for i in range(len(labels))
    ]
    by_hand = api.MetricSet(k=5)
    learner = api.LabelWindowPredictor(window=2, n_verbs=2, n_nouns=2)
    for record in api.online_loop(learner, batches, by_hand):
        assert record.log["step"] == [record.step]
    fresh = api.LabelWindowPredictor(window=2, n_verbs=2, n_nouns=2)
    assert api.online_metrics(fresh, batches) == pytest.approx(by_hand.get(), nan_ok=True)


def test_a_custom_learner_masks_exactly_as_the_built_in_ones():
    torch.manual_seed(0)
    network = api.build_network("tiny3d", n_verbs=5, n_nouns=4)
    context = api.AdaptContext.from_labels(network, verbs={0, 2, 3}, nouns={1, 3})
    clips = torch.randn(3, 3, 2, 16, 16)
    batch = Batch(indices=torch.arange(3), clips=clips, target=None)
    built_in = api.FinetuneLearner(network, context=context).predict(batch)
    mask = context.unseen_mask(network.n_verbs, network.n_nouns)
    with torch.no_grad():
        verb, noun = mask.predict_logits(*network.eval()(clips))
    assert torch.equal(built_in.verb_logits, verb)
    assert torch.equal(built_in.noun_logits, noun)
    assert bool((verb[:, [1, 4]] < -1e11).all())
    assert not bool((verb[:, [0, 2, 3]] < -1e11).any())


def test_importing_the_api_configures_no_logging_and_writes_nothing(tmp_path):
    code = (
        "import logging, structlog; handlers = list(logging.root.handlers); level = logging.root.level\n"
        "import ego_cl.api\n"
        "assert not structlog.is_configured(), 'structlog configured'\n"
        "assert logging.root.handlers == handlers and logging.root.level == level, 'logging changed'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_replay_learner_runs_in_the_api_loop_behind_a_label_gate():
    torch.manual_seed(0)
    clips = torch.randn(12, 3, 2, 16, 16)
    labels = [[(i % 3, i % 2)] for i in range(12)]

    def fetch(indices):
        indices = [int(i) for i in indices]
        return Batch(
            indices=torch.tensor(indices),
            clips=clips[indices],
            target=Target.from_label_sets([labels[i] for i in indices]),
        )

    gate = api.LabelGate(fetch)
    network = api.build_network("tiny3d", n_verbs=3, n_nouns=2)
    learner = api.ReplayLearner(network, api.ReplayConfig(capacity=4), fetch=gate.fetch)
    batches = [fetch(range(i, i + 3)) for i in range(0, 12, 3)]
    values = api.online_metrics(learner, batches, gate=gate)
    assert values["online/n_samples"] == 12
    with pytest.raises(api.LabelLeakError):
        gate.fetch([12])


def test_the_api_is_the_top_import_layer():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    layered = next(c for c in contracts if c.get("containers") == ["ego_cl"])
    assert layered["layers"][:2] == ["api", "runners"]
    assert layered.get("exhaustive") is True
