"""Random-access clip decoding: ego_cl's PyAV reader vs pytorchvideo's ``EncodedVideo`` (PyAV backend).

A clip is 32 frames spread over a 64-frame (32/15-s) window at a random position, returned with
a short side of 320 px. Both readers decode the same files:

- ``source``: a generated high-resolution H.264 file (1920x1080, ``--quick``: 1280x720), camera
  panning over a multi-octave noise texture, libx264 veryfast crf 21, one slice per frame;
- ``cache``: the same video through ``ego_cl.data.cache.resize_video`` (short side 320, crf 28),
  i.e. what ``python -m ego_cl.runners.resize`` writes.

``ours`` = :class:`ego_cl.data.video.ClipReader` (container kept open, seek + forward decode,
only the 32 used frames converted and resized inside swscale, AUTO threading).
``pytorchvideo`` = ``EncodedVideo.from_path(path, decode_audio=False, decoder="pyav")``, kept
open, ``get_clip(start, end)`` (every frame of the window converted at full resolution), then
uniform temporal subsampling and a bilinear short-side resize to 320 (pytorchvideo's own
transforms do not import with current torchvision, so those two steps are inlined).

    python -m benchmarks.decode [--quick]

Prints a table and writes ``benchmarks/results/decode.json``. Targets: ours >= 3x pytorchvideo on
the same file; ours on the cache >= 10x ours on the 1080p source.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import torch

from benchmarks.videos import write_panning_video
from ego_cl.data.cache import resize_video
from ego_cl.data.video import ClipReader
from ego_cl.types import Span

RESULTS = Path(__file__).parent / "results" / "decode.json"
WINDOW_S = Fraction(64, 30)
N_FRAMES = 32
SHORT_SIDE = 320
QUICK = {"size": (1280, 720), "seconds": 12, "clips": 4}
FULL = {"size": (1920, 1080), "seconds": 20, "clips": 6}


def make_source(path: Path, size: tuple[int, int], seconds: int, seed: int = 0) -> None:
    """A panning noise-texture video (realistic motion and bitrate, unlike a test pattern)."""
    options = {"crf": "21", "preset": "veryfast"}
    write_panning_video(path, size=size, seconds=seconds, options=options, seed=seed)


def pytorchvideo_reader(path: Path):
    """``EncodedVideo`` kept open; full-window decode, then subsample + short-side resize."""
    from pytorchvideo.data.encoded_video import EncodedVideo

    video = EncodedVideo.from_path(str(path), decode_audio=False, decoder="pyav")

    def read(span: Span) -> torch.Tensor:
        clip = video.get_clip(float(span.start_s), float(span.end_s))["video"]  # float [C, T, H, W]
        t = clip.shape[1]
        clip = clip[:, torch.linspace(0, t - 1, N_FRAMES).clamp(0, t - 1).long()]
        h, w = clip.shape[-2:]
        size = (SHORT_SIDE, round(w * SHORT_SIDE / h)) if h <= w else (round(h * SHORT_SIDE / w), SHORT_SIDE)
        return torch.nn.functional.interpolate(clip, size=size, mode="bilinear", align_corners=False)

    return read


def ours_reader(path: Path, resize: bool):
    reader = ClipReader(short_side=SHORT_SIDE if resize else None, thread_type="AUTO")
    return lambda span: reader.read(path, span, N_FRAMES)


def time_reader(read, spans: list[Span]) -> list[float]:
    read(spans[0])  # warm-up: open the container
    times = []
    for span in spans[1:]:
        started = time.perf_counter()
        read(span)
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decode", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="720p, 12 s, 4 clips per case")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.mp4"
        started = time.perf_counter()
        make_source(source, params["size"], params["seconds"])
        cache = Path(tmp) / "cache.mp4"
        cache.write_bytes(resize_video(source, short_side=SHORT_SIDE, crf=28))
        prep_s = time.perf_counter() - started
        rng = random.Random(0)
        last_start = params["seconds"] - WINDOW_S - 1
        spans = []
        for _ in range(params["clips"] + 1):
            start = Fraction(rng.randrange(0, int(last_start * 30)), 30)
            spans.append(Span(start, start + WINDOW_S))
        cases = {
            ("source", "pytorchvideo"): pytorchvideo_reader(source),
            ("source", "ours"): ours_reader(source, resize=True),
            ("cache", "pytorchvideo"): pytorchvideo_reader(cache),
            ("cache", "ours"): ours_reader(cache, resize=False),
        }
        rows = []
        for (file, reader), read in cases.items():
            times = time_reader(read, spans)
            rows.append(
                {
                    "file": file,
                    "reader": reader,
                    "clips_per_s": len(times) / sum(times),
                    "min_s": min(times),
                    "median_s": statistics.median(times),
                    "max_s": max(times),
                    "raw_s": times,
                }
            )
        sizes = {"source_mb": source.stat().st_size / 1e6, "cache_mb": cache.stat().st_size / 1e6}
    rate = {(r["file"], r["reader"]): r["clips_per_s"] for r in rows}
    ratios = {
        "ours_vs_pytorchvideo_source": rate["source", "ours"] / rate["source", "pytorchvideo"],
        "ours_vs_pytorchvideo_cache": rate["cache", "ours"] / rate["cache", "pytorchvideo"],
        "ours_cache_vs_ours_source": rate["cache", "ours"] / rate["source", "ours"],
        "ours_cache_vs_pytorchvideo_source": rate["cache", "ours"] / rate["source", "pytorchvideo"],
    }
    print(f"{'file':8} {'reader':13} {'clips/s':>8} {'median ms':>10}")
    for r in rows:
        print(f"{r['file']:8} {r['reader']:13} {r['clips_per_s']:8.2f} {1000 * r['median_s']:10.0f}")
    for name, value in ratios.items():
        print(f"{name}: {value:.1f}x")
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": _cpus()},
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "av": av.__version__,
            "pytorchvideo": _version("pytorchvideo"),
        },
        "params": {
            **params,
            "size": list(params["size"]),
            "n_frames": N_FRAMES,
            "window_s": str(WINDOW_S),
            "short_side": SHORT_SIDE,
            "quick": args.quick,
            "prep_s": prep_s,
            **sizes,
        },
        "rows": rows,
        "ratios": ratios,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(f"wrote {RESULTS}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    sys.exit(main())
