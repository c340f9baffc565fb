"""Clips/s of the ego_cl stream loader vs an upstream-style pytorchvideo pipeline.

Both pipelines read the same user stream (first_action policy, 32/15-s uniform clips) of the
first evaluation user of the synthetic Ego4D-format dataset (``ego_cl.data.synthetic``, loaded
with ``ego_cl.data.records``), from the same H.264 files, and apply the same ``EvalTransform``;
batches of 4 in stream order.

- ``ours``: ``StreamLoader`` (map-style dataset, persistent workers, our PyAV reader that decodes
  each frame of the stream once and converts only the ``n_frames`` frames it returns, resized to
  the transform's short side inside swscale, as the stream runner's source does; 1 decoder thread
  per worker).
- ``upstream``: pytorchvideo ``LabeledVideoDataset`` over one entry per stream sample (as the
  EgoAdapt continual dataset: the video is re-opened per clip, ``decode_audio=True``), a
  ``UniformClipSampler`` in window-relative time, ``EncodedVideo`` PyAV decoding of every frame of
  the window to float, then uniform temporal subsampling.

Each is run at source resolution and, for ours, on the resized copy (the resized-clip cache:
the same clips encoded at a short side of 160 px in ``--quick``, 320 px otherwise), with 0 and
2 workers. Sources: 640x360 (``--quick``) or 1280x720.

- ``every``: ours with ``skip_nonref=False``, decoding every frame it passes (the reader before
  round 6 of issue 17): what skipping unshown non-reference frames gains.
- ``bound``: the decode-once bound of the same stream on the source (``benchmarks.decode_bound``:
  every frame of each needed video, from its start to its last used frame, decoded once, the used
  frames converted at the same size, one decoder thread, in 1 or 2 processes, start-up excluded):
  what a loader that decodes every frame up to the last it needs costs. This stream's clips are
  sparse (one per action, gaps of seconds), and ours seeks past gaps longer than about a GOP, so
  ours may beat this bound; ``bound / upstream`` shows how much of the gain is decoding once.
- ``bound_skip``: the same bound, except that non-reference frames no sample shows are not
  decoded (chosen from the whole file's timestamps): the limit of a decoder that skips as ours does.

    python -m benchmarks.loader [--quick]

Prints a table and writes ``benchmarks/results/loader.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import torch

from benchmarks.decode_bound import measure_bound
from ego_cl.data.config import SyntheticConfig
from ego_cl.data.records import load_lta_file, load_metadata
from ego_cl.data.synthetic import plan_dataset
from ego_cl.data.synthetic_render import encode_clip
from ego_cl.data.video import ClipReader
from ego_cl.streams.loader import StreamLoader
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import build_user_stream
from ego_cl.streams.transform import EvalTransform, uniform_temporal_indices
from ego_cl.types import ActionAnnotation, Span, StreamSample

CLIP_S = Fraction(32, 15)
RESULTS = Path(__file__).parent / "results" / "loader.json"
QUICK = {"user_s": 120, "source_size": (640, 360), "cache_size": (284, 160), "repeats": 1, "max_samples": 40}
# The per-clip rates do not depend on the video's length: the full run encodes 110 s of 720p (enough
# for the 40-clip passes of ``make bench``), not a whole 5-minute user.
FULL = {"user_s": 110, "source_size": (1280, 720), "cache_size": (568, 320), "repeats": 3, "max_samples": 40}


class FileSource:
    """A minimal ``StreamSource`` over ``<video_dir>/<clip_uid>.mp4`` with ``ClipReader``."""

    def __init__(
        self,
        video_dir: Path,
        annotations: Sequence[ActionAnnotation],
        *,
        thread_count: int,
        short_side: int,
        skip: bool = True,
    ):
        self.video_dir = Path(video_dir)
        self._annotations = tuple(annotations)
        self.reader = ClipReader(short_side=short_side, thread_count=thread_count, skip_nonref=skip)

    def users(self) -> list[str]:
        return ["u1"]

    def annotations(self, user_id: str) -> Sequence[ActionAnnotation]:
        return self._annotations

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        return torch.from_numpy(self.reader.read(self.video_dir / f"{clip_uid}.mp4", span, n_frames))


def make_dataset(
    root: Path, *, user_s: int, sizes: dict[str, tuple[int, int]], seed: int = 0
) -> list[ActionAnnotation]:
    """Plan the synthetic Ego4D-format dataset (``ego_cl.data.synthetic``), load its annotation
    files with ``ego_cl.data.records``, and encode the first evaluation user's clip videos once per
    size under ``root/<size name>/``. Returns that user's annotations (file order)."""
    config = SyntheticConfig(
        seed=seed, n_eval_users=1, n_train_users=0, n_pretrain_users=1, eval_user_s=user_s, pretrain_user_s=30
    )
    dataset = plan_dataset(config)
    for path, document in dataset.documents.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(json.dumps(document))
    metadata = load_metadata(root / "ego4d.json")
    annotations = [
        a
        for split in ("train", "val")
        for a in load_lta_file(root / f"v1/annotations/fho_lta_{split}.json", metadata=metadata).annotations
    ]
    by_user = Counter(a.user_id for a in annotations if a.user_id is not None)
    user = by_user.most_common(1)[0][0]
    mine = [a for a in annotations if a.user_id == user]
    clip_uids = {a.clip_uid for a in mine}
    for spec in dataset.clips:
        if spec.clip_uid not in clip_uids:
            continue
        for name, (width, height) in sizes.items():
            out = root / name
            out.mkdir(parents=True, exist_ok=True)
            data = encode_clip(spec, width=width, height=height, fps=config.fps, n_nouns=config.n_nouns)
            (out / f"{spec.clip_uid}.mp4").write_bytes(data)
    return mine


