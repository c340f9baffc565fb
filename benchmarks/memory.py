"""Peak memory of one user stream at length L and 10·L (each in a fresh process).

One synthetic evaluation user (128x96 H.264), ``tiny3d`` (8x64²), batch 4, the stream runner
run in-process (``pool.processes=0``, ``stream.workers=0``: decoding, learning, logging and
writing all happen in the measured process). Peak RSS (``ru_maxrss``) of a fresh subprocess per
case:

- ``finetune``: the default config, ``stream.decode_cache_mb=512`` (the decode-once clip cache is
  bounded by bytes, so it grows until full);
- ``finetune, no cache``: ``stream.decode_cache_mb=0``, the pure streaming footprint;
- ``replay, unlimited``: ``learner.kind=replay``, ``learner.capacity=0`` (unlimited memory of
  stream indices; replayed clips are fetched again through the loader), no decode cache.

    python -m benchmarks.memory [--quick]

Target: peak RSS at 10·L within 10% of L (nothing accumulates per sample in memory).

Also the **base RSS of a stream worker** and what it is made of (:func:`base_rss`, a fresh
process importing what a pool worker imports, stage by stage, then building a tiny3d finetune
learner): resident MiB after each stage, split into file-backed pages (shared libraries, shared
between processes) and anonymous pages (private to the process), and which optional heavy
packages a worker did not import.
Writes ``benchmarks/results/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import headline, print_table, random_checkpoint, synthetic_root, write_result

QUICK = {"length": 8, "eval_user_s": 150}
FULL = {"length": 20, "eval_user_s": 480}
CASES = {
    "finetune": ["learner.kind=finetune"],
    "finetune, no cache": ["learner.kind=finetune", "stream.decode_cache_mb=0"],
    "replay, unlimited": ["learner.kind=replay", "learner.capacity=0", "stream.decode_cache_mb=0"],
}


def child(spec: dict) -> None:
    """Run one stream in this process and print its memory as one JSON line."""
    import torch

    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.stream import run_stream

    torch.set_num_threads(spec["threads"])
    overrides = spec["overrides"]
    cfg = load_config(StreamRunConfig, overrides=overrides)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    summary = run_stream(cfg, overrides)
    seconds = time.perf_counter() - started
    if summary["failed"]:
        raise SystemExit(f"stream failed: {summary['failed']}")
    (user,) = summary["users"]
    n = json.loads((Path(summary["run_dir"]) / "users" / user / "summary.json").read_text())["n_samples"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak, "rss_before_mb": before, "n_samples": n, "seconds": seconds}))


BASE_STAGES = (
    ("python", ()),
    ("torch", ("torch",)),
    ("numpy, pyarrow", ("numpy", "pyarrow", "pyarrow.parquet")),
    ("av", ("av",)),
    ("ego_cl worker modules", ("ego_cl.runners.engine.pool_worker", "ego_cl.runners.engine.job")),
)
OPTIONAL = ("torchvision", "pytorchvideo", "matplotlib", "tensorboard", "pandas", "scipy", "sympy")


def _rss() -> dict[str, float]:
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            key = line.split(":")[0]
            if key in fields:
                out[fields[key]] = int(line.split()[1]) / 1024
    return out


def base_child() -> None:
    """Stage by stage: what a stream worker's resident memory is made of (one JSON line)."""
    import importlib

    stages = []
    for name, modules in BASE_STAGES:
        for module in modules:
            importlib.import_module(module)
        stages.append({"stage": name, **_rss()})
    import torch

    from ego_cl.learners.networks.builders import build_network

    network = build_network("tiny3d", n_verbs=115, n_nouns=478)
    torch.optim.SGD(network.parameters(), lr=0.01)  # an optimiser imports torch._dynamo
    stages.append({"stage": "tiny3d + optimiser (torch._dynamo)", **_rss()})
    loaded = sorted(m for m in OPTIONAL if m in sys.modules)
    print(json.dumps({"stages": stages, "optional_loaded": loaded}))


