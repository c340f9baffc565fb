"""The run directory: atomic publishing, Parquet parts, checkpoints, DONE."""

from __future__ import annotations

import os

import torch

from ego_cl.runners.results import PRETRAINED, RunDir, UserDir, override_slug, run_dir_name


def test_parts_round_trip_in_step_order_and_drop(tmp_path):
    udir = UserDir(tmp_path / "u")
    udir.write_part({"index": [6, 7], "step": [3, 3]}, 3, 4)
    udir.write_part({"index": [0, 1, 2, 3, 4, 5], "step": [0, 0, 1, 1, 2, 2]}, 0, 3)
    udir.write_part({"index": [0], "step": [1]}, 1, 2, prefix="past")
    assert [p.name for p in udir.parts()] == [
        "predictions-000000-000003.parquet",
        "predictions-000003-000004.parquet",
    ]
    assert udir.read_log().column("index").to_pylist() == list(range(8))
    assert udir.read_log("past").num_rows == 1
    udir.drop_parts_from(1)
    assert [p.name for p in udir.path.glob("*.parquet")] == ["predictions-000000-000003.parquet"]
    assert UserDir(tmp_path / "none").read_log() is None


def test_parts_are_zstd_parquet(tmp_path):
    import pyarrow.parquet as pq

    path = UserDir(tmp_path).write_part({"a": [1, 2]}, 0, 1)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_checkpoint_round_trip_weights_only(tmp_path):
    udir = UserDir(tmp_path / "u")
    assert udir.load_checkpoint() is None
    state = {"loop": {"next_step": 3, "debt_s": 0.0}, "w": torch.arange(3), "rng": (3, (1, 2), None)}
    udir.save_checkpoint(state)
    got = udir.load_checkpoint()
    assert torch.equal(got["w"], state["w"])
    assert got["loop"] == state["loop"]


def test_done_and_failure_markers(tmp_path):
    udir = UserDir(tmp_path / "u")
    udir.record_failure({"error": "boom"})
    assert udir.read_json("FAILED.json") == {"error": "boom"}
    assert not udir.is_done
    udir.mark_done()
    assert udir.is_done
    assert not (udir.path / "FAILED.json").exists()


def test_run_dir_name_carries_overrides():
    assert run_dir_name("2026-01-02_03-04-05", ["learner.kind=replay"]) == (
        "2026-01-02_03-04-05_learner.kind=replay"
    )
    assert override_slug(["a=b/c d"]) == "a=b_c_d"
    assert len(override_slug(["x=" + "y" * 500])) <= 80


def test_no_temp_files_survive_a_user_run(tmp_path):
    from ego_cl.runners.engine.user import stream_user
    from tests.runners.fakes import fake_parts

    udir = UserDir(tmp_path / "u0")
    stream_user(fake_parts(n_samples=12), udir, checkpoint_every=2, seed=0, tb_dir=tmp_path / "tb")
    names = sorted(p.name for p in udir.path.iterdir())
    assert names == [
        "DONE",
        "checkpoint",
        "learner.pt",
        "metrics.json",
        "predictions-000000-000002.parquet",
        "predictions-000002-000003.parquet",
        "summary.json",
    ]
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    assert os.path.getsize(udir.path / "learner.pt") > 0


def test_run_dir_names_every_path_of_the_layout(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.config == tmp_path / "r" / "config.yaml"
    assert run.user("a/b").path == tmp_path / "r" / "users" / "a_b"
    assert run.baseline("7").path == tmp_path / "r" / "baseline" / "7"
    assert run.hindsight(PRETRAINED, "7").path == tmp_path / "r" / "hindsight" / "_pretrained" / "7"
    assert run.learner_state("7") == tmp_path / "r" / "users" / "7" / "learner.pt"
    assert run.tb("7") == tmp_path / "r" / "tb" / "7"
    assert run.slurm.parent == run.log_file.parent == run.report.parent == run.path


def test_a_run_dir_needs_config_and_users(tmp_path):
    run = RunDir(tmp_path)
    assert not run.is_run
    run.config.write_text("{}")
    assert not run.is_run
    run.users_root.mkdir()
    assert run.is_run
