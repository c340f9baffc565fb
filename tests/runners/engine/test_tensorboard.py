"""TensorBoard (issue 18.10): online metrics every step (or every ``run.tb_every``), each tag once
per step also after a resume, the frozen baseline's curves beside the method's, hparams of grid runs."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ego_cl.runners.engine.grid import run_grid
from ego_cl.runners.engine.user import stream_user
from ego_cl.runners.results import RunDir, UserDir
from tests.runners.fakes import fake_parts
from tests.runners.tiny_run import make_tiny, tiny_overrides


def _scalars(folder) -> dict[str, list[int]]:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [e.step for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.parametrize(("tb_every", "steps"), [(1, list(range(10))), (4, [3, 7, 9]), (20, [9])])
def test_metrics_and_stats_every_tb_every_steps_and_after_the_last(tmp_path, tb_every, steps):
    stream_user(fake_parts(n_samples=40), UserDir(tmp_path / "u"), checkpoint_every=3, seed=0,
                tb_dir=tmp_path / "tb", tb_every=tb_every)  # fmt: skip
    scalars = _scalars(tmp_path / "tb")
    assert set(scalars) == {"verb_top1", "noun_top1", "action_top1", "learn/loss"}
    for tag in ("verb_top1", "noun_top1", "action_top1"):
        assert scalars[tag] == steps, tag
    assert scalars["learn/loss"] == steps


def test_a_resumed_user_has_each_tag_once_per_step(tmp_path):
    udir, tb = UserDir(tmp_path / "u"), tmp_path / "tb"
    with pytest.raises(RuntimeError, match="fake failure"):  # steps 4, 5 written after the checkpoint
        stream_user(fake_parts(n_samples=40, fail_at=24), udir, checkpoint_every=4, seed=0, tb_dir=tb)
    stream_user(fake_parts(n_samples=40), udir, checkpoint_every=4, seed=0, tb_dir=tb)
    assert len(list(tb.iterdir())) == 2  # two event files: the second purges steps >= 4
    for tag, steps in _scalars(tb).items():
        assert steps == list(range(10)), tag
        assert not [s for s, n in Counter(steps).items() if n > 1]


def test_baseline_curves_overlay_the_method_and_grid_runs_get_hparams(tmp_path):
    tiny = make_tiny(tmp_path / "home")
    overrides = tiny_overrides(tiny, tmp_path / "runs", "run.tensorboard=true", "run.timestamp=t0")
    parent, summaries = run_grid(None, overrides, ["learner.lr=0.1,1e-3"])
    run_dirs = sorted(p for p in parent.iterdir() if p.name.startswith("GRID_"))
    for run_dir in run_dirs:
        run = RunDir(run_dir)
        for uid in summaries[0]["users"]:
            method, baseline = _scalars(run.tb(uid)), _scalars(run.baseline_tb(uid))
            online = {t for t in method if t.startswith("online/")}
            assert online
            assert online == {t for t in baseline if t.startswith("online/")}  # same tags: overlay
            assert not [t for t in baseline if t.startswith("learn/")]  # the frozen model learns nothing
            n_steps = len(method["online/action/top1"])
            assert baseline["online/action/top1"] == method["online/action/top1"] == list(range(n_steps))
            assert os.path.realpath(run.baseline_tb(uid)).startswith(str((tmp_path / "runs").resolve()))
        acc = EventAccumulator(str(run.tb_hparams))
        acc.Reload()
        assert acc.PluginTagToContent("hparams")
    values = sorted(_hparam_lr(RunDir(d).tb_hparams) for d in run_dirs)
    assert values == [0.001, 0.1]


def _hparam_lr(folder) -> float:
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(folder))
    acc.Reload()
    for content in acc.PluginTagToContent("hparams").values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            return data.session_start_info.hparams["learner.lr"].number_value
    raise AssertionError("no hparams session")
