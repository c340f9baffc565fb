"""The stream command end to end on a tiny synthetic dataset: layout, baseline cache, bad input,
in-process vs pool equality, and a pool run with a corrupt video and a killed worker."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.logs import configure_logging
from ego_cl.runners.results import UserDir
from ego_cl.runners.stream import main, run_stream
from tests.runners.fakes import killing_target

TINY = dict(
    n_eval_users=4,
    n_train_users=0,
    n_pretrain_users=2,
    eval_user_s=60,
    pretrain_user_s=30,
    nan_video_s=10,
    recordings_per_user=1,
    clip_s=20,
    width=64,
    height=48,
)


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 4-test-user synthetic dataset, its split, and a random tiny3d checkpoint."""
    from ego_cl.data.config import SyntheticConfig
    from ego_cl.learners.networks.builders import build_network
    from ego_cl.learners.networks.checkpoint import network_checkpoint
    from ego_cl.runners.checkpoint_io import write_checkpoint
    from ego_cl.runners.datasets import ensure_default_dataset

    home = tmp_path_factory.mktemp("home")
    root, _ = ensure_default_dataset(home, SyntheticConfig(**TINY))
    torch.manual_seed(0)
    taxonomy = json.loads((root / "v1/annotations/fho_lta_taxonomy.json").read_text())
    net = build_network("tiny3d", n_verbs=len(taxonomy["verbs"]), n_nouns=len(taxonomy["nouns"]))
    write_checkpoint(home / "pretrained.pt", network_checkpoint(net))
    return root, home / "pretrained.pt"


def _overrides(tiny, out: Path, *extra: str) -> list[str]:
    root, checkpoint = tiny
    return [
        f"data.ego4d_root={root}",
        f"model.checkpoint={checkpoint}",
        f"run.out_dir={out}",
        "stream.max_samples=12",
        "stream.filter_unseen=false",
        "stream.workers=0",
        "stream.n_frames=4",
        "stream.side_px=32",
        "stream.crop_px=32",
        "run.checkpoint_every=2",
        "pool.users_per_device=2",
        "pool.threads_per_slot=1",
        *extra,
    ]


def _run(tiny, out: Path, *extra: str, target=None) -> dict:
    overrides = _overrides(tiny, out, *extra)
    return run_stream(load_config(StreamRunConfig, overrides=overrides), overrides, target=target)


@pytest.mark.slow
def test_in_process_run_layout_and_baseline_cache_then_pool_gives_identical_results(tiny, tmp_path):
    configure_logging(stream=io.StringIO())  # as the command does (the engine never configures logging)
    inline = _run(tiny, tmp_path, "pool.processes=0")
    run_dir = Path(inline["run_dir"])
    assert inline["failed"] == []
    assert inline["n_done"] == 4
    assert {p.name for p in run_dir.iterdir()} >= {
        "config.yaml",
        "users",
        "baseline",
        "tb",
        "log.jsonl",
        "summary.json",
        "summary.csv",
    }
    users = sorted(p.name for p in (run_dir / "users").iterdir())
    for uid in users:
        udir = UserDir(run_dir / "users" / uid)
        names = {p.name for p in udir.path.iterdir()}
        assert {"DONE", "metrics.json", "learner.pt", "checkpoint", "summary.json"} <= names
        assert udir.read_log().num_rows == 12
        assert (run_dir / "baseline" / uid).is_symlink()
        assert UserDir(run_dir / "baseline" / uid).is_done
        assert any((run_dir / "tb" / uid).iterdir())
    assert set(inline["oag"]) >= {"oag/action/balanced_top1", "oag/verb/balanced_top1"}
    assert load_config(StreamRunConfig, run_dir / "config.yaml").pool.processes == 0

    pooled = _run(tiny, tmp_path, "pool.processes=null", "run.timestamp=pooled")
    assert pooled["failed"] == []
    pool_dir = Path(pooled["run_dir"])
    # the baseline came from the cache: same directory, nothing re-run
    assert (pool_dir / "baseline" / users[0]).resolve() == (run_dir / "baseline" / users[0]).resolve()
    for uid in users:
        a, b = UserDir(run_dir / "users" / uid), UserDir(pool_dir / "users" / uid)
        assert a.read_log().equals(b.read_log())
        assert a.read_json("metrics.json") == b.read_json("metrics.json")
    assert pooled["oag"] == inline["oag"]


