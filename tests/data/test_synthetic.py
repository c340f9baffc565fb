"""The synthetic Ego4D-format dataset: layout, realism properties, determinism, learnability."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from fractions import Fraction

import attrs
import numpy as np
import pytest

from ego_cl.data.config import SyntheticConfig
from ego_cl.data.records import load_lta_file, load_metadata
from ego_cl.data.source import Ego4dSource
from ego_cl.data.synthetic import dataset_files, plan_dataset
from ego_cl.data.synthetic_render import encode_clip, render_frames
from ego_cl.data.taxonomy import load_taxonomy
from ego_cl.data.usersplit import find_split_file
from ego_cl.types import Span
from tests.data.conftest import decode_all


def _load(root):
    meta = load_metadata(root / "ego4d.json")
    tax = load_taxonomy(root / "v1/annotations/fho_lta_taxonomy.json")
    anns = []
    for name in ("train", "val"):
        anns += load_lta_file(
            root / f"v1/annotations/fho_lta_{name}.json", taxonomy=tax, metadata=meta
        ).annotations
    return meta, tax, anns


def test_layout_loads_with_validation(synthetic_root, synthetic_config):
    meta, tax, anns = _load(synthetic_root)
    assert (tax.n_verbs, tax.n_nouns) == (synthetic_config.n_verbs, synthetic_config.n_nouns)
    assert anns
    clips = {a.clip_uid for a in anns}
    assert all((synthetic_root / "v1/clips" / f"{c}.mp4").is_file() for c in clips)
    assert sum(m.user_id is None for m in meta.values()) == 1  # the NaN-user video
    raw = json.loads((synthetic_root / "ego4d.json").read_text())
    assert sum("fb_participant_id" not in v for v in raw["videos"]) == 1


def test_streams_have_recordings_clips_runs_and_overlaps(synthetic_root):
    _, _, anns = _load(synthetic_root)
    summary = json.loads((synthetic_root / "usersplits/split_summary.json").read_text())
    eval_users = {u["user_id"] for u in summary["users"] if u["subset"] != "pretrain"}
    assert len(eval_users) == 3
    by_user = defaultdict(list)
    for a in anns:
        by_user[a.user_id].append(a)
    for user, mine in by_user.items():
        if user is None:
            continue
        assert len({a.origin_video_id for a in mine}) == 2
        starts = defaultdict(set)
        for a in mine:
            starts[a.origin_video_id].add(a.clip_parent_start_s)
        if user in eval_users:
            assert all(len(s) >= 2 for s in starts.values())  # each recording is cut into clips
    ordered = sorted(
        anns, key=lambda a: (a.user_id or "", a.origin_video_id, a.clip_parent_start_s, a.action_idx)
    )
    repeats = sum(a.action == b.action for a, b in itertools.pairwise(ordered))
    assert repeats > 0.25 * len(anns)  # runs of the same action
    overlaps = sum(
        a.clip_uid == b.clip_uid and b.span.start_s < a.span.end_s for a, b in itertools.pairwise(ordered)
    )
    assert overlaps > 0


def test_unseen_pairs_only_for_eval_users(synthetic_root, synthetic_config):
    plan = plan_dataset(synthetic_config)
    assert len(plan.unseen_pairs) == 2
    pretrain = Ego4dSource(
        split_file=find_split_file(synthetic_root / "usersplits", "pretrain_incl_nanusers"),
        video_dir=synthetic_root / "v1/clips",
    )
    assert "null" in pretrain.users()
    seen = {a.action for u in pretrain.users() for a in pretrain.annotations(u)}
    assert not seen & plan.unseen_pairs
    _, _, anns = _load(synthetic_root)
    assert {a.action for a in anns} & plan.unseen_pairs


def test_same_seed_same_json_and_frames(synthetic_config):
    small = attrs.evolve(
        synthetic_config, n_eval_users=1, n_pretrain_users=1, eval_user_s=40, pretrain_user_s=30
    )
    first, second = plan_dataset(small), plan_dataset(small)
    assert dict(first.documents) == dict(second.documents)
    files_a = dict(dataset_files(first))
    files_b = dict(dataset_files(second))
    assert files_a == files_b
    other = plan_dataset(attrs.evolve(small, seed=small.seed + 1))
    assert dict(other.documents) != dict(first.documents)


def test_decoded_frames_are_deterministic(tmp_path, synthetic_config):
    clip = plan_dataset(synthetic_config).clips[0]
    kwargs = dict(width=128, height=96, fps=30, n_nouns=8)
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(encode_clip(clip, **kwargs))
    times_a, frames_a = decode_all(tmp_path / "a.mp4")
    times_b, frames_b = decode_all(tmp_path / "b.mp4")
    assert times_a == times_b
    assert times_a[:2] == [0, Fraction(1, 30)]
    assert len(times_a) == clip.duration_s * 30
    np.testing.assert_array_equal(frames_a, frames_b)


def test_default_config_is_split_ready():
    config = SyntheticConfig()
    plan = plan_dataset(config)
    assert config.n_eval_users - config.n_train_users >= 4
    assert config.n_eval_users >= 6
    videos = plan.documents["ego4d.json"]["videos"]
    assert (
        len({v.get("fb_participant_id") for v in videos}) == config.n_eval_users + config.n_pretrain_users + 1
    )


def _features(source, a, clip, k, n_frames=8):
    """Simple statistics of the object (frame minus the user's empty background) in clip ``k``."""
    start = a.span.start_s + k * Fraction(32, 15)
    span = Span(start, start + Fraction(32, 15))
    x = source.read_clip(a.clip_uid, span, n_frames).numpy().astype(np.int16)
    wanted = [int((span.start_s + i * span.duration_s / n_frames) * 30) for i in range(n_frames)]
    background = list(render_frames(attrs.evolve(clip, actions=()), width=128, height=96, fps=30, n_nouns=8))
    bg = np.stack([background[min(i, len(background) - 1)] for i in wanted]).astype(np.int16)
    mask = np.abs(x - bg).sum(-1) > 60
    area = mask.sum((1, 2))
    visible = area > 3
    ys, xs = np.mgrid[0:96, 0:128]
    cx = np.array([xs[m].mean() if v else np.nan for m, v in zip(mask, visible)])
    cy = np.array([ys[m].mean() if v else np.nan for m, v in zip(mask, visible)])
    dx, dy = np.diff(cx), np.diff(cy)
    dx, dy = dx[np.isfinite(dx)], dy[np.isfinite(dy)]

    def med(v):
        return float(np.median(v)) if len(v) else 0.0

    def mabs(v):
        return float(np.mean(np.abs(v))) if len(v) else 0.0

    spread = area[visible].std() / (area[visible].mean() + 1) if visible.any() else 0.0
    verb = [med(dx), med(dy), mabs(dx), mabs(dy), spread, visible.mean()]
    colour = (
        np.median(np.concatenate([x[i][mask[i]] for i in range(n_frames)]), 0)
        if visible.any()
        else np.zeros(3)
    )
    fills = []
    for i in np.flatnonzero(visible):
        yy, xx = np.nonzero(mask[i])
        fills.append(mask[i].sum() / ((np.ptp(yy) + 1) * (np.ptp(xx) + 1)))
    noun = [*(colour / (colour.sum() + 1)), med(fills)]
    return np.array(verb), np.array(noun)


def _nearest_centroid_accuracy(train_x, train_y, test_x, test_y):
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mu) / sd, (test_x - mu) / sd
    classes = np.unique(train_y)
    centroids = np.stack([train_x[train_y == c].mean(0) for c in classes])
    pred = classes[np.argmin(((test_x[:, None] - centroids[None]) ** 2).sum(-1), 1)]
    return float((pred == test_y).mean())


