"""End-to-end stream throughput of the runner vs the compute-only bound of the same steps.

One synthetic evaluation user (``ego_cl.runners.datasets``, 224x128 H.264) read through the
resized-clip cache (``data.use_cache=true``, built once at short side 128 with the cache's own
encoder settings by ``ego_cl.runners.resizing.build_cache``; not timed), a randomly initialised
network, ``learner.kind=finetune``, batch 4, one pool slot with the default decode worker and
``T`` torch threads (default: the pool's own, ``max(1, cores // slots - stream.workers)``, i.e. 1
on 2 cores: the decode worker keeps the other core):

- ``runner``: :func:`ego_cl.runners.stream.run_stream` (the real pool, loader, predict → log →
  metrics → learn loop, Parquet parts, checkpoints, ``DONE``); clips/s = stream samples / the
  user's own streaming seconds (``users/<id>/summary.json``); the whole-run wall time (worker
  start with a fresh fork server, as in a new process; input loading) is reported beside it.
- ``bound``: the same learner (built by :func:`ego_cl.runners.engine.build.build_user_parts` from the same
  config) doing the same ``predict`` + ``learn`` calls on the same batches, decoded into memory
  beforehand, in this process with the same ``T`` threads.
- ``loader``: the same user's batches through the stream loader alone (decode worker start
  included, no model), i.e. the decode limit of the run.
- ``limit``: ``min(compute-only bound, loader)``, the slower of the two things the runner overlaps;
  the target row is ``runner / limit`` over the whole stream (>= 300 clips in the full run).
- ``steady state``: runner and bound from the first quarter of the stream on (the runner's rate
  from the worker's progress reports, the bound's from its per-batch times over the same clips),
  i.e. without the one-off start of the decode worker and the first batches.
- ``start-up``: the fixed cost of a user, the run's wall time minus the user's own streaming seconds
  (worker start: the fork server's imports, as in a new process; input loading, run directory;
  ``setup_s`` of the user's ``summary.json`` is the part after the worker received the job), and the
  user's own time to its first batch (``startup.first_batch_s``: loader workers started, first
  clips decoded, first step).

Kinds: ``tiny3d`` (8x64², its native input) and ``x3d_xs`` (4x112² on CPU; native is 4x160²).

    python -m benchmarks.end_to_end [--quick] [--kinds tiny3d,x3d_xs] [--repeats N]

Each kind's repeats (full run: five for tiny3d, one for x3d_xs) interleave bound and runner; rates
are from the median seconds. Target: runner / min(compute bound, loader) >= 0.9. Writes
``benchmarks/results/end_to_end.json``.

``--cache-vs-source`` (:func:`cache_vs_source`) measures instead the runner's clips/s on one user
whose clips are 1920x1080 H.264 (``--quick``: 1280x720), decoded from the source
(``data.use_cache=false``) vs from the resized-clip cache at 320p (``python -m ego_cl.runners.resize``,
``data.use_cache=true``), the same run otherwise (``tiny3d``, 8x64², finetune, batch 4, one slot),
in steady state (from a quarter of the stream on, as above). Target: cache / source >= 8.
Writes ``benchmarks/results/cache_vs_source.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import (
    cold_fork_server,
    cpu_count,
    headline,
    print_table,
    random_checkpoint,
    stats,
    synthetic_root,
    write_result,
)

# kind: (n_frames, side_px, crop_px) of the stream on CPU.
INPUTS = {"tiny3d": (8, 64, 64), "x3d_xs": (4, 112, 112)}
QUICK = {"eval_user_s": 80, "samples": {"tiny3d": 24, "x3d_xs": 8}, "repeats": 1}
FULL = {"eval_user_s": 1000, "samples": {"tiny3d": 300, "x3d_xs": 300}, "repeats": 2}
REPEATS_FULL = {"tiny3d": 5, "x3d_xs": 1}  # 300 x3d_xs clips take minutes per side on 2 cores;
# tiny3d takes seconds, and on this shared box its runner / bound ratio varies by about 0.1 from
# one repeat to the next: the median of five
BESIDE_KINDS = {"tiny3d"}  # where decoding is a real share of a step (x3d_xs: 3%, and a minute more)
DATASET = dict(
    n_eval_users=1,
    n_train_users=0,
    n_pretrain_users=1,
    pretrain_user_s=20,
    nan_video_s=10,
    recordings_per_user=1,
    clip_s=60,
    width=224,
    height=128,
)


CACHE_SIDE = 128
"""Short side of the resized cache the main measurement reads (the synthetic source's own height)."""


def overrides_for(
    root: Path, checkpoint: Path, out: Path, kind: str, n: int, threads: int | None
) -> list[str]:
    frames, side, crop = INPUTS[kind]
    pinned = [] if threads is None else [f"pool.threads_per_slot={threads}"]
    return [
        *pinned,
        f"data.ego4d_root={root}",
        f"model.kind={kind}",
        f"model.checkpoint={checkpoint}",
        f"run.out_dir={out}",
        "run.baseline=false",
        "run.tensorboard=false",
        "learner.kind=finetune",
        "stream.filter_unseen=false",
        "stream.batch_size=4",
        f"stream.max_samples={n}",
        f"stream.n_frames={frames}",
        f"stream.side_px={side}",
        f"stream.crop_px={crop}",
        "pool.devices=[cpu]",
        "pool.users_per_device=1",
    ]


def compute_bound(cfg, threads: int, beside: bool = True) -> tuple[list[float], float, list[float]]:
    """Per-batch seconds of predict + learn over the user's batches, decoded into memory first;
    the seconds that decoding took (the loader's worker start included); and per-batch seconds of
    the same steps again while the loader decodes the pass once more beside them, a batch per step
    as in a run (what a run's steps cost on this machine with its decoding on the other core,
    before any of the runner's own work; compared in steady state, since this second pass starts
    warm; skipped, an empty list, without ``beside``)."""
    from ego_cl.runners.engine.build import build_user_parts
    from ego_cl.runners.inputs import load_inputs, resolve_inputs

    torch.set_num_threads(threads)
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
    started = time.perf_counter()
    batches = list(parts.batches(0))
    decode_s = time.perf_counter() - started
    learner = parts.learner
    times = []
    for batch in batches:
        started = time.perf_counter()
        learner.predict(batch.without_labels())
        learner.learn(batch)
        times.append(time.perf_counter() - started)
    if not beside:
        return times, decode_s, []
    beside_s, loading = [], iter(parts.batches(0))
    for batch in batches:
        started = time.perf_counter()
        next(loading)
        learner.predict(batch.without_labels())
        learner.learn(batch)
        beside_s.append(time.perf_counter() - started)
    return times, decode_s, beside_s


def runner(cfg, overrides: list[str]) -> dict:
    """One real stream run (what :func:`ego_cl.runners.stream.run_stream` does, with a progress
    recorder): user streaming seconds, whole-run wall seconds, samples, progress timeline."""
    from ego_cl.runners.engine.plan import plan_run, prepare_run_dir
    from ego_cl.runners.engine.progress import Progress
    from ego_cl.runners.engine.run import run_plans
    from ego_cl.runners.inputs import resolve_inputs

    class Timeline(Progress):
        """Records ``(seconds, samples done)`` as the worker reports (at most twice a second)."""

        def update(self, slot: int, key: str, done: int, total: int) -> None:
            points.append((time.perf_counter(), done))
            super().update(slot, key, done, total)

    points: list[tuple[float, int]] = []
    cold_fork_server()  # every repeat starts its worker as a new process would
    started = time.perf_counter()
    run_dir, cfg = prepare_run_dir(cfg, overrides)
    plan = plan_run(cfg, resolve_inputs(cfg), run_dir)
    (summary,) = run_plans([plan], cfg, progress=Timeline(total=len(plan.jobs), pretty=False))
    wall = time.perf_counter() - started
    if summary["failed"]:
        raise RuntimeError(f"stream run failed: {summary['failed']} (see {summary['run_dir']})")
    (user,) = summary["users"]
    user_summary = json.loads((Path(summary["run_dir"]) / "users" / user / "summary.json").read_text())
    return {
        "seconds": float(user_summary["seconds"]),
        "wall": wall,
        "n": int(user_summary["n_samples"]),
        "timeline": points,
        "first_report_s": points[0][0] - started if points else float("nan"),
        "setup_s": float(user_summary.get("startup", {}).get("setup_s") or "nan"),
        "first_batch_s": float(user_summary.get("startup", {}).get("first_batch_s") or "nan"),
    }


def steady_runner(timeline: list[tuple[float, int]], n: int) -> tuple[float, int]:
    """``(seconds, samples)`` from the first report at or past a quarter of the stream to the end.

    A stream too short for more than one progress report past that point (``--quick`` on a fast
    machine) falls back to the whole timeline; with a single report the window is undefined and
    the seconds are ``nan`` (the steady-state ratio then reads ``nan``, never a crash).
    """
    first = next((p for p in timeline if p[1] >= n // 4), timeline[0])
    last = timeline[-1]
    if last[0] <= first[0]:
        first = timeline[0]
    seconds = last[0] - first[0]
    return (seconds if seconds > 0 else float("nan")), last[1] - first[1]


CACHE_VS_SOURCE = {
    "quick": {"eval_user_s": 80, "samples": 32, "size": (1280, 720)},
    "full": {"eval_user_s": 160, "samples": 72, "size": (1920, 1080)},
}


def cache_vs_source(quick: bool, repeats: int, threads: int | None) -> int:
    """The stream runner on a >= 720p source vs on its 320p cache; writes ``cache_vs_source.json``."""
    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.resizing import build_cache

    setting = CACHE_VS_SOURCE["quick" if quick else "full"]
    width, height = setting["size"]
    whole_s: dict[str, list[float]] = {"source": [], "cache": []}
    steady_s: dict[str, list[float]] = {"source": [], "cache": []}
    steady_rate: dict[str, list[float]] = {"source": [], "cache": []}  # each run its own window
    n = n_steady = 0
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_cache_") as tmp:
        home = Path(tmp)
        fields = {**DATASET, "width": width, "height": height, "clip_s": setting["eval_user_s"]}
        root, _ = synthetic_root(home / "data", eval_user_s=setting["eval_user_s"], **fields)
        started = time.perf_counter()
        build = build_cache(root / "v1" / "clips", short_side=320)
        cache_build_s = time.perf_counter() - started
        checkpoint = random_checkpoint(root, home / "tiny3d.pt", "tiny3d")
        for r in range(repeats):  # interleaved, so load changes hit both sides alike
            for video in ("source", "cache"):
                overrides = overrides_for(
                    root, checkpoint, home / "runs", "tiny3d", setting["samples"], threads
                )
                overrides += [
                    f"run.experiment={video}-{r}",
                    f"data.use_cache={'true' if video == 'cache' else 'false'}",
                    "data.cache_short_side=320",
                ]
                got = runner(load_config(StreamRunConfig, overrides=overrides), overrides)
                n = got["n"]
                seconds, n_steady = steady_runner(got["timeline"], n)
                whole_s[video].append(got["seconds"])
                steady_s[video].append(seconds)
                steady_rate[video].append(n_steady / seconds)
                print(
                    f"  {video} {r}: {n / got['seconds']:.2f} clips/s, steady {n_steady / seconds:.2f}",
                    flush=True,
                )
    whole = {video: n / statistics.median(values) for video, values in whole_s.items()}
    rate = {video: statistics.median(values) for video, values in steady_rate.items()}
    ratio, ratio_whole = rate["cache"] / rate["source"], whole["cache"] / whole["source"]
    print(f"\nstream runner, {width}x{height} source vs 320p cache, steady state:")
    print(
        f"{rate['source']:.2f} vs {rate['cache']:.2f} clips/s = {ratio:.1f}x"
        f" (whole stream {ratio_whole:.1f}x)"
    )
    summary = {
        "rows": [
            headline(
                f"cache_vs_source: runner clips/s, 320p cache / {height}p source, steady state",
                ratio,
                ">= 8",
                ratio >= 8,
                f"{rate['cache']:.2f} vs {rate['source']:.2f} clips/s from a quarter of the {n} clips on; "
                f"whole stream {ratio_whole:.1f}x; tiny3d 8x64^2 finetune; synthetic video (flat shapes) "
                "decodes far cheaper than real Ego4D footage",
            )
        ]
    }
    params = {
        "quick": quick,
        "repeats": repeats,
        "source_size": [width, height],
        "cache_short_side": 320,
        "samples": setting["samples"],
        "eval_user_s": setting["eval_user_s"],
        "cache_build_s": cache_build_s,
        "cache_files": len(build.done),
    }
    results = {
        "runner_stream_seconds": {k: stats(v) for k, v in whole_s.items()},
        "steady_seconds": {k: stats(v) for k, v in steady_s.items()},
        "n_samples": n,
        "n_steady": n_steady,
        "clips_per_s_steady": rate,
        "clips_per_s_whole": whole,
        "ratio": ratio,
        "ratio_whole": ratio_whole,
    }
    write_result("cache_vs_source", params=params, results=results, summary=summary)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.end_to_end", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="short streams, one repeat")
    parser.add_argument("--kinds", default="tiny3d,x3d_xs", help="comma-separated network kinds")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads of the slot (default: the pool's rule)"
    )
    parser.add_argument(
        "--cache-vs-source", action="store_true", help="only the 720p-source vs 320p-cache runner row"
    )
    args = parser.parse_args(argv)
    setting = QUICK if args.quick else FULL
    repeats = args.repeats or setting["repeats"]
    if args.cache_vs_source:
        return cache_vs_source(args.quick, repeats, args.threads)
    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.engine.pool import slot_threads

    rows, results = [], {}
    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_e2e_") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        root, _ = synthetic_root(home / "data", eval_user_s=setting["eval_user_s"], **DATASET)
        from ego_cl.runners.resizing import build_cache

        build_cache(root / "v1" / "clips", short_side=CACHE_SIDE)
        prep_s = time.perf_counter() - started
        for kind in args.kinds.split(","):
            checkpoint = random_checkpoint(root, home / f"{kind}.pt", kind)
            n = setting["samples"][kind]
            bound_s, steady_bound_s, stream_s, steady_s, wall_s, decode_s = [], [], [], [], [], []
            steady_beside_s: list[float] = []
            n_run = n_steady = 0
            first_s, setup_s, first_batch_s = [], [], []
            kind_repeats = repeats if args.quick or args.repeats else REPEATS_FULL.get(kind, repeats)
            for r in range(kind_repeats):  # interleaved, so load changes hit both sides alike
                overrides = overrides_for(root, checkpoint, home / "runs", kind, n, args.threads)
                overrides += [
                    f"run.experiment={kind}-{r}",
                    "data.use_cache=true",
                    f"data.cache_short_side={CACHE_SIDE}",
                ]
                cfg = load_config(StreamRunConfig, overrides=overrides)
                threads = args.threads or slot_threads(cpu_count(), 1, cfg.stream.workers)
                times, decoded, beside = compute_bound(cfg, threads, kind in BESIDE_KINDS)
                decode_s.append(decoded)
                got = runner(cfg, overrides)
                n_run = got["n"]
                seconds, n_steady = steady_runner(got["timeline"], n_run)
                bound_s.append(sum(times))
                steady_bound_s.append(sum(times[-(n_steady // 4) :]))
                if beside:  # per batch; compared over the steady part
                    steady_beside_s.append(sum(beside[-(n_steady // 4) :]))
                stream_s.append(got["seconds"])
                steady_s.append(seconds)
                wall_s.append(got["wall"])
                first_s.append(got["first_report_s"])
                setup_s.append(got["setup_s"])
                first_batch_s.append(got["first_batch_s"])
                print(
                    f"  {kind} repeat {r}: bound {n_run / bound_s[-1]:.2f} clips/s "
                    f"runner {n_run / stream_s[-1]:.2f} clips/s (wall {n_run / wall_s[-1]:.2f}); "
                    f"steady state: bound {n_steady / steady_bound_s[-1]:.2f} "
                    + (f"({n_steady / steady_beside_s[-1]:.2f} with decoding beside), " if beside else "")
                    + f"runner {n_steady / steady_s[-1]:.2f}",
                    flush=True,
                )
            bound = n_run / statistics.median(bound_s)
            stream = n_run / statistics.median(stream_s)
            wall = n_run / statistics.median(wall_s)
            steady_bound = n_steady / statistics.median(steady_bound_s)
            steady = n_steady / statistics.median(steady_s)
            results[kind] = {
                "n_samples": n_run,
                "n_steady": n_steady,
                "input": dict(zip(("n_frames", "side_px", "crop_px"), INPUTS[kind])),
                "bound_seconds": stats(bound_s),
                "decode_seconds": stats(decode_s),
                "decode_s_per_clip": statistics.median(decode_s) / n_run,
                "compute_cpu_s_per_clip": threads * statistics.median(bound_s) / n_run,
                "runner_stream_seconds": stats(stream_s),
                "runner_wall_seconds": stats(wall_s),
                "steady_bound_seconds": stats(steady_bound_s),
                "steady_runner_seconds": stats(steady_s),
                "bound_clips_per_s": bound,
                "runner_clips_per_s": stream,
                "runner_wall_clips_per_s": wall,
                "steady_bound_clips_per_s": steady_bound,
                "steady_runner_clips_per_s": steady,
                "ratio": stream / bound,
                "ratio_wall": wall / bound,
                "ratio_steady": steady / steady_bound,
                **(
                    {
                        "steady_bound_with_decoding_seconds": stats(steady_beside_s),
                        "steady_bound_with_decoding_clips_per_s": n_steady
                        / statistics.median(steady_beside_s),
                    }
                    if steady_beside_s
                    else {}
                ),
                "loader_clips_per_s": n_run / statistics.median(decode_s),
                "limit_clips_per_s": min(bound, n_run / statistics.median(decode_s)),
                "ratio_limit": stream / min(bound, n_run / statistics.median(decode_s)),
                "startup_s": statistics.median(w - s for w, s in zip(wall_s, stream_s, strict=True)),
                "first_report_s": statistics.median(first_s),
                "setup_s": statistics.median(setup_s),
                "first_batch_s": statistics.median(first_batch_s),
                "repeats": kind_repeats,
            }
            r = results[kind]
            share = r["startup_s"] / statistics.median(wall_s)
            loader = r["loader_clips_per_s"]
            rows.append((kind, n_run, bound, loader, stream, r["ratio_limit"], stream / bound))
            rows[-1] += (steady / steady_bound, r["startup_s"], r["first_batch_s"], share)
    print(f"\nend-to-end (finetune, batch 4, {threads} torch threads, 1 slot)")
    print_table(
        (
            "kind",
            "clips",
            "bound clips/s",
            "loader clips/s",
            "runner clips/s",
            "runner/limit",
            "runner/bound",
            "steady runner/bound",
            "start-up s",
            "first batch s",
            "start-up share",
        ),
        rows,
    )
    summary = {
        "rows": [
            headline(
                f"end_to_end {kind}: runner / min(compute, loader), whole stream of {r['n_samples']} clips",
                r["ratio_limit"],
                ">= 0.9",
                r["ratio_limit"] >= 0.9,
                f"{r['runner_clips_per_s']:.2f} vs min({r['bound_clips_per_s']:.2f} compute, "
                f"{r['loader_clips_per_s']:.2f} loader) clips/s; runner / compute {r['ratio']:.2f}; "
                f"start-up per user {r['startup_s']:.1f} s (worker start, imports, inputs; of it setup "
                f"{r['setup_s']:.1f} s), then first batch {r['first_batch_s']:.1f} s; with start-up "
                f"{r['ratio_wall']:.2f} of compute; per clip: decode "
                f"{r['decode_s_per_clip']:.3f} s (1 worker), compute {r['compute_cpu_s_per_clip']:.3f} "
                f"CPU-s ({threads} thread(s)); load {load_start}",
            )
            for kind, r in results.items()
        ]
        + [
            headline(
                f"end_to_end {kind}: runner / compute bound, steady state",
                r["ratio_steady"],
                ">= 0.9",
                r["ratio_steady"] >= 0.9,
                f"last {r['n_steady']} of {r['n_samples']} clips: "
                f"{r['steady_runner_clips_per_s']:.2f} vs {r['steady_bound_clips_per_s']:.2f} clips/s",
            )
            for kind, r in results.items()
        ]
        + [
            headline(
                f"end_to_end {kind}: runner / the bound's steps with decoding beside them, steady state",
                r["steady_runner_clips_per_s"] / r["steady_bound_with_decoding_clips_per_s"],
                "",
                None,
                f"{r['steady_runner_clips_per_s']:.2f} vs {r['steady_bound_with_decoding_clips_per_s']:.2f} "
                "clips/s: the runner's own cost; those steps run at "
                f"{r['steady_bound_with_decoding_clips_per_s'] / r['steady_bound_clips_per_s']:.2f} of the "
                "bound's rate while the loader decodes on the other core",
            )
            for kind, r in results.items()
            if "steady_bound_with_decoding_clips_per_s" in r
        ]
    }
    params = {
        "quick": args.quick,
        "repeats": repeats,
        "threads": threads,
        "loadavg_1m_start": load_start,
        "batch_size": 4,
        "learner": "finetune",
        "dataset": {**DATASET, "eval_user_s": setting["eval_user_s"]},
        "cache_short_side": CACHE_SIDE,
        "prep_s": prep_s,
    }
    write_result("end_to_end", params=params, results=results, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