def test_pool_run_with_a_corrupt_video_and_a_killed_worker_then_resume(tiny, tmp_path, monkeypatch):
    root, _ = tiny
    data = tmp_path / "data"
    shutil.copytree(root, data)
    from ego_cl.data.usersplit import find_split_file, load_user_split

    split = load_user_split(find_split_file(data / "usersplits", "test"))
    users = sorted(split.users, key=lambda u: -len(split.users[u]))
    corrupt, victim = users[0], users[1]
    first = sorted(split.users[corrupt], key=lambda a: (a.clip_parent_start_s, a.action_idx))[0]
    (data / "v1" / "clips" / f"{first.clip_uid}.mp4").write_bytes(b"\x00not a video" * 100)
    monkeypatch.setenv("EGO_CL_TEST_KILL_USER", victim)
    monkeypatch.setenv("EGO_CL_TEST_KILL_AFTER", "12")  # after step 2; checkpoint of step 1 written
    tiny_copy = (data, tiny[1])

    summary = _run(tiny_copy, tmp_path / "runs", target=killing_target)
    run_dir = Path(summary["run_dir"])
    failed = summary["failed"]
    assert any(k.startswith(f"users/{corrupt}@") for k in failed)
    assert any(k.startswith(f"users/{victim}@") for k in failed)
    corrupt_record = UserDir(run_dir / "users" / corrupt).read_json("FAILED.json")
    assert "VideoDecodeError" in corrupt_record["error"] or "decod" in corrupt_record["error"].lower()
    assert corrupt_record["traceback"]
    victim_dir = UserDir(run_dir / "users" / victim)
    assert victim_dir.read_json("FAILED.json")["exit_code"] == -9
    assert victim_dir.load_checkpoint() is not None  # written work survives the kill
    for uid in users[2:]:
        assert UserDir(run_dir / "users" / uid).is_done
    assert summary["n_done"] == 2

    monkeypatch.delenv("EGO_CL_TEST_KILL_USER")
    resumed = run_stream(load_config(StreamRunConfig, run_dir / "config.yaml"), resume=run_dir)
    assert victim_dir.is_done
    assert not (victim_dir.path / "FAILED.json").exists()
    assert victim_dir.read_json("summary.json")["resumed_at"] >= 2
    assert [k for k in resumed["failed"] if k.startswith("users/")] == [f"users/{corrupt}@{run_dir.name}"]


def test_cli_print_config(capsys):
    assert main(["--print-config", "learner.kind=replay", "run.seed=3"]) == 0
    out = capsys.readouterr().out
    assert "kind: replay" in out
    assert "seed: 3" in out


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.ego4d_root=/nonexistent/ego4d", "data.ego4d_root: /nonexistent/ego4d does not exist"),
        ("learner.kind=nope", "unknown learner kind"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(override, message, capsys, tmp_path):
    assert guarded_main(main, [override, f"run.out_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unreadable_checkpoint_and_missing_videos_are_clear_errors(tiny, tmp_path, capsys):
    root, _ = tiny
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    args = _overrides(tiny, tmp_path / "out", f"model.checkpoint={bad}")  # out_dir: ego_cl's alone
    assert guarded_main(main, args) == 2
    assert str(bad) in capsys.readouterr().err

    data = tmp_path / "data"
    shutil.copytree(root, data)
    victim = sorted((data / "v1" / "clips").glob("*.mp4"))[-1]
    victim.unlink()
    assert guarded_main(main, _overrides((data, tiny[1]), tmp_path / "out", "run.timestamp=x")) == 2
    err = capsys.readouterr().err
    assert "split does not match the videos" in err or victim.name in err


def test_near_future_and_past_window_logs_land_next_to_the_predictions(tiny, tmp_path):
    summary = _run(
        tiny,
        tmp_path,
        "pool.processes=0",
        "run.baseline=false",
        "metrics.near_future_k=4",
        "metrics.past_eval=true",
        "metrics.past_window=4",
        "run.users=[" + ",".join(_first_user(tiny)) + "]",
    )
    assert summary["failed"] == []
    udir = UserDir(next((Path(summary["run_dir"]) / "users").iterdir()))
    future = udir.read_log("future")
    past = udir.read_log("past")
    predictions = udir.read_log("predictions")
    n = predictions.num_rows
    # every sample i >= 4 is predicted once, 4 samples before it is learned, at the step of i - 4
    assert sorted(future.column("index").to_pylist()) == list(range(4, n))
    assert past.num_rows > 0
    metrics = udir.read_json("metrics.json")
    assert 0.0 <= metrics["near_future/action/top1"] <= 100.0


def _first_user(tiny) -> list[str]:
    from ego_cl.data.usersplit import find_split_file, load_user_split

    root, _ = tiny
    split = load_user_split(find_split_file(root / "usersplits", "test"))
    return [sorted(split.users)[0]]