def base_rss() -> dict:
    """Run :func:`base_child` in a fresh interpreter."""
    command = [sys.executable, "-m", "benchmarks.memory", "--base-child"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"base RSS child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(root: Path, checkpoint: Path, out: Path, case: str, n: int, tag: str) -> dict:
    overrides = [
        f"data.ego4d_root={root}",
        "model.kind=tiny3d",
        f"model.checkpoint={checkpoint}",
        f"run.out_dir={out}",
        f"run.experiment={tag}",
        "run.baseline=false",
        "run.tensorboard=false",
        "run.checkpoint_every=10",
        "stream.filter_unseen=false",
        f"stream.max_samples={n}",
        "stream.workers=0",
        "pool.processes=0",
        *CASES[case],
    ]
    spec = json.dumps({"overrides": overrides, "threads": 1})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", spec],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"memory child failed ({case}, {n}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 8 clips")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if args.base_child:
        base_child()
        return 0
    setting = QUICK if args.quick else FULL
    length = setting["length"]
    results, rows = {}, []
    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_memory_") as tmp:
        home = Path(tmp)
        root, _ = synthetic_root(
            home / "data",
            n_eval_users=1,
            n_train_users=0,
            n_pretrain_users=1,
            eval_user_s=setting["eval_user_s"],
            pretrain_user_s=10,
            nan_video_s=10,
            recordings_per_user=2,
            clip_s=60,
        )
        checkpoint = random_checkpoint(root, home / "tiny3d.pt", "tiny3d")
        for case in CASES:
            short = _measure(root, checkpoint, home / "runs", case, length, f"{len(results)}-short")
            long = _measure(root, checkpoint, home / "runs", case, 10 * length, f"{len(results)}-long")
            growth = long["peak_rss_mb"] / short["peak_rss_mb"] - 1
            results[case] = {"L": short, "10L": long, "growth": growth}
            rows.append(
                (
                    case,
                    short["n_samples"],
                    short["peak_rss_mb"],
                    long["n_samples"],
                    long["peak_rss_mb"],
                    growth,
                )
            )
            print(f"  {case}: {short['peak_rss_mb']:.0f} -> {long['peak_rss_mb']:.0f} MiB", flush=True)
    base = results["base"] = base_rss()
    print("\nbase RSS of a stream worker (MiB, after each stage)")
    print_table(
        ("stage", "RSS", "anonymous", "file-backed"),
        [(s["stage"], s["rss"], s["anon"], s["file"]) for s in base["stages"]],
    )
    print("optional heavy packages loaded:", base["optional_loaded"] or "none")
    print("\nmemory (peak RSS of a fresh process per run, MiB)")
    print_table(("case", "L clips", "peak MiB", "10L clips", "peak MiB", "growth"), rows)
    summary = {
        "rows": [
            headline(
                f"memory: peak RSS growth L -> 10L, {case}",
                r["growth"],
                "< 0.10",
                r["growth"] < 0.10,
                f"{r['L']['peak_rss_mb']:.0f} -> {r['10L']['peak_rss_mb']:.0f} MiB "
                f"({r['L']['n_samples']} -> {r['10L']['n_samples']} clips)",
            )
            for case, r in results.items()
            if case != "base"
        ]
        + [_base_row(base)]
    }
    params = {
        "quick": args.quick,
        "L": length,
        "model": "tiny3d 8x64², batch 4",
        "video": "128x96",
        "in_process": True,
        "checkpoint_every": 10,
        "cases": CASES,
    }
    write_result("memory", params=params, results=results, summary=summary)
    return 0


def _base_row(base: dict) -> dict:
    stages, previous = [], 0.0
    for stage in base["stages"]:
        stages.append(f"{stage['stage']} +{stage['rss'] - previous:.0f}")
        previous = stage["rss"]
    last = base["stages"][-1]
    return headline(
        "memory: base RSS of a stream worker, tiny3d (MiB)",
        last["rss"],
        "",
        None,
        f"{last['anon']:.0f} anonymous + {last['file']:.0f} file-backed (shared libraries); "
        + ", ".join(stages)
        + f"; optional packages loaded: {', '.join(base['optional_loaded']) or 'none'}",
    )


if __name__ == "__main__":
    sys.exit(main())