def _time_ours(video_dir, annotations, samples, transform, n_frames, workers, skip=True) -> tuple[float, int]:
    # Decode-time resize to the transform's short side, as the runner's source (``stream.side_px``).
    threads = 1 if workers else 0
    source = FileSource(video_dir, annotations, thread_count=threads, short_side=transform.side_px, skip=skip)
    start = time.perf_counter()
    loader = StreamLoader(source, samples, transform, n_frames=n_frames, workers=workers, cache_bytes=0)
    n = sum(len(batch) for batch in loader)
    seconds = time.perf_counter() - start
    source.reader.close()
    return seconds, n


class _UpstreamTransform:
    """pytorchvideo sample dict → our ``EvalTransform`` on the uniformly subsampled frames."""

    def __init__(self, transform: EvalTransform):
        self.transform = transform

    def __call__(self, sample: dict) -> dict:
        video = sample["video"]  # float [C, T, H, W], 0..255, every frame of the window
        video = video[:, uniform_temporal_indices(video.shape[1], self.transform.n_frames)]
        clip = video.permute(1, 2, 3, 0).round().clamp(0, 255).to(torch.uint8)
        return {
            "video": self.transform(clip),
            "label": torch.tensor([sample["verb_label"], sample["noun_label"]]),
        }


def _upstream_dataset(video_dir: Path, samples: Sequence[StreamSample], transform: EvalTransform):
    from pytorchvideo.data.clip_sampling import ClipInfo, ClipSampler
    from pytorchvideo.data.clip_sampling import UniformClipSampler as PtvUniform
    from pytorchvideo.data.labeled_video_dataset import LabeledVideoDataset

    class EntryClipSampler(ClipSampler):
        """The EgoAdapt 'enhanced untrimmed' sampler: uniform clips in entry-relative time."""

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
            str(video_dir / f"{s.clip_uid}.mp4"),
            {
                "clip_start_sec": s.span.start_s,
                "clip_end_sec": s.span.end_s,
                "verb_label": s.action[0],
                "noun_label": s.action[1],
            },
        )
        for s in samples
    ]
    return LabeledVideoDataset(
        entries,
        clip_sampler=EntryClipSampler(PtvUniform(clip_duration=CLIP_S)),
        video_sampler=torch.utils.data.SequentialSampler,
        transform=_UpstreamTransform(transform),
        decode_audio=True,
        decoder="pyav",
    )


def _time_upstream(video_dir, samples, transform, workers) -> tuple[float, int]:
    start = time.perf_counter()
    dataset = _upstream_dataset(video_dir, samples, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=workers)
    n = sum(int(batch["video"].shape[0]) for batch in loader)
    return time.perf_counter() - start, n


def _time_pipeline(entry: tuple[str, str, int], root: Path, annotations, samples, transform, args) -> float:
    """Seconds of one pass of ``(pipeline, video, workers)`` over ``samples``."""
    pipeline, size, workers = entry
    if pipeline in ("bound", "bound_skip"):  # the decode-once bounds (see the module docstring)
        bound = measure_bound(
            root / size, samples, args.frames, args.side, max(1, workers), skip=pipeline == "bound_skip"
        )
        return len(samples) / bound["steady_clips_per_s"]
    if pipeline == "upstream":
        seconds, n = _time_upstream(root / size, samples, transform, workers)
    else:
        skip = pipeline == "ours"
        seconds, n = _time_ours(root / size, annotations, samples, transform, args.frames, workers, skip)
    if n != len(samples):
        raise RuntimeError(f"{pipeline} delivered {n} of {len(samples)} clips")
    return seconds


