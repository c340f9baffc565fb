"""A synthetic dataset in the Ego4D download layout: the embedded demo data and the test fixture.

:func:`plan_dataset` decides everything (users, recordings, clips, actions, looks) from the seed
and returns the JSON documents plus one :class:`~ego_cl.data.synthetic_render.ClipSpec` per
video; :func:`dataset_files` turns a plan into ``(relative path, bytes)`` pairs (JSON text and
mp4 bytes encoded in memory). Writing them is the runner's job (``ego_cl.runners.datasets``).

What makes it a useful stand-in for Ego4D here:

- **learnable:** the verb is the motion pattern of an object, the noun its shape and colour;
- **streams:** each user has several recordings (``origin_video_id``), each cut into clips at
  increasing ``clip_parent_start_sec``; actions repeat in runs (``repeat_prob``); a share of
  annotations overlap the previous one (``overlap_share``; both objects are then on screen);
- **users differ:** background, palette, camera drift/wobble, tempo and preferred actions
  (label prior), so adapting to a user pays off;
- **split-ready:** the ``n_eval_users`` users have the most minutes (so the split makes them
  train/test users); ``n_unseen_pairs`` (verb, noun) pairs occur only for them; one video has no
  ``fb_participant_id`` (the NaN user, pretraining).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np

from ego_cl.data.config import SyntheticConfig
from ego_cl.data.synthetic_render import NOUNS, VERBS, ActionSpec, ClipSpec, UserStyle, encode_clip
from ego_cl.types import Action

__all__ = ["SyntheticDataset", "dataset_files", "plan_dataset"]

_SCENARIOS = ("Cooking", "Cleaning / laundry", "Crafting/knitting/sewing/drawing/painting", "Carpenter")


@attrs.frozen(kw_only=True)
class SyntheticDataset:
    """A planned synthetic dataset (cheap; no pixels yet).

    Attributes:
        config: What it was planned from.
        documents: Relative path → JSON document (``ego4d.json``, the LTA files, the taxonomy).
        clips: One spec per video, rendered to ``v1/clips/<clip_uid>.mp4``.
        unseen_pairs: (verb, noun) pairs only evaluation users perform.
    """

    config: SyntheticConfig
    documents: Mapping[str, Any] = attrs.field(converter=MappingProxyType)
    clips: tuple[ClipSpec, ...]
    unseen_pairs: frozenset[Action]


def plan_dataset(config: SyntheticConfig) -> SyntheticDataset:
    """Plan the whole dataset from ``config`` (deterministic, takes well under a second).

    The config is the dataset's definition (it is also hashed into the runner's manifest), so
    this one function takes it whole.
    """
    rng = np.random.default_rng([config.seed, 0])
    n_users = config.n_eval_users + config.n_pretrain_users
    user_ids = [int(u) for u in rng.choice(np.arange(1, 1000), size=n_users, replace=False)]
    all_pairs = [(v, n) for v in range(config.n_verbs) for n in range(config.n_nouns)]
    unseen = [all_pairs[i] for i in rng.choice(len(all_pairs), config.n_unseen_pairs, replace=False)]
    pretrain_prefs = [
        _pretrain_preferences(np.random.default_rng([config.seed, 1, k]), config, set(unseen))
        for k in range(config.n_pretrain_users)
    ]
    seen = sorted({pair for prefs in pretrain_prefs for pair, _ in prefs})
    users: list[tuple[int | None, float, list[tuple[Action, float]]]] = []
    for k in range(config.n_eval_users):
        own_unseen = unseen[k % len(unseen)] if unseen else None
        prefs = _eval_preferences(np.random.default_rng([config.seed, 2, k]), config, seen, own_unseen)
        users.append((user_ids[k], config.eval_user_s - 6 * k, prefs))
    for k in range(config.n_pretrain_users):
        users.append((user_ids[config.n_eval_users + k], config.pretrain_user_s - 4 * k, pretrain_prefs[k]))
    users.append((None, config.nan_video_s, pretrain_prefs[0]))

    builder = _Builder(config)
    for index, (user_id, total_s, prefs) in enumerate(users):
        builder.add_user(np.random.default_rng([config.seed, 3, index]), user_id, total_s, prefs)
    return SyntheticDataset(
        config=config,
        documents=builder.documents(),
        clips=tuple(builder.clips),
        unseen_pairs=frozenset(unseen),
    )


def dataset_files(dataset: SyntheticDataset) -> Iterator[tuple[str, bytes]]:
    """``(relative path, content)`` of every file: the JSON documents first, then the videos."""
    for path, document in dataset.documents.items():
        yield path, json.dumps(document, indent=1).encode()
    c = dataset.config
    for clip in dataset.clips:
        data = encode_clip(
            clip, width=c.width, height=c.height, fps=c.fps, n_nouns=c.n_nouns, crf=c.crf, gop=c.gop
        )
        yield f"v1/clips/{clip.clip_uid}.mp4", data


def _pretrain_preferences(
    rng: np.random.Generator, config: SyntheticConfig, unseen: set[Action]
) -> list[tuple[Action, float]]:
    """Every verb with two user-specific nouns, near-uniform weights (pretraining sees variety)."""
    perm = rng.permutation(config.n_nouns)
    pairs: list[Action] = []
    for i in range(max(2 * config.actions_per_user, 2 * config.n_verbs)):
        verb = i % config.n_verbs
        for shift in range(config.n_nouns):
            pair = (verb, int(perm[(i + shift) % config.n_nouns]))
            if pair not in unseen and pair not in pairs:
                pairs.append(pair)
                break
    weights = rng.dirichlet(np.full(len(pairs), 4.0))
    return list(zip(pairs, weights.tolist()))


def _eval_preferences(
    rng: np.random.Generator, config: SyntheticConfig, seen: list[Action], unseen: Action | None
) -> list[tuple[Action, float]]:
    """A skewed preference over a few pretraining-seen pairs, plus one rare unseen pair."""
    n_seen = min(len(seen), config.actions_per_user)
    pairs = [seen[i] for i in rng.choice(len(seen), n_seen, replace=False)]
    weights = rng.dirichlet(np.full(n_seen, 0.8)).tolist()
    if unseen is not None:
        pairs.append(unseen)
        weights = [w * 0.93 for w in weights] + [0.07]
    return list(zip(pairs, weights))


def _style(rng: np.random.Generator, shift: float) -> UserStyle:
    hue = rng.random()
    rgb = np.array([0.5 + 0.5 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)])
    background = tuple(int(40 + 110 * v) for v in rgb)
    return UserStyle(
        background_rgb=background,  # type: ignore[arg-type]
        texture=(float(rng.uniform(0, np.pi)), float(rng.uniform(8, 24)), float(rng.uniform(0.05, 0.18))),
        checker_px=int(rng.integers(6, 16)),
        hue_shift=float(rng.uniform(-0.09, 0.09) * shift),
        saturation=float(np.clip(0.85 - rng.uniform(0, 0.35) * shift, 0.3, 1)),
        drift_px_s=(float(rng.uniform(-14, 14) * shift), float(rng.uniform(-6, 6) * shift)),
        wobble_px=float(rng.uniform(0, 4) * shift),
        wobble_hz=float(rng.uniform(0.3, 1.0)),
        tempo=float(np.exp(rng.uniform(-0.3, 0.3) * shift)),
    )


def _uid(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Builder:
    """Accumulates videos, clips and annotation records while users are planned."""

    def __init__(self, config: SyntheticConfig):
        self.config = config
        self.videos: list[dict[str, Any]] = []
        self.train: list[dict[str, Any]] = []
        self.val: list[dict[str, Any]] = []
        self.clips: list[ClipSpec] = []

    def documents(self) -> dict[str, Any]:
        header = {"version": "synthetic-1", "date": "", "description": "ego_cl synthetic dataset"}
        return {
            "ego4d.json": {**header, "videos": self.videos},
            "v1/annotations/fho_lta_train.json": {**header, "split": "train", "clips": self.train},
            "v1/annotations/fho_lta_val.json": {**header, "split": "val", "clips": self.val},
            "v1/annotations/fho_lta_taxonomy.json": {
                "verbs": list(VERBS[: self.config.n_verbs]),
                "nouns": list(NOUNS[: self.config.n_nouns]),
            },
        }

    def add_user(
        self, rng: np.random.Generator, user_id: int | None, total_s: int, prefs: list[tuple[Action, float]]
    ) -> None:
        c = self.config
        style = _style(rng, c.shift)
        scenarios = sorted(rng.choice(_SCENARIOS, size=int(rng.integers(1, 3)), replace=False).tolist())
        n_rec = c.recordings_per_user if user_id is not None else 1
        chain = _ActionChain(rng, prefs, c.repeat_prob)
        for r in range(n_rec):
            length = total_s // n_rec + (1 if r < total_s % n_rec else 0)
            video_uid, origin = _uid(rng), f"rec-{_uid(rng)[:13]}"
            video = {"video_uid": video_uid, "fb_participant_id": user_id, "scenarios": scenarios}
            if user_id is None:
                del video["fb_participant_id"]
            n_clips = -(-length // c.clip_s)
            parent_s = int(rng.integers(0, 120))
            for j in range(n_clips):
                clip_len = length // n_clips + (1 if j < length % n_clips else 0)
                self._add_clip(rng, style, chain, video_uid, parent_s, clip_len)
                parent_s += clip_len + int(rng.integers(0, 40))
            video.update(
                origin_video_id=origin,
                duration_sec=float(parent_s + 30),
                video_metadata={"fps": c.fps, "width": c.width, "height": c.height},
            )
            self.videos.append(video)

    def _add_clip(
        self,
        rng: np.random.Generator,
        style: UserStyle,
        chain: _ActionChain,
        video_uid: str,
        parent_s: int,
        length_s: int,
    ) -> None:
        c = self.config
        clip_uid = _uid(rng)
        windows = _windows(rng, length_s * 10, c.overlap_share)
        actions = []
        records = self.val if rng.random() < c.val_share else self.train
        for action_idx, (start_ds, end_ds) in enumerate(windows):
            verb, noun = chain.next()
            anchor = (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.2, 0.8)))
            actions.append(
                ActionSpec(
                    start_s=Fraction(start_ds, 10),
                    end_s=Fraction(end_ds, 10),
                    verb=verb,
                    noun=noun,
                    anchor=anchor,
                    phase=float(rng.random()),
                )
            )
            records.append(
                {
                    "clip_id": len(self.clips),
                    "clip_uid": clip_uid,
                    "video_uid": video_uid,
                    "clip_parent_start_sec": float(parent_s),
                    "clip_parent_end_sec": float(parent_s + length_s),
                    "clip_parent_start_frame": parent_s * c.fps,
                    "clip_parent_end_frame": (parent_s + length_s) * c.fps,
                    "action_idx": action_idx,
                    "action_clip_start_sec": start_ds / 10,
                    "action_clip_end_sec": end_ds / 10,
                    "action_clip_start_frame": start_ds * c.fps // 10,
                    "action_clip_end_frame": end_ds * c.fps // 10,
                    "verb": VERBS[verb],
                    "noun": NOUNS[noun],
                    "verb_label": verb,
                    "noun_label": noun,
                }
            )
        self.clips.append(
            ClipSpec(clip_uid=clip_uid, duration_s=length_s, style=style, actions=tuple(actions))
        )


class _ActionChain:
    """The user's action sequence: repeat the last action with ``repeat_prob``, else draw a preferred one."""

    def __init__(self, rng: np.random.Generator, prefs: list[tuple[Action, float]], repeat_prob: float):
        self.rng = rng
        self.pairs = [pair for pair, _ in prefs]
        weights = np.asarray([w for _, w in prefs], dtype=float)
        self.weights = weights / weights.sum()
        self.repeat_prob = repeat_prob
        self.last: Action | None = None

    def next(self) -> Action:
        if self.last is None or self.rng.random() >= self.repeat_prob:
            self.last = self.pairs[int(self.rng.choice(len(self.pairs), p=self.weights))]
        return self.last


def _windows(rng: np.random.Generator, length_ds: int, overlap_share: float) -> list[tuple[int, int]]:
    """Action windows in deciseconds: 2.2-6 s long, short gaps, some starting inside the previous one."""
    out: list[tuple[int, int]] = []
    t = int(rng.integers(2, 11))
    while True:
        start = t
        if out and rng.random() < overlap_share:
            prev_start, prev_end = out[-1]
            start = max(prev_start + 5, prev_end - int(rng.integers(5, 21)))
        end = min(start + int(rng.integers(22, 61)), length_ds)
        if end - start < 10:
            return out
        out.append((start, end))
        t = end + int(rng.integers(0, 9))
