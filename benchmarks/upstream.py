"""Our stream pipeline vs an upstream-style (EgoAdapt) pipeline feeding the same model and update.

One synthetic evaluation user (``ego_cl.runners.datasets``) rendered at "source" resolution
(1280x720; ``--quick``: 640x360) and its resized-clip cache (``ego_cl.runners.resizing.build_cache``,
short side 320; ``--quick``: 160). Both pipelines feed a fresh ``tiny3d`` ``FinetuneLearner`` (built
by :func:`ego_cl.runners.engine.build.build_user_parts`), batch 4: ``predict`` on the unlabelled batch, then
``learn``.

- ``ours``: the learner's ``StreamLoader`` from ``build_user_parts`` (default ``stream.workers=1``;
  our PyAV reader decodes only the used frames, resized inside swscale).
- ``upstream``: pytorchvideo ``LabeledVideoDataset`` over the user's annotation windows after the
  ``first_action`` overlap policy (one entry per window, as EgoAdapt's continual dataset), a
  pytorchvideo ``UniformClipSampler`` run in window-relative time (EgoAdapt's "enhanced untrimmed"
  sampler), ``EncodedVideo`` PyAV decoding (``decode_audio=True``, every frame of the window to
  float at full resolution), a ``DataLoader(batch_size=4, shuffle=False, num_workers=2,
  pin_memory=<cuda>)`` as the original configured it for SGD, then uniform temporal subsampling and
  our ``EvalTransform``.

Both must produce the same samples: the multiset of ``(clip_uid, start, end, labels)`` is compared
(the upstream ``IterableDataset`` with 2 workers hands whole windows to each worker, so its batch
order differs; that is reported too).

    python -m benchmarks.upstream [--quick]

Targets: ours >= 5x upstream on the source videos, ours on the cache >= 20x upstream on the source.
Writes ``benchmarks/results/upstream.json``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import torch

from benchmarks.common import (
    cpu_count,
    headline,
    print_table,
    random_checkpoint,
    stats,
    synthetic_root,
    write_result,
)

KIND, N_FRAMES, SIDE, CROP = "tiny3d", 8, 64, 64
QUICK = {"source": (640, 360), "cache_side": 160, "eval_user_s": 50, "samples": 12}
FULL = {"source": (1280, 720), "cache_side": 320, "eval_user_s": 80, "samples": 32}
UPSTREAM_WORKERS = 2  # DATA_LOADER.NUM_WORKERS of the original SGD configs


def _overrides(root: Path, checkpoint: Path, video_dir: Path, n: int, threads: int | None) -> list[str]:
    pinned = [] if threads is None else [f"pool.threads_per_slot={threads}"]
    return [
        *pinned,
        f"data.ego4d_root={root}",
        f"data.video_dir={video_dir}",
        f"model.kind={KIND}",
        f"model.checkpoint={checkpoint}",
        "learner.kind=finetune",
        "stream.filter_unseen=false",
        "stream.batch_size=4",
        f"stream.max_samples={n}",
        f"stream.n_frames={N_FRAMES}",
        f"stream.side_px={SIDE}",
        f"stream.crop_px={CROP}",
    ]


def _parts(cfg):
    """The runner's parts (loader + learner) for the one user of ``cfg``; inputs loaded fresh."""
    from ego_cl.runners.engine.build import build_user_parts
    from ego_cl.runners.inputs import load_inputs, resolve_inputs

    loaded = load_inputs(cfg, resolve_inputs(cfg))
    (user,) = loaded.users
    torch.manual_seed(cfg.run.seed)
    parts = build_user_parts(
        cfg,
        user_id=user,
        annotations=loaded.users[user],
        source=loaded.source,
        network=copy.deepcopy(loaded.network),
        pretrain_actions=loaded.pretrain_actions,
        seen_verbs=loaded.seen_verbs,
        seen_nouns=loaded.seen_nouns,
    )
    return parts, loaded.users[user]


def _drive(learner, batches) -> tuple[list[float], list[tuple], float]:
    """Predict + learn over ``batches``; per-batch seconds (decode wait included), samples, total."""
    times, samples = [], []
    started = last = time.perf_counter()
    for batch, keys in batches:
        learner.predict(batch.without_labels())
        learner.learn(batch)
        now = time.perf_counter()
        times.append(now - last)
        last = now
        samples += keys
    return times, samples, time.perf_counter() - started


def run_ours(cfg) -> tuple[list[float], list[tuple], float]:
    from ego_cl.runners.inputs import build_stream

    parts, annotations = _parts(cfg)
    (user,) = {a.user_id for a in annotations}
    samples = build_stream(cfg.stream, annotations, user_id=user, pretrain_actions=frozenset()).samples

    def batches():
        for batch in parts.batches(0):
            yield batch, [_key_of(samples[int(i)]) for i in batch.indices]

    return _drive(parts.learner, batches())


def _key_of(sample) -> tuple:
    return (sample.clip_uid, sample.span.start_s, sample.span.end_s, tuple(sample.actions))


