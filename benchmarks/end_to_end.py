"""End-to-end stream throughput of the runner vs the compute-only bound of the same steps.

One synthetic evaluation user (``ego_cl.runners.synth``, 224x128 H.264), a randomly initialised
network, ``learner.kind=finetune``, batch 4, one pool slot with ``T`` torch threads and the default
decode worker:

- ``runner``: :func:`ego_cl.runners.stream.run_stream` (the real pool, loader, predict → log →
  metrics → learn loop, Parquet parts, checkpoints, ``DONE``); clips/s = stream samples / the
  user's own streaming seconds (``users/<id>/summary.json``); the whole-run wall time (worker
  spawn, input loading) is reported beside it.
- ``bound``: the same learner (built by :func:`ego_cl.runners.build.build_user_parts` from the same
  config) doing the same ``predict`` + ``learn`` calls on the same batches, decoded into memory
  beforehand, in this process with the same ``T`` threads.

Kinds: ``tiny3d`` (8x64², its native input) and ``x3d_xs`` (4x112² on CPU; native is 4x160²).

    python -m benchmarks.end_to_end [--quick] [--kinds tiny3d,x3d_xs] [--repeats N]

Target: runner / bound >= 0.9. Writes ``benchmarks/results/end_to_end.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
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

# kind: (n_frames, side_px, crop_px) of the stream on CPU.
INPUTS = {"tiny3d": (8, 64, 64), "x3d_xs": (4, 112, 112)}
QUICK = {"eval_user_s": 80, "samples": {"tiny3d": 24, "x3d_xs": 8}, "repeats": 1}
FULL = {"eval_user_s": 400, "samples": {"tiny3d": 160, "x3d_xs": 64}, "repeats": 2}
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


def overrides_for(root: Path, checkpoint: Path, out: Path, kind: str, n: int, threads: int) -> list[str]:
    frames, side, crop = INPUTS[kind]
    return [
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
        f"pool.threads_per_slot={threads}",
    ]


def compute_bound(cfg, threads: int) -> tuple[float, int]:
    """Seconds of predict + learn over the user's batches, decoded into memory first."""
    from ego_cl.runners.build import build_user_parts
    from ego_cl.runners.job import load_inputs
    from ego_cl.runners.plan import resolve_inputs

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
    batches = list(parts.batches(0))
    learner = parts.learner
    started = time.perf_counter()
    for batch in batches:
        learner.predict(batch.without_labels())
        learner.learn(batch)
    return time.perf_counter() - started, sum(len(b.indices) for b in batches)


def runner(cfg, overrides: list[str]) -> tuple[float, float, int]:
    """``(user streaming seconds, whole-run wall seconds, samples)`` of one real stream run."""
    from ego_cl.runners.stream import run_stream

    started = time.perf_counter()
    summary = run_stream(cfg, overrides)
    wall = time.perf_counter() - started
    if summary["failed"]:
        raise RuntimeError(f"stream run failed: {summary['failed']} (see {summary['run_dir']})")
    (user,) = summary["users"]
    user_summary = json.loads((Path(summary["run_dir"]) / "users" / user / "summary.json").read_text())
    return float(user_summary["seconds"]), wall, int(user_summary["n_samples"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.end_to_end", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="short streams, one repeat")
    parser.add_argument("--kinds", default="tiny3d,x3d_xs", help="comma-separated network kinds")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=cpu_count(), help="torch threads of the slot")
    args = parser.parse_args(argv)
    setting = QUICK if args.quick else FULL
    repeats = args.repeats or setting["repeats"]
    from ego_cl.runners.config import StreamRunConfig, load_config

    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_e2e_") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        root, _ = synthetic_root(home / "data", eval_user_s=setting["eval_user_s"], **DATASET)
        prep_s = time.perf_counter() - started
        for kind in args.kinds.split(","):
            checkpoint = random_checkpoint(root, home / f"{kind}.pt", kind)
            n = setting["samples"][kind]
            bound_s, stream_s, wall_s = [], [], []
            n_bound = n_run = 0
            for r in range(repeats):  # interleaved, so load changes hit both sides alike
                overrides = overrides_for(root, checkpoint, home / "runs", kind, n, args.threads)
                cfg = load_config(StreamRunConfig, overrides=[*overrides, f"run.experiment={kind}-{r}"])
                seconds, n_bound = compute_bound(cfg, args.threads)
                bound_s.append(seconds)
                seconds, wall, n_run = runner(cfg, [*overrides, f"run.experiment={kind}-{r}"])
                stream_s.append(seconds)
                wall_s.append(wall)
                print(
                    f"  {kind} repeat {r}: bound {n_bound / bound_s[-1]:.2f} clips/s, "
                    f"runner {n_run / stream_s[-1]:.2f} clips/s (wall {n_run / wall:.2f})",
                    flush=True,
                )
            bound = n_bound / statistics.median(bound_s)
            stream = n_run / statistics.median(stream_s)
            wall = n_run / statistics.median(wall_s)
            results[kind] = {
                "n_samples": n_run,
                "input": dict(zip(("n_frames", "side_px", "crop_px"), INPUTS[kind])),
                "bound_seconds": stats(bound_s),
                "runner_stream_seconds": stats(stream_s),
                "runner_wall_seconds": stats(wall_s),
                "bound_clips_per_s": bound,
                "runner_clips_per_s": stream,
                "runner_wall_clips_per_s": wall,
                "ratio": stream / bound,
                "ratio_wall": wall / bound,
            }
            rows.append((kind, n_run, bound, stream, stream / bound, wall, wall / bound))
    print(f"\nend-to-end (finetune, batch 4, {args.threads} torch threads, 1 slot)")
    print_table(
        ("kind", "clips", "bound clips/s", "runner clips/s", "ratio", "wall clips/s", "wall ratio"), rows
    )
    summary = {
        "rows": [
            headline(
                f"end_to_end {kind}: runner / compute bound",
                r["ratio"],
                ">= 0.9",
                r["ratio"] >= 0.9,
                f"{r['runner_clips_per_s']:.2f} vs {r['bound_clips_per_s']:.2f} clips/s; "
                f"with spawn + input loading {r['ratio_wall']:.2f}",
            )
            for kind, r in results.items()
        ]
    }
    params = {
        "quick": args.quick,
        "repeats": repeats,
        "threads": args.threads,
        "batch_size": 4,
        "learner": "finetune",
        "dataset": {**DATASET, "eval_user_s": setting["eval_user_s"]},
        "prep_s": prep_s,
    }
    write_result("end_to_end", params=params, results=results, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
