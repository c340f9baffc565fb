"""Decode-once bound: the stream loader against decoding every frame of the needed videos once.

A user stream at source resolution (1280x720, 30 fps H.264, panning noise texture, one slice per
frame) of consecutive 32/15-s clips: ``copies`` links to one generated video, each link a separate
video of the stream (the reader and the bound treat them as different files), so a stream of
``copies * clips_per_video`` clips (300 in the full run) needs that many seconds of video. Two
sources: ``long`` GOP (a keyframe every 5 s, scene cuts off: like camera files) and ``short`` GOP
(1 s).

- **(a) bound**: every frame of every needed video decoded once with PyAV, in stream order, and
  only the frames the stream uses converted to RGB at the reader's output size (same swscale call
  as the reader); ``workers`` processes with 1 decoder thread each (the loader's threads), videos
  dealt to them in order. Pool start-up is reported separately; "whole" includes it.
- **(a') bound skipping unshown frames**: the same, except that the H.264 non-reference frames on
  screen at no sample instant are not decoded (``skip_frame``, chosen from the whole file's
  timestamps, read untimed beforehand). This is the limit of a decoder that, like ours since round
  6, decodes only the reference frames and the shown ones: the loader can beat (a).
- **(b) loader**: :class:`~ego_cl.streams.loader.StreamLoader` alone (``workers`` decode workers,
  1 decoder thread each, decode-time resize to ``--side``, ``EvalTransform``), clips/s over the
  whole stream (construction to last batch: worker start included) and in steady state (slope of
  clips delivered over time between the first and the third quarter of the stream).
- **before / after** on the long-GOP source: the loader with the old reader and round-robin
  batches (``forward_s=None, run_batches=1``) vs the new one; and the reader alone in this process
  (old reader that seeks for every clip vs the one that decodes forward).
- **(c) runner with a model**: measured by :mod:`benchmarks.end_to_end` (the stream runner with
  tiny3d and x3d_xs over a 300-clip stream read from the resized cache, against
  ``min(compute-only, loader alone)`` of the same stream, whole and steady state), not on this
  720p source: the runner reads the cache, and a model on 720p frames measures nothing new.

    python -m benchmarks.decode_bound [--quick] [--workers 2] [--video-s S --copies N]

Prints a table and writes ``benchmarks/results/decode_bound.json``. Target: loader ÷ bound ≥ 0.8
on the long-GOP source.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from benchmarks.common import cpu_count, cpu_seconds, headline, print_table, write_result
from benchmarks.videos import write_panning_video
from ego_cl.data.codec import scaler_threads
from ego_cl.data.video import ClipReader, output_size, sample_times, select_frames
from ego_cl.streams.loader import StreamLoader
from ego_cl.streams.transform import EvalTransform
from ego_cl.types import ActionAnnotation, Span, StreamSample

FPS = 30
CLIP_S = Fraction(64, 30)
SIZE = (1280, 720)
GOPS = {"long": 150, "short": 30}
QUICK = {"video_s": 20, "copies": 2, "reader_clips": 9}
FULL = {"video_s": 64, "copies": 10, "reader_clips": 60}


def make_video(path: Path, *, size: tuple[int, int], seconds: int, gop: int, seed: int = 0) -> None:
    """A panning noise-texture H.264 video with a fixed keyframe interval of ``gop`` frames."""
    g = str(gop)
    options = {"crf": "23", "preset": "veryfast", "g": g, "keyint_min": g, "sc_threshold": "0"}
    write_panning_video(path, size=size, seconds=seconds, options=options, fps=FPS, seed=seed)


def keyframe_interval_s(path: Path) -> float:
    """Mean keyframe interval (demux only)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys = [
            p.pts * stream.time_base for p in container.demux(stream) if p.is_keyframe and p.pts is not None
        ]
    keys.sort()
    return float((keys[-1] - keys[0]) / (len(keys) - 1)) if len(keys) > 1 else float("inf")


def user_stream(video_s: int, copies: int) -> list[StreamSample]:
    """Consecutive clips over ``copies`` videos ``v0..``: ``[k * CLIP_S, (k + 1) * CLIP_S)``."""
    per_video = int(Fraction(video_s) / CLIP_S)
    samples = []
    for c in range(copies):
        for k in range(per_video):
            samples.append(
                StreamSample(
                    index=len(samples),
                    user_id="u",
                    clip_uid=f"v{c}",
                    video_uid=f"v{c}",
                    span=Span(k * CLIP_S, (k + 1) * CLIP_S),
                    actions=((0, 0),),
                    annotation_index=len(samples),
                    clip_index=0,
                )
            )
    return samples