def upstream_windows(cfg, annotations, n_clips: int) -> tuple[list, int]:
    """The user's first windows after the overlap policy holding at least ``n_clips`` clips, and
    their exact clip count (both pipelines then stream exactly those clips)."""
    from ego_cl.streams.overlap import apply_overlap_policy, order_annotations, segments_from_annotations
    from ego_cl.streams.sampling import uniform_clip_count

    clip_s = cfg.stream.clip_s
    segments = segments_from_annotations(order_annotations(annotations))
    windows = apply_overlap_policy(segments, cfg.stream.overlap, min_remainder_s=clip_s).segments
    kept, n = [], 0
    for window in windows:
        if n >= n_clips:
            break
        kept.append(window)
        n += uniform_clip_count(window.span.duration_s, clip_s, clip_s)
    return kept, n


class _SpanRecorder:
    """Wraps the EgoAdapt-style sampler; stores each clip's absolute span in the sample's info."""

    def __init__(self, inner):
        self.inner = inner
        self._clip_duration = inner._clip_duration

    def __call__(self, last_end, video_duration, info):
        got = self.inner(last_end, video_duration, info)
        info["span"] = f"{got[0]}|{got[1]}"
        return got

    def reset(self):
        self.inner.reset()


class _UpstreamTransform:
    """pytorchvideo sample dict (float ``[C, T, H, W]``, every frame of the window) → our input."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, sample: dict) -> dict:
        from ego_cl.streams.transform import uniform_temporal_indices

        video = sample["video"]
        video = video[:, uniform_temporal_indices(video.shape[1], self.transform.n_frames)]
        clip = video.permute(1, 2, 3, 0).round().clamp(0, 255).to(torch.uint8)
        return {
            "video": self.transform(clip),
            "label": torch.tensor([sample["verb_label"], sample["noun_label"]]),
            "clip_uid": sample["clip_uid"],
            "span": sample["span"],
        }


def upstream_loader(video_dir: Path, windows, clip_s: Fraction):
    """EgoAdapt-style ``LabeledVideoDataset`` + ``DataLoader`` over ``windows``."""
    from pytorchvideo.data.clip_sampling import ClipInfo, ClipSampler
    from pytorchvideo.data.clip_sampling import UniformClipSampler as PtvUniform
    from pytorchvideo.data.labeled_video_dataset import LabeledVideoDataset

    from ego_cl.streams.transform import EvalTransform

    class WindowClipSampler(ClipSampler):
        """Uniform clips in window-relative time (EgoAdapt's 'enhanced untrimmed' sampler)."""

        def __init__(self, inner):
            super().__init__(inner._clip_duration)
            self.inner = inner

        def __call__(self, last_end, video_duration, info):
            start, end = info["clip_start_sec"], info["clip_end_sec"]
            got = self.inner(max(last_end - start, 0), end - start, info)
            return ClipInfo(got[0] + start, got[1] + start, got[2], got[3], got[4])

        def reset(self):
            self.inner.reset()

    entries = [
        (
            str(video_dir / f"{w.clip_uid}.mp4"),
            {
                "clip_uid": w.clip_uid,
                "clip_start_sec": w.span.start_s,
                "clip_end_sec": w.span.end_s,
                "verb_label": w.actions[0][0],
                "noun_label": w.actions[0][1],
            },
        )
        for w in windows
    ]
    dataset = LabeledVideoDataset(
        entries,
        clip_sampler=_SpanRecorder(WindowClipSampler(PtvUniform(clip_duration=clip_s))),
        video_sampler=torch.utils.data.SequentialSampler,
        transform=_UpstreamTransform(EvalTransform(n_frames=N_FRAMES, side_px=SIDE, crop_px=CROP)),
        decode_audio=True,
        decoder="pyav",
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=4,
        shuffle=False,
        num_workers=UPSTREAM_WORKERS,
        pin_memory=torch.cuda.is_available(),
    )


def run_upstream(cfg, video_dir: Path) -> tuple[list[float], list[tuple], float]:
    from ego_cl.types import Batch, Target

    parts, annotations = _parts(cfg)
    windows, _ = upstream_windows(cfg, annotations, cfg.stream.max_samples)
    counter = itertools.count()

    def batches():
        for raw in upstream_loader(video_dir, windows, cfg.stream.clip_s):
            labels = [[(int(v), int(n))] for v, n in raw["label"].tolist()]
            indices = torch.tensor([next(counter) for _ in labels])
            batch = Batch(indices=indices, clips=raw["video"], target=Target.from_label_sets(labels))
            keys = []
            for uid, span, label in zip(raw["clip_uid"], raw["span"], labels):
                start, end = (Fraction(t) for t in span.split("|"))
                keys.append((uid, start, end, tuple(label)))
            yield batch, keys

    return _drive(parts.learner, batches())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.upstream", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="360p source, 12 clips")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads of the learner (default: ours the pool's rule, cores - stream.workers; "
        "upstream torch's default, all cores, as the original)",
    )
    args = parser.parse_args(argv)
    setting = QUICK if args.quick else FULL
    import pytorchvideo.data.labeled_video_dataset  # noqa: F401  (import cost outside the timings)

    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.engine.pool import slot_threads
    from ego_cl.runners.resizing import build_cache

    width, height = setting["source"]
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_upstream_") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        root, _ = synthetic_root(
            home / "data",
            n_eval_users=1,
            n_train_users=0,
            n_pretrain_users=1,
            eval_user_s=setting["eval_user_s"],
            pretrain_user_s=12,
            nan_video_s=10,
            recordings_per_user=1,
            clip_s=setting["eval_user_s"],
            width=width,
            height=height,
        )
        prep_s = time.perf_counter() - started
        source_dir = root / "v1" / "clips"
        cache_dir = home / "cache"
        started = time.perf_counter()
        build_cache(source_dir, cache_dir, short_side=setting["cache_side"])
        cache_s = time.perf_counter() - started
        checkpoint = random_checkpoint(root, home / f"{KIND}.pt", KIND)
        probe = load_config(
            StreamRunConfig, overrides=_overrides(root, checkpoint, source_dir, setting["samples"], 1)
        )
        _, n_clips = upstream_windows(probe, _parts(probe)[1], setting["samples"])
        runs, keys, threads = {}, {}, {}
        for pipeline, video in (
            ("upstream", "source"),
            ("ours", "source"),
            ("ours", "cache"),
            ("upstream", "cache"),
        ):
            video_dir = source_dir if video == "source" else cache_dir
            overrides = _overrides(root, checkpoint, video_dir, n_clips, args.threads)
            cfg = load_config(StreamRunConfig, overrides=overrides)
            default = slot_threads(cpu_count(), 1, cfg.stream.workers) if pipeline == "ours" else cpu_count()
            threads[pipeline] = args.threads or default
            torch.set_num_threads(threads[pipeline])
            if pipeline == "ours":
                times, samples, total = run_ours(cfg)
            else:
                times, samples, total = run_upstream(cfg, video_dir)
            keys[pipeline, video] = samples
            runs[f"{pipeline}/{video}"] = {
                "pipeline": pipeline,
                "video": video,
                "n_clips": len(samples),
                "seconds": total,
                "clips_per_s": len(samples) / total,
                "batch_seconds": stats(times),
            }
            print(f"  {pipeline:8s} {video:6s}: {len(samples) / total:7.2f} clips/s", flush=True)
    ours_keys, up_keys = keys["ours", "source"], keys["upstream", "source"]
    same_set = sorted(ours_keys, key=repr) == sorted(up_keys, key=repr)
    same_order = ours_keys == up_keys
    rate = {k: r["clips_per_s"] for k, r in runs.items()}
    ratios = {
        "ours_source_vs_upstream_source": rate["ours/source"] / rate["upstream/source"],
        "ours_cache_vs_upstream_source": rate["ours/cache"] / rate["upstream/source"],
        "ours_cache_vs_upstream_cache": rate["ours/cache"] / rate["upstream/cache"],
    }
    print(f"\nupstream vs ours ({KIND} finetune, batch 4, {N_FRAMES}x{CROP}², source {width}x{height})")
    print_table(
        ("pipeline", "video", "clips", "clips/s", "median batch s"),
        [
            (r["pipeline"], r["video"], r["n_clips"], r["clips_per_s"], r["batch_seconds"]["median"])
            for r in runs.values()
        ],
    )
    for name, value in ratios.items():
        print(f"{name}: {value:.1f}x")
    print(f"same samples (spans + labels): {same_set}; same order: {same_order}")
    note = f"same samples: {same_set}"
    summary = {
        "rows": [
            headline(
                "upstream: ours / upstream, source video",
                ratios["ours_source_vs_upstream_source"],
                ">= 5",
                ratios["ours_source_vs_upstream_source"] >= 5,
                note,
            ),
            headline(
                "upstream: ours on cache / upstream on source",
                ratios["ours_cache_vs_upstream_source"],
                ">= 20",
                ratios["ours_cache_vs_upstream_source"] >= 20,
                note,
            ),
            headline(
                "upstream: ours / upstream, both on cache",
                ratios["ours_cache_vs_upstream_cache"],
                "",
                None,
                "informational",
            ),
        ]
    }
    params = {
        "quick": args.quick,
        "model": KIND,
        "input": {"n_frames": N_FRAMES, "side_px": SIDE, "crop_px": CROP},
        "source_size": [width, height],
        "cache_short_side": setting["cache_side"],
        "samples": setting["samples"],
        "upstream_workers": UPSTREAM_WORKERS,
        "threads": threads,
        "prep_s": prep_s,
        "cache_build_s": cache_s,
    }
    results = {"runs": runs, "ratios": ratios, "same_samples": same_set, "same_order": same_order}
    write_result("upstream", params=params, results=results, summary=summary)
    return 0 if same_set else 1


if __name__ == "__main__":
    sys.exit(main())