@pytest.mark.parametrize(("which", "label", "chance"), [(0, "verb", 1 / 7), (1, "noun", 1 / 8)])
def test_labels_are_learnable_across_users(synthetic_root, synthetic_config, which, label, chance):
    """Centroids fit on pretraining users classify the evaluation users' actions well above chance."""
    specs = {c.clip_uid: c for c in plan_dataset(synthetic_config).clips}
    rows = {}
    for subset in ("pretrain_incl_nanusers", "test"):
        source = Ego4dSource(
            split_file=find_split_file(synthetic_root / "usersplits", subset),
            video_dir=synthetic_root / "v1/clips",
        )
        out = []
        for user in source.users():
            anns = source.annotations(user)
            for a in anns:
                if any(b is not a and b.clip_uid == a.clip_uid and b.span.overlaps(a.span) for b in anns):
                    continue
                for k in range(max(1, int(a.span.duration_s / Fraction(32, 15)))):
                    features = _features(source, a, specs[a.clip_uid], k)[which]
                    out.append((features, getattr(a, f"{label}_label")))
        rows[subset] = out
    train, test = rows["pretrain_incl_nanusers"], rows["test"]
    accuracy = _nearest_centroid_accuracy(
        np.stack([f for f, _ in train]),
        np.array([y for _, y in train]),
        np.stack([f for f, _ in test]),
        np.array([y for _, y in test]),
    )
    assert accuracy > chance + 0.3, accuracy