class DirSource:
    """A minimal ``StreamSource`` over ``<video_dir>/<clip_uid>.mp4``."""

    def __init__(
        self,
        video_dir: Path,
        *,
        short_side: int,
        thread_count: int,
        forward_s: float | None,
        skip: bool = True,
    ):
        self.video_dir = Path(video_dir)
        self.reader = ClipReader(
            short_side=short_side, thread_count=thread_count, forward_s=forward_s, skip_nonref=skip
        )

    def users(self) -> list[str]:
        return ["u"]

    def annotations(self, user_id: str) -> Sequence[ActionAnnotation]:
        return ()

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        return torch.from_numpy(self.reader.read(self.video_dir / f"{clip_uid}.mp4", span, n_frames))


# --- (a) the bound ---------------------------------------------------------------------------------


def shown_pts(path: str, targets: Sequence[Fraction]) -> set[int]:
    """Timestamps of the frames on screen at ``targets``, from every packet's timestamp (demux only)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        start_pts, base = stream.start_time or 0, stream.time_base
        pts = sorted({p.pts for p in container.demux(stream) if p.pts is not None})
    times = [(p - start_pts) * base for p in pts]
    return {pts[i] for i in select_frames(times, targets)}


def decode_once(job: tuple[str, list[Fraction], int, bool]) -> dict[str, Any]:
    """Decode every frame of one video once; convert the frames on screen at the sample instants.

    With ``skip``, the non-reference frames not on screen at any instant are not decoded (the
    whole file's timestamps are read first, untimed, so the choice is exact)."""
    path, targets, short_side, skip = job
    shown = shown_pts(path, targets) if skip else set()
    started = time.perf_counter()
    decoded = converted = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.codec_context.thread_count = "AUTO", 1
        codec = stream.codec_context
        start_pts, base = stream.start_time or 0, stream.time_base
        width, height = output_size(codec.width, codec.height, short_side)
        next_target, previous = 0, None
        # One scaler thread, as the loader's decode workers convert.
        size = {"width": width, "height": height, "format": "rgb24", "interpolation": "BILINEAR"}
        size.update(scaler_threads(1))
        for packet in container.demux(stream):
            if skip:
                codec.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in shown else "NONREF"
            for frame in codec.decode(packet):
                decoded += 1
                time_s = (frame.pts - start_pts) * base
                if next_target < len(targets) and targets[next_target] < time_s and previous is not None:
                    previous.to_ndarray(**size)
                    converted += 1
                while next_target < len(targets) and targets[next_target] < time_s:
                    next_target += 1
                previous = frame
            if next_target == len(targets):
                break  # the reader stops here too: later frames are not needed
        if next_target < len(targets) and previous is not None:
            previous.to_ndarray(**size)
            converted += 1
    return {"decoded": decoded, "converted": converted, "seconds": time.perf_counter() - started}


def _noop(_: int) -> int:
    return 0


def measure_bound(
    video_dir: Path,
    samples: Sequence[StreamSample],
    n_frames: int,
    side: int,
    workers: int,
    skip: bool = False,
) -> dict:
    """(a): every frame of the stream's videos decoded once by ``workers`` processes (with ``skip``:
    every frame but the non-reference ones no sample shows)."""
    targets: dict[str, list[Fraction]] = {}
    for s in samples:
        targets.setdefault(s.clip_uid, []).extend(sample_times(s.span, n_frames))
    jobs = [(str(video_dir / f"{uid}.mp4"), sorted(set(t)), side, skip) for uid, t in targets.items()]
    # PyAV containers are freed by the cyclic collector (container <-> stream). One left over from
    # a frame-threaded decoder in this process and collected in a forked child waits forever for
    # its decoder threads, which a fork does not copy: collect them here, before the fork.
    gc.collect()
    cpu = cpu_seconds()
    started = time.perf_counter()
    pool = multiprocessing.get_context("fork").Pool(max(1, workers))
    pool.map(_noop, range(max(1, workers)))
    startup_s = time.perf_counter() - started
    t0 = time.perf_counter()
    per_video = pool.map(decode_once, jobs, chunksize=1)
    decode_s = time.perf_counter() - t0
    pool.close()
    pool.join()
    n = len(samples)
    return {
        "cpu_s": cpu_seconds() - cpu,
        "startup_s": startup_s,
        "decode_s": decode_s,
        "frames_decoded": sum(v["decoded"] for v in per_video),
        "frames_converted": sum(v["converted"] for v in per_video),
        "whole_clips_per_s": n / (startup_s + decode_s),
        "steady_clips_per_s": n / decode_s,
    }


# --- (b) the loader ----------------------------------------------------------------------------------


def measure_loader(
    video_dir: Path,
    samples: Sequence[StreamSample],
    transform: EvalTransform,
    *,
    workers: int,
    side: int,
    forward_s: float | None,
    run_batches: int,
    batch_size: int,
    skip: bool = True,
) -> dict:
    """(b): one pass of the stream loader; arrival time of every batch."""
    threads = 1 if workers else 0
    source = DirSource(video_dir, short_side=side, thread_count=threads, forward_s=forward_s, skip=skip)
    cpu = cpu_seconds()
    started = time.perf_counter()
    loader = StreamLoader(
        source,
        samples,
        transform,
        n_frames=transform.n_frames,
        batch_size=batch_size,
        workers=workers,
        run_batches=run_batches,
        cache_bytes=0,
    )
    arrivals = []
    n = 0
    for batch in loader:
        n += len(batch)
        arrivals.append((time.perf_counter() - started, n))
    del loader
    gc.collect()  # shut the workers down, so that their CPU time is counted
    end_s = arrivals[-1][0]
    return {
        "clips": n,
        "cpu_s": cpu_seconds() - cpu,
        "first_batch_s": arrivals[0][0],
        "whole_s": end_s,
        "whole_clips_per_s": n / end_s,
        "steady_clips_per_s": steady_rate(arrivals),
    }


def steady_rate(arrivals: Sequence[tuple[float, int]]) -> float:
    """Clips/s in steady state: least-squares slope of clips delivered against time over the
    batches between the first and the third quarter of the stream (the prefetch and reorder
    buffers are full there; contiguous runs arrive in bursts, which the fit averages over)."""
    n = arrivals[-1][1]
    middle = [(t, k) for t, k in arrivals if n / 4 <= k <= 3 * n / 4]
    if len(middle) < 2 or middle[-1][0] <= middle[0][0]:
        return float("nan")
    times, counts = np.array(middle, dtype=float).T
    return float(np.polyfit(times, counts, 1)[0])


def measure_reader(
    video_dir: Path, samples: Sequence[StreamSample], n_frames: int, side: int, forward_s, skip: bool
) -> dict:
    """The reader alone in this process, 1 decoder thread, clips in stream order."""
    reader = ClipReader(short_side=side, thread_count=1, forward_s=forward_s, skip_nonref=skip)
    started = time.perf_counter()
    for s in samples:
        reader.read(video_dir / f"{s.clip_uid}.mp4", s.span, n_frames)
    seconds = time.perf_counter() - started
    reader.close()
    return {"clips": len(samples), "seconds": seconds, "clips_per_s": len(samples) / seconds}


# --- main ----------------------------------------------------------------------------------------------


def _prepare(root: Path, name: str, gop: int, video_s: int, copies: int) -> dict:
    directory = root / name
    directory.mkdir()
    master = directory / "master.mp4"
    started = time.perf_counter()
    make_video(master, size=SIZE, seconds=video_s, gop=gop)
    for c in range(copies):
        (directory / f"v{c}.mp4").symlink_to(master)
    return {
        "dir": directory,
        "encode_s": time.perf_counter() - started,
        "keyframe_s": keyframe_interval_s(master),
    }


def _rows(results: dict) -> list[dict]:
    rows = []
    for bound, label in (
        ("bound", "decode-once bound"),
        ("bound_skip", "decode-once bound skipping unshown"),
    ):
        for name, r in results["sources"].items():
            for part in ("whole", "steady"):
                ratio = r["loader"][f"{part}_clips_per_s"] / r[bound][f"{part}_clips_per_s"]
                r[f"loader_vs_{bound}_{part}"] = ratio
                targeted = bound == "bound" and name == "long"
                rows.append(
                    headline(
                        f"decode_bound: loader / {label}, {name} GOP, {part}",
                        ratio,
                        ">= 0.8" if targeted else "",
                        ratio >= 0.8 if targeted else None,
                        f"{r['loader'][part + '_clips_per_s']:.2f} vs "
                        f"{r[bound][part + '_clips_per_s']:.2f} clips/s; frames decoded "
                        f"{r[bound]['frames_decoded']}",
                    )
                )
    for name, r in results["sources"].items():
        ratio = r["bound_skip"]["cpu_s"] / r["loader"]["cpu_s"]
        r["loader_vs_bound_cpu"] = ratio
        rows.append(
            headline(
                f"decode_bound: bound skipping unshown CPU-s / loader CPU-s, {name} GOP (load-robust)",
                ratio,
                "",
                None,
                f"{r['bound_skip']['cpu_s']:.1f} vs {r['loader']['cpu_s']:.1f} CPU-s; bound decoding "
                f"every frame {r['bound']['cpu_s']:.1f} CPU-s",
            )
        )
    long = results["sources"].get("long", {})
    if "loader_before" in long:
        before = "seek per clip, round-robin, every frame decoded"
        speedup = long["loader"]["whole_s"] and long["loader_before"]["whole_s"] / long["loader"]["whole_s"]
        rows.append(headline(f"decode_bound: loader new / old ({before}), long GOP", speedup, "", None))
        cpu = long["loader_before"]["cpu_s"] / long["loader"]["cpu_s"]
        rows.append(headline("decode_bound: loader CPU-s old / new, long GOP", cpu, "", None))
        reader = long["reader_before"]["seconds"] / long["reader_after"]["seconds"]
        rows.append(
            headline(f"decode_bound: reader new / old ({before}), in-process, long GOP", reader, "", None)
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.decode_bound", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="a 36-s stream of 18 clips")
    parser.add_argument("--workers", type=int, default=min(2, cpu_count()))
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--side", type=int, default=160, help="decode-time short side (and transform side)")
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--run-batches", type=int, default=4, help="StreamLoader.run_batches")
    parser.add_argument("--video-s", type=int, default=None, help="seconds per video (default: the mode's)")
    parser.add_argument("--copies", type=int, default=None, help="videos in the stream (default: the mode's)")
    args = parser.parse_args(argv)
    setting = dict(QUICK if args.quick else FULL)
    setting.update({k: v for k, v in (("video_s", args.video_s), ("copies", args.copies)) if v is not None})
    torch.set_num_threads(1)
    transform = EvalTransform(n_frames=args.frames, side_px=args.side, crop_px=args.crop)
    samples = user_stream(setting["video_s"], setting["copies"])
    loader_args = {"workers": args.workers, "side": args.side, "batch_size": args.batch}
    results: dict[str, Any] = {"clips": len(samples), "sources": {}}
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_decode_bound_") as tmp:
        for name, gop in GOPS.items():
            prep = _prepare(Path(tmp), name, gop, setting["video_s"], setting["copies"])
            video_dir = prep.pop("dir")
            r = results["sources"][name] = {"gop_frames": gop, **prep}
            print(
                f"{name} GOP ({prep['keyframe_s']:.2f} s between keyframes), {len(samples)} clips", flush=True
            )
            r["bound"] = measure_bound(video_dir, samples, args.frames, args.side, args.workers)
            r["bound_skip"] = measure_bound(
                video_dir, samples, args.frames, args.side, args.workers, skip=True
            )
            r["loader"] = measure_loader(
                video_dir, samples, transform, forward_s=4, run_batches=args.run_batches, **loader_args
            )
            if name == "long":
                r["loader_before"] = measure_loader(
                    video_dir, samples, transform, forward_s=None, run_batches=1, skip=False, **loader_args
                )
                few = samples[: setting["reader_clips"]]
                r["reader_before"] = measure_reader(video_dir, few, args.frames, args.side, None, False)
                r["reader_after"] = measure_reader(video_dir, few, args.frames, args.side, 4, True)
    rows = _rows(results)
    print_table(
        [
            "source",
            "bound",
            "whole",
            "steady",
            "loader whole",
            "loader steady",
            "ratio whole",
            "ratio steady",
        ],
        [
            [
                name,
                bound,
                r[bound]["whole_clips_per_s"],
                r[bound]["steady_clips_per_s"],
                r["loader"]["whole_clips_per_s"],
                r["loader"]["steady_clips_per_s"],
                r[f"loader_vs_{bound}_whole"],
                r[f"loader_vs_{bound}_steady"],
            ]
            for name, r in results["sources"].items()
            for bound in ("bound", "bound_skip")
        ],
    )
    for row in rows[8:]:
        print(f"{row['metric']}: {row['value']:.2f}")
    params = {**setting, **vars(args), "size": SIZE, "gops": GOPS, "clip_s": str(CLIP_S)}
    write_result("decode_bound", params=params, results=results, summary={"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
