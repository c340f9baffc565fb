"""User scaling: wall time of 4 user streams through the real process pool with 1 vs 2 CPU slots.

Decode-heavy setting (chosen so that decoding, which parallelises perfectly across users,
dominates): 4 synthetic evaluation users whose videos are 640x360 (``--quick``: 480x270) H.264
with x264's default 250-frame keyframe interval, decoded in the slot process itself
(``stream.workers=0``, one decoder thread) and resized to a 64-px short side, feeding ``tiny3d``
(8x64², finetune, batch 4). Torch threads per slot are the pool's default (cores / slots: 2 with
one slot, 1 each with two). Wall time is the whole :func:`ego_cl.runners.stream.run_stream` call
(worker start and input loading included). Full mode streams users of about 400 s of video each
(all their clips, about 125; cap 400).

Each setting runs twice:

- **cold**: as a new process runs it. The pool's fork server is stopped first, so the run starts
  it again and waits for its imports (torch, then ``torch._dynamo``, about 2.5 s). Both slots wait
  for the same server, so that start does not halve. The start-up is
  ``wall(1 slot) - sum of the users' stream seconds`` (one slot runs its users one after another).
- **ready**: the fork server has already imported (a grid's next run, an embedding caller's next
  call); its start is outside the wall time.

Each mode shows the ceiling of its speed-up (:func:`_report`): the start-up, and each user's own
slowdown when two stream side by side. One slot computes with 2 torch threads, two slots with 1
each, so a user takes longer beside another: the second core is not idle with one slot. A third
row runs 1 slot with 1 torch thread, as each of two slots has: the speed-up of the pool itself.

And the cost of one worker start, which every recycled worker (``pool.recycle_after``) pays again:
3 jobs that each build an optimiser (importing ``torch._dynamo``) in a fresh worker, 1 slot, spawned
vs forked from the ready fork server.

    python -m benchmarks.scaling [--quick]

Target: 1 slot / 2 slots wall time >= 1.8 on 2 cores (issue 17). ``--quick`` streams are too short to
amortise any start: a smoke test only. Writes ``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    cold_fork_server,
    cpu_count,
    headline,
    print_table,
    random_checkpoint,
    ready_fork_server,
    stats,
    synthetic_root,
    write_result,
)

N_USERS = 4
QUICK = {"size": (480, 270), "eval_user_s": 40, "samples": 16, "repeats": 1}
FULL = {"size": (640, 360), "eval_user_s": 400, "samples": 400, "repeats": 1}
GOP = 250  # x264's default keyframe interval: each random access decodes a longer GOP prefix
MODES = ("cold", "ready")
MODE_LABELS = {
    "cold": "cold (as a new process)",
    "ready": "fork server ready (a grid's or caller's next run)",
}


def _overrides(root: Path, checkpoint: Path, out: Path, n: int, slots: int, tag: str) -> list[str]:
    return [
        f"data.ego4d_root={root}",
        "model.kind=tiny3d",
        f"model.checkpoint={checkpoint}",
        f"run.out_dir={out}",
        f"run.experiment={tag}",
        "run.baseline=false",
        "run.tensorboard=false",
        "learner.kind=finetune",
        "stream.filter_unseen=false",
        "stream.batch_size=4",
        f"stream.max_samples={n}",
        "stream.n_frames=8",
        "stream.side_px=64",
        "stream.crop_px=64",
        "stream.workers=0",
        "pool.devices=[cpu]",
        f"pool.users_per_device={slots}",
    ]


def run(
    root: Path,
    checkpoint: Path,
    out: Path,
    n: int,
    slots: int,
    tag: str,
    *,
    ready: bool,
    threads: int | None = None,
) -> tuple[float, dict, dict]:
    """Wall seconds of one run (fork server stopped first; ``ready``: started and waited for before
    the clock starts; ``threads``: torch threads per slot instead of the pool's default), its
    per-user streaming seconds and per-user clip counts."""
    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.stream import run_stream

    overrides = _overrides(root, checkpoint, out, n, slots, tag)
    overrides += [] if threads is None else [f"pool.threads_per_slot={threads}"]
    cfg = load_config(StreamRunConfig, overrides=overrides)
    cold_fork_server()
    if ready:
        ready_fork_server()
    started = time.perf_counter()
    summary = run_stream(cfg, overrides)
    wall = time.perf_counter() - started
    if summary["failed"] or summary["n_done"] != N_USERS:
        raise RuntimeError(f"scaling run failed: {summary['failed']} (see {summary['run_dir']})")
    docs = {
        u: json.loads((Path(summary["run_dir"]) / "users" / u / "summary.json").read_text())
        for u in summary["users"]
    }
    seconds = {u: d["seconds"] for u, d in docs.items()}
    return wall, seconds, {u: d.get("n_samples") for u, d in docs.items()}


def first_optimiser(payload: Any, device: str, report: Any) -> dict[str, Any]:
    """Pool target of the worker-start measurement: what a user's first step imports."""
    import torch

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    return {"pid": os.getpid()}


def worker_start_seconds(method: str, n_jobs: int = 3) -> float:
    """Seconds per job of ``n_jobs`` one-job workers on 1 slot (each job a fresh worker)."""
    from ego_cl.runners.engine.pool import Job, run_jobs

    cold_fork_server()
    if method == "forkserver":
        ready_fork_server()
    jobs = [Job(key=f"w{i}", size=1, payload=None) for i in range(n_jobs)]
    started = time.perf_counter()
    outcomes = run_jobs(jobs, first_optimiser, users_per_device=1, recycle_after=1, method=method)
    seconds = time.perf_counter() - started
    if not all(o.ok for o in outcomes) or len({o.result["pid"] for o in outcomes}) != n_jobs:
        raise RuntimeError(f"worker start measurement failed: {outcomes}")
    return seconds / n_jobs


def _start_up(walls: dict[int, list[float]], user_seconds: dict[int, list[dict]]) -> tuple[float, float]:
    """Start-up seconds (1 slot: median wall minus its users' stream seconds) and the speed-up without it."""
    start_s = statistics.median(w - sum(u.values()) for w, u in zip(walls[1], user_seconds[1], strict=True))
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    return start_s, (one - start_s) / max(two - start_s, 1e-9)


def _measure(root: Path, checkpoint: Path, out: Path, setting: dict, repeats: int) -> dict[str, dict]:
    """Per mode (cold, ready) and slot count: walls, users' stream seconds and clip counts; and
    under ``"one_thread"`` the walls of 1 slot with 1 torch thread (fork server ready), as each of
    two slots has."""
    got: dict[str, dict] = {
        m: {"walls": {1: [], 2: []}, "users": {1: [], 2: []}, "clips": {1: [], 2: []}} for m in MODES
    }
    got["one_thread"] = {"walls": [], "users": []}
    for r in range(repeats):
        wall, users, _ = run(
            root, checkpoint, out, setting["samples"], 1, f"one-thread-{r}", ready=True, threads=1
        )
        got["one_thread"]["walls"].append(wall)
        got["one_thread"]["users"].append(users)
        print(f"  repeat {r}, ready, 1 slot with 1 torch thread: {wall:.1f} s", flush=True)
        for mode in MODES:  # interleaved, so load changes hit both modes alike
            for slots in (1, 2):
                tag = f"{mode}-s{slots}-{r}"
                wall, users, clips = run(
                    root, checkpoint, out, setting["samples"], slots, tag, ready=mode == "ready"
                )
                got[mode]["walls"][slots].append(wall)
                got[mode]["users"][slots].append(users)
                got[mode]["clips"][slots].append(clips)
                print(f"  repeat {r}, {mode}, {slots} slot(s): {wall:.1f} s", flush=True)
    return got


def _report(mode: str, got: dict, label: str) -> tuple[dict[str, Any], list[dict]]:
    """Printed table, results and headline rows of one mode.

    Two ceilings of the speed-up: the start-up, which both slots wait for at once, alone
    (``one / (start + (one - start) / 2)``); and the start-up with the users' own slowdown when two
    stream side by side (one torch thread each, where one slot computes with two), the slots
    balanced exactly: ``one / (start + users' stream s with 2 slots / 2)``.
    """
    walls, users = got["walls"], got["users"]
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    speedup = one / two
    start_s, stream_speedup = _start_up(walls, users)
    user_s = {s: statistics.median(sum(u.values()) for u in users[s]) for s in (1, 2)}
    slower = user_s[2] / user_s[1]
    start_ceiling = one / (start_s + (one - start_s) / 2)
    ceiling = one / (start_s + user_s[2] / 2)
    print(f"\n{mode}: {label}")
    print_table(
        ("slots", "wall s (median)", "min", "max", "users' stream s (sum, median run)"),
        [(s, statistics.median(walls[s]), min(walls[s]), max(walls[s]), user_s[s]) for s in (1, 2)],
    )
    print(
        f"speed-up 1 -> 2 slots: {speedup:.2f}x on {cpu_count()} CPUs; start-up {start_s:.1f} s "
        f"({start_s / one:.0%} of 1 slot); without it {stream_speedup:.2f}x\n"
        f"ceilings: this start-up alone {start_ceiling:.2f}x; with the users {slower - 1:.0%} slower side "
        f"by side too {ceiling:.2f}x"
    )
    results = {
        "wall_seconds": {str(s): stats(walls[s]) for s in (1, 2)},
        "user_stream_seconds": {str(s): users[s] for s in (1, 2)},
        "user_clips": {str(s): got["clips"][s] for s in (1, 2)},
        "speedup": speedup,
        "start_up_seconds": start_s,
        "speedup_without_start_up": stream_speedup,
        "users_slower_side_by_side": slower,
        "speedup_ceiling_start_up": start_ceiling,
        "speedup_ceiling": ceiling,
    }
    detail = (
        f"{one:.1f} s vs {two:.1f} s; start-up {start_s:.1f} s ({start_s / one:.0%} of 1 slot), paid by "
        f"both slots at once; users {slower - 1:.0%} slower side by side (1 torch thread each; 1 slot "
        f"computes with 2): ceiling {one:.1f} / ({start_s:.1f} + {user_s[2]:.1f} / 2) = {ceiling:.2f}x "
        f"(start-up alone: {start_ceiling:.2f}x)"
    )
    rows = [
        headline(
            f"scaling: 4 users, wall(1 slot) / wall(2 slots), {label}",
            speedup,
            ">= 1.8",
            speedup >= 1.8,
            detail,
        ),
        headline(
            f"scaling: 4 users, (wall - start-up) 1 slot / 2 slots, {mode}",
            stream_speedup,
            "",
            None,
            f"start-up {start_s:.1f} s (wall(1 slot) - users' stream s) taken off both walls",
        ),
    ]
    return results, rows


def _pool_rows(got: dict, server_s: float, starts: dict[str, float]) -> tuple[dict[str, Any], list[dict]]:
    """Results and rows of the pool itself: 1 slot with 1 torch thread against 2 slots (both with
    the fork server ready), and one worker start, spawned vs forked."""
    rows: list[dict] = []
    one_thread = statistics.median(got["one_thread"]["walls"])
    equal = one_thread / statistics.median(got["ready"]["walls"][2])
    print(
        f"\n1 slot with 1 torch thread (as each of two slots): {one_thread:.1f} s; 1 -> 2 slots with the "
        f"same threads per slot {equal:.2f}x (fork server ready)"
    )
    rows.append(
        headline(
            "scaling: 4 users, wall(1 slot, 1 torch thread) / wall(2 slots), fork server ready",
            equal,
            "",
            None,
            f"{one_thread:.1f} s vs {statistics.median(got['ready']['walls'][2]):.1f} s: the same torch "
            "threads per slot (the default gives 1 slot 2): what the pool itself scales",
        )
    )
    results = {
        "one_thread_1_slot": {
            "wall_seconds": stats(got["one_thread"]["walls"]),
            "user_stream_seconds": got["one_thread"]["users"],
            "speedup_same_threads": equal,
        }
    }
    print(f"\nfork server start (import torch, torch._dynamo, the runner's modules): {server_s:.2f} s")
    print(
        f"one worker start (a fresh worker per job, building an optimiser): spawned {starts['spawn']:.2f} s, "
        f"forked from the ready server {starts['forkserver']:.2f} s"
    )
    rows.append(
        headline(
            "scaling: one worker start (each recycled worker pays it), spawned / forked from the fork server",
            starts["spawn"] / starts["forkserver"],
            "",
            None,
            f"spawned {starts['spawn']:.2f} s, forked {starts['forkserver']:.2f} s per worker (a job that "
            f"builds an optimiser, 1 slot, recycle_after=1); the fork server itself starts in "
            f"{server_s:.2f} s, once per process",
        )
    )
    results["fork_server_start_seconds"] = server_s
    results["worker_start_seconds"] = starts
    return results, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller videos, shorter streams, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    setting = QUICK if args.quick else FULL
    repeats = args.repeats or setting["repeats"]
    width, height = setting["size"]
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_scaling_") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        root, _ = synthetic_root(
            home / "data",
            n_eval_users=N_USERS,
            n_train_users=0,
            n_pretrain_users=1,
            eval_user_s=setting["eval_user_s"],
            pretrain_user_s=10,
            nan_video_s=10,
            recordings_per_user=1,
            clip_s=setting["eval_user_s"],
            width=width,
            height=height,
            gop=GOP,
        )
        prep_s = time.perf_counter() - started
        checkpoint = random_checkpoint(root, home / "tiny3d.pt", "tiny3d")
        got = _measure(root, checkpoint, home / "runs", setting, repeats)
        cold_fork_server()
        server_s = ready_fork_server()  # what the cold runs waited for, measured alone
        starts = {m: worker_start_seconds(m) for m in ("spawn", "forkserver")}
        cold_fork_server()
    clips = statistics.median(n for run in got["cold"]["clips"][1] for n in run.values())
    print(
        f"\n{N_USERS} users x {clips:.0f} clips (median), {width}x{height} GOP {GOP} decoded in-slot, tiny3d"
    )
    results, rows = {}, []
    for mode in MODES:
        results[mode], mode_rows = _report(mode, got[mode], MODE_LABELS[mode])
        rows += mode_rows
    extra_results, extra_rows = _pool_rows(got, server_s, starts)
    results.update(extra_results)
    rows += extra_rows
    params = {
        "quick": args.quick,
        "users": N_USERS,
        "samples_per_user": setting["samples"],
        "video_size": [width, height],
        "repeats": repeats,
        "model": "tiny3d 8x64², finetune, batch 4",
        "stream_workers": 0,
        "threads_per_slot": "pool default (cores / slots)",
        "start_method": "pool default (forkserver on Linux, CPU)",
        "gop": GOP,
        "prep_s": prep_s,
    }
    write_result("scaling", params=params, results=results, summary={"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