def _summary(times: list[float], n: int) -> dict:
    rates = [n / t for t in times]
    return {
        "n_clips": n,
        "seconds": {"min": min(times), "median": statistics.median(times), "max": max(times), "raw": times},
        "clips_per_s": {"min": min(rates), "median": statistics.median(rates), "max": max(rates)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small videos and stream, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--frames", type=int, default=8, help="frames per clip (StreamConfig.n_frames)")
    parser.add_argument("--side", type=int, default=64, help="short side after resize (StreamConfig.side_px)")
    parser.add_argument("--crop", type=int, default=64, help="centre crop (StreamConfig.crop_px)")
    parser.add_argument("--max-samples", type=int, default=None, help="clips per pass")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the calling process")
    args = parser.parse_args(argv)

    setting = QUICK if args.quick else FULL
    user_s = setting["user_s"]
    source_size, cache_size = setting["source_size"], setting["cache_size"]
    repeats, max_samples = setting["repeats"], setting["max_samples"]
    repeats = args.repeats or repeats
    max_samples = args.max_samples or max_samples
    transform = EvalTransform(n_frames=args.frames, side_px=args.side, crop_px=args.crop)
    # One torch thread in the calling process for both pipelines: on a shared 2-core machine two
    # OpenMP threads made the per-clip transform ~25x slower (spin-waiting under contention).
    torch.set_num_threads(args.threads)
    import pytorchvideo.data.labeled_video_dataset  # noqa: F401  (import cost outside the timings)

    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_loader_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        annotations = make_dataset(root, user_s=user_s, sizes={"source": source_size, "cache": cache_size})
        encode_s = time.perf_counter() - t0
        stream = build_user_stream(
            annotations,
            user_id="u1",
            policy="first_action",
            sampler=UniformClipSampler(clip_s=CLIP_S),
            clip_s=CLIP_S,
            filter_unseen=False,
            max_samples=max_samples,
        )
        samples = stream.samples
        # One repeat runs every pipeline once, each of ours beside upstream with the same workers,
        # so the host's drift (about 20% within minutes here) moves them alike.
        plan = [
            (pipeline, "source", workers)
            for workers in (0, 2)
            for pipeline in ("upstream", "ours", "every", "bound", "bound_skip")
        ] + [("ours", "cache", 0), ("ours", "cache", 2)]
        times: dict[tuple[str, str, int], list[float]] = {entry: [] for entry in plan}
        for repeat in range(repeats):
            for entry in plan:
                gc.collect()  # no PyAV container of an earlier run may be collected in a forked worker
                times[entry].append(_time_pipeline(entry, root, annotations, samples, transform, args))
                rate = len(samples) / times[entry][-1]
                print(
                    f"  {repeat}: {entry[0]:10s} {entry[1]:6s} workers={entry[2]}: {rate:7.2f} clips/s",
                    flush=True,
                )
        runs: dict[str, dict] = {
            f"{pipeline}/{size}/w{workers}": {
                "pipeline": pipeline,
                "video": size,
                "workers": workers,
                **_summary(times[(pipeline, size, workers)], len(samples)),
            }
            for pipeline, size, workers in plan
        }

    base = {w: runs[f"upstream/source/w{w}"]["clips_per_s"]["median"] for w in (0, 2)}
    for run in runs.values():
        run["speedup_vs_upstream_source_same_workers"] = run["clips_per_s"]["median"] / base[run["workers"]]

    print(
        f"\nloader benchmark ({len(samples)} clips, {args.frames} frames, side {args.side}, crop {args.crop})"
    )
    header = ("pipeline", "video", "workers", "clips/s (median)", "min", "max", "x upstream")
    print("{:10s} {:20s} {:>7s} {:>17s} {:>7s} {:>7s} {:>10s}".format(*header))
    for run in runs.values():
        res = source_size if run["video"] == "source" else cache_size
        video = f"{run['video']} {res[0]}x{res[1]}"
        rate = run["clips_per_s"]
        speedup = run["speedup_vs_upstream_source_same_workers"]
        print(
            f"{run['pipeline']:10s} {video:20s} {run['workers']:7d} {rate['median']:17.2f} "
            f"{rate['min']:7.2f} {rate['max']:7.2f} {speedup:10.2f}"
        )

    result = {
        "benchmark": "loader",
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": _cpus()},
        "versions": _versions(),
        "params": {
            "quick": args.quick,
            "repeats": repeats,
            "user_annotated_s": user_s,
            "n_video_files": len({a.clip_uid for a in annotations}),
            "source_size": source_size,
            "cache_size": cache_size,
            "fps": 30,
            "stream_clips": len(samples),
            "clip_s": str(CLIP_S),
            "n_frames": args.frames,
            "side_px": args.side,
            "crop_px": args.crop,
            "batch_size": 4,
            "torch_threads": args.threads,
            "encode_s": encode_s,
        },
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwrote {RESULTS}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def _versions() -> dict[str, str]:
    import av
    import pytorchvideo
    import torchvision

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "av": av.__version__,
        "pytorchvideo": getattr(pytorchvideo, "__version__", "0.1.5"),
    }


if __name__ == "__main__":
    sys.exit(main())
