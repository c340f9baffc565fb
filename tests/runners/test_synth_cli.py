"""``python -m ego_cl.runners.synth``: atomic directory, manifest reuse, exit codes."""

from __future__ import annotations

import json

import pytest

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.datasets import MANIFEST, ensure_dataset
from ego_cl.runners.synth import main
from ego_cl.types import InputError

TINY = [
    "n_eval_users=2",
    "n_train_users=1",
    "n_pretrain_users=1",
    "eval_user_s=40",
    "pretrain_user_s=25",
    "nan_video_s=10",
    "recordings_per_user=1",
    "clip_s=20",
    "width=32",
    "height=32",
]


@pytest.mark.integration
def test_cli_writes_a_complete_dataset_with_split(tmp_path, capsys):
    out = tmp_path / "data"
    assert guarded_main(main, ["--out", str(out), "--seed", "5", "--split", *TINY]) == 0
    assert (out / "ego4d.json").is_file()
    assert (out / "v1/annotations/fho_lta_train.json").is_file()
    assert len(list((out / "v1/clips").glob("*.mp4"))) >= 4
    assert json.loads((out / MANIFEST).read_text())["seed"] == 5
    assert (out / "usersplits/split_summary.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    assert "wrote" in capsys.readouterr().out
    assert guarded_main(main, ["--out", str(out), *TINY]) == 2  # never overwrites


@pytest.mark.integration
def test_bad_override_exits_2(tmp_path, capsys):
    assert guarded_main(main, ["--out", str(tmp_path / "d"), "n_verbs=9"]) == 2
    assert not (tmp_path / "d").exists()


def test_ensure_dataset_reuses_matching_and_refuses_other(tmp_path):
    from ego_cl.data.config import SyntheticConfig

    config = SyntheticConfig(
        n_eval_users=1,
        n_train_users=0,
        n_pretrain_users=1,
        eval_user_s=40,
        pretrain_user_s=25,
        nan_video_s=10,
        recordings_per_user=1,
        width=32,
        height=32,
    )
    out = ensure_dataset(tmp_path / "d", config)
    stamp = (out / "ego4d.json").stat().st_mtime_ns
    assert ensure_dataset(out, config) == out
    assert (out / "ego4d.json").stat().st_mtime_ns == stamp
    with pytest.raises(InputError, match="not the synthetic dataset"):
        ensure_dataset(out, SyntheticConfig())
