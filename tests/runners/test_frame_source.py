"""Where a run's frames come from: the resized cache (full and partial coverage), the source,
missing videos skipped per user, the baseline key, unsafe clip paths, and the dry run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import pytest
from structlog.testing import capture_logs

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.engine.dryrun import dry_run, format_report
from ego_cl.runners.inputs import load_inputs, pin_inputs, resolve_inputs
from ego_cl.runners.resizing import build_cache
from ego_cl.runners.stream import main, run_stream
from ego_cl.types import InputError
from tests.runners.tiny_run import make_tiny, tiny_overrides

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("home"))


@pytest.fixture
def data(tiny, tmp_path):
    """A private copy of the tiny dataset (tests delete videos and write caches into it)."""
    root = tmp_path / "ego4d"
    shutil.copytree(tiny[0], root)
    return root, tiny[1]


def _clips(root: Path) -> list[Path]:
    return sorted((root / "v1/clips").glob("*.mp4"))


def _cfg(data, out: Path, *extra: str) -> tuple[StreamRunConfig, list[str]]:
    overrides = tiny_overrides(data, out, "data.cache_short_side=32", *extra)
    return load_config(StreamRunConfig, overrides=overrides), overrides


def _run(data, out: Path, *extra: str) -> tuple[dict, list[dict]]:
    cfg, overrides = _cfg(data, out, *extra)
    with capture_logs() as logs:
        summary = run_stream(cfg, overrides)
    return summary, logs


def _baseline_key(summary: dict) -> str:
    links = sorted((Path(summary["run_dir"]) / "baseline").iterdir())
    return links[0].resolve().parent.name


def test_a_run_reads_its_frames_from_the_cache_and_says_so(data, tmp_path):
    root, _ = data
    build_cache(root / "v1/clips", short_side=32, workers=1)
    summary, logs = _run(data, tmp_path / "runs", "run.timestamp=cache")
    n_clips = summary["frames"]["n_clips"]
    assert summary["frames"]["n_cache"] == n_clips > 0
    assert summary["frames"]["cache_dir"] == str(root / "v1/clips_resized_32")
    said = [e for e in logs if e["event"] == "frames_from"]
    assert len(said) == 1
    assert said[0]["frames"] == f"cache 32p: {n_clips} of {n_clips} clips; source: 0"
    assert summary["n_done"] == summary["n_users"]
    source, _ = _run(data, tmp_path / "runs", "run.timestamp=src", "data.use_cache=false")
    assert source["frames"]["cache_dir"] is None
    assert _baseline_key(source) != _baseline_key(summary)  # a source-decoded baseline is not reused


def test_partly_cached_clips_come_from_cache_and_source(data, tmp_path):
    root, _ = data
    build_cache(root / "v1/clips", short_side=32, workers=1)
    cache = root / "v1/clips_resized_32"
    cfg, _ = _cfg(data, tmp_path, "data.use_cache=false")
    streamed = sorted(
        {a.clip_uid for anns in load_inputs(cfg, resolve_inputs(cfg)).users.values() for a in anns}
    )
    uncached = [cache / f"{uid}.mp4" for uid in streamed[:2]]
    for path in uncached:
        path.unlink()
    cfg, _ = _cfg(data, tmp_path)
    loaded = load_inputs(cfg, resolve_inputs(cfg))
    frames = loaded.frames
    assert frames.n_cache == frames.n_clips - len(uncached)
    assert (
        frames.describe() == f"cache 32p: {frames.n_cache} of {frames.n_clips} clips; source: {len(uncached)}"
    )
    for path in uncached:
        assert loaded.source.video_path(path.stem) == root / "v1/clips" / path.name
    kept = cache / f"{streamed[2]}.mp4"
    assert loaded.source.video_path(kept.stem) == kept


def test_skip_missing_videos_drops_their_annotations_per_user(data, tmp_path, capsys):
    root, _ = data
    cfg, overrides = _cfg(data, tmp_path)
    full = load_inputs(cfg, resolve_inputs(cfg))
    user = next(iter(full.users))
    victim = full.users[user][0].clip_uid
    n_victim = sum(1 for a in full.users[user] if a.clip_uid == victim)
    (root / "v1/clips" / f"{victim}.mp4").unlink()
    load_inputs.cache_clear()  # loaded inputs are cached per process; the files changed
    assert guarded_main(main, ["--dry-run", *overrides]) == 2
    assert victim in capsys.readouterr().err
    cfg, _ = _cfg(data, tmp_path, "data.skip_missing_videos=true")
    report = dry_run(cfg, measure_steps=0)
    row = next(r for r in report.rows if r.user_id == user)
    assert row.skipped_annotations == n_victim
    loaded = load_inputs(cfg, resolve_inputs(cfg))
    assert len(loaded.users[user]) == len(full.users[user]) - n_victim
    assert all(a.clip_uid != victim for a in loaded.users[user])
    assert loaded.dropped[user] == n_victim


def test_dry_run_prints_the_table_and_writes_no_results(data, tmp_path, capsys):
    out = tmp_path / "runs"
    _, overrides = _cfg(data, out)
    assert guarded_main(main, ["--dry-run", *overrides]) == 0
    printed = capsys.readouterr().out
    cfg, _ = _cfg(data, out)
    users = list(load_inputs(cfg, resolve_inputs(cfg)).users)
    lines = printed.splitlines()
    assert lines[0].startswith("user | samples | minutes | actions | clips cache | clips source")
    assert [line.split(" | ")[0] for line in lines[1 : 1 + len(users)]] == users
    for line in lines[1 : 1 + len(users)]:
        cells = line.split(" | ")
        assert int(cells[1]) == 8  # stream.max_samples
        assert cells[7].count(":") == 2  # h:mm:ss estimate
    assert "frames: source: all" in printed
    assert "s per online step" in printed
    assert "estimated wall time:" in printed
    assert not out.exists()


def test_dry_run_estimate_scales_with_samples(data, tmp_path):
    cfg, _ = _cfg(data, tmp_path, "stream.max_samples=16")
    report = dry_run(cfg, measure_steps=3)
    assert report.seconds_per_step is not None
    assert report.seconds_per_step > 0
    for row in report.rows:
        assert row.estimate_s == pytest.approx(-(-row.samples // 4) * report.seconds_per_step)
    assert report.total_s == pytest.approx(sum(r.estimate_s for r in report.rows))  # one slot (pool 1 x cpu)
    assert "users spread over 1 slot(s)" in format_report(report)


@pytest.mark.parametrize("uid", ["../x", "/abs/x"])
def test_unsafe_clip_uid_in_a_split_is_one_line_exit_2(data, tmp_path, capsys, uid):
    root, _ = data
    split = next((root / "usersplits").glob("ego4d_LTA_test_usersplit_*users.json"))
    raw = json.loads(split.read_text())
    first = next(iter(raw["users"]))
    raw["users"][first][1]["clip_uid"] = uid
    split.write_text(json.dumps(raw))
    _, overrides = _cfg(data, tmp_path)
    assert guarded_main(main, ["--dry-run", *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert f"{split}: users[{first}][1] clip_uid {uid!r}: not a plain file name (refused)" in err


def test_a_run_pins_the_cache_it_found_next_to_a_symlinked_clip_folder(data, tmp_path):
    root, _ = data
    real = tmp_path / "disk2" / "clips"
    real.parent.mkdir()
    (root / "v1/clips").rename(real)
    (root / "v1/clips").symlink_to(real, target_is_directory=True)
    build_cache(root / "v1/clips", short_side=32, workers=1)  # next to the link
    cfg, _ = _cfg(data, tmp_path)
    pinned = pin_inputs(cfg, resolve_inputs(cfg))
    assert pinned.data.video_dir == str(real.resolve())
    assert pinned.data.cache_dir == str((root / "v1/clips_resized_32").resolve())
    frames = load_inputs(pinned, resolve_inputs(pinned)).frames  # what the run (and a resume) reads
    assert frames.n_cache == frames.n_clips > 0
    off = attrs.evolve(pinned, data=attrs.evolve(pinned.data, cache_dir=str(tmp_path / "gone")))
    with pytest.raises(InputError, match=r"data\.cache_dir"):
        resolve_inputs(off)
