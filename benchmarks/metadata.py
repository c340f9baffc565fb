"""Metadata at Ego4D scale: load + validate + split + build every user stream, JSON only (no videos).

An Ego4D-sized synthetic annotation set is written once per scale (not timed): at 100%,
200 participants (minutes per user spread like a long tail) plus participant-less videos,
about 120,000 LTA annotations in 5-minute clips (actions every few seconds, some overlapping, with
frame fields and ``frame / 30`` seconds like Ego4D's),
115 verbs and 478 nouns with a taxonomy file, 75/25 train/val. Timed phases, each through the
library's public API:

- ``load``: ``load_taxonomy``, ``load_metadata`` (``ego4d.json``) and ``load_lta_file`` (train, val),
  which validate every record;
- ``split``: ``build_user_split`` (random criterion; 50 evaluation users at 100%, 10 of them train);
- ``split files``: the three split documents written as ``python -m ego_cl.runners.split`` writes
  them (``write_split_documents``) and read back with ``load_user_split`` (what every stream run
  does), then frozen out of the cyclic GC as a run freezes what it loaded (the records of the
  ``load`` phase and the split likewise, as the split command does; ``ego_cl.runners.heap``);
- ``streams``: ``build_user_stream`` for every user of every split (``first_action``, 32/15-s
  uniform clips, pretrain-unseen filter on evaluation users), as a dry run does.

    python -m benchmarks.metadata [--quick] [--repeats N]

Prints seconds per phase at 10%..100% of the users and annotations and writes
``benchmarks/results/metadata.json``. Each scale runs three times (``--repeats``) in this one
process, with nothing frozen left between runs, and the run with the median total is reported
beside the fastest and slowest totals: this shared machine's speed drifts by about 20% within
minutes. Target (issue 17): at most 5 s at 100%, and linear (growth exponent of the total over the
scales at most 1.1); CPU seconds are reported beside the wall time, since the machine may be
shared.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import headline, print_table, write_result

N_USERS, N_ANNOTATIONS, N_VERBS, N_NOUNS = 200, 120_000, 115, 478
SCALES_FULL = (0.1, 0.25, 0.5, 1.0)
SCALES_QUICK = (0.1, 0.25)
CLIP_S = 300
PHASES = ("load", "split", "split files", "streams")


def make_annotation_set(root: Path, scale: float, seed: int = 0) -> dict[str, int]:
    """Write ``ego4d.json``, ``fho_lta_{train,val}.json`` and the taxonomy under ``root``."""
    rng = np.random.default_rng(seed)
    n_users = max(4, round(N_USERS * scale))
    weights = 1.0 / np.arange(1, n_users + 1) ** 0.6  # long tail of minutes per user
    per_user = np.maximum(20, (weights / weights.sum() * N_ANNOTATIONS * scale).astype(int))
    videos, train, val = [], [], []
    users = [*range(1, n_users + 1), None]  # None: participant-less videos (the NaN user)
    counts = [*per_user.tolist(), max(10, int(per_user.sum() * 0.01))]
    for user, n_ann in zip(users, counts):
        n_videos = int(rng.integers(1, 4))
        video_uids = [f"v{user}-{k}-{rng.integers(1 << 30):x}" for k in range(n_videos)]
        for k, uid in enumerate(video_uids):
            video = {"video_uid": uid, "scenarios": ["Cooking"], "origin_video_id": f"rec-{user}-{k}"}
            if user is not None:
                video["fb_participant_id"] = user
            videos.append(video)
        made = 0
        clip = 0
        while made < n_ann:
            uid = video_uids[clip % n_videos]
            parent_start = (clip // n_videos) * (CLIP_S + 20)
            clip_uid = f"c{user}-{clip}-{rng.integers(1 << 30):x}"
            frame, action_idx = int(rng.integers(0, 90)), 0  # windows on the 30-fps grid, as Ego4D's
            out = val if rng.random() < 0.25 else train
            while frame < (CLIP_S - 10) * 30 and made < n_ann:
                length = int(rng.integers(30, 240))
                verb, noun = int(rng.integers(N_VERBS)), int(rng.integers(N_NOUNS))
                out.append(
                    {
                        "clip_uid": clip_uid,
                        "video_uid": uid,
                        "clip_parent_start_sec": float(parent_start),
                        "clip_parent_end_sec": float(parent_start + CLIP_S),
                        "action_idx": action_idx,
                        "action_clip_start_sec": frame / 30,
                        "action_clip_end_sec": (frame + length) / 30,
                        "action_clip_start_frame": frame,
                        "action_clip_end_frame": frame + length,
                        "verb": f"verb_{verb}",
                        "noun": f"noun_{noun}",
                        "verb_label": verb,
                        "noun_label": noun,
                    }
                )
                made += 1
                action_idx += 1
                overlap = rng.random() < 0.15
                frame += length // 2 if overlap else length + int(rng.integers(0, 60))
            clip += 1
    annotations = root / "v1" / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    (root / "ego4d.json").write_text(json.dumps({"videos": videos}))
    (annotations / "fho_lta_train.json").write_text(json.dumps({"split": "train", "clips": train}))
    (annotations / "fho_lta_val.json").write_text(json.dumps({"split": "val", "clips": val}))
    taxonomy = {
        "verbs": [f"verb_{i}" for i in range(N_VERBS)],
        "nouns": [f"noun_{i}" for i in range(N_NOUNS)],
    }
    (annotations / "fho_lta_taxonomy.json").write_text(json.dumps(taxonomy))
    return {"users": n_users, "annotations": len(train) + len(val), "videos": len(videos)}


def pipeline(root: Path, n_users: int) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds of each phase, and what it produced."""
    from ego_cl.data.records import load_lta_file, load_metadata
    from ego_cl.data.split import build_user_split
    from ego_cl.data.taxonomy import load_taxonomy
    from ego_cl.data.usersplit import load_user_split, pretrain_action_set
    from ego_cl.runners.datasets import write_split_documents
    from ego_cl.runners.heap import long_lived
    from ego_cl.streams.sampling import UniformClipSampler
    from ego_cl.streams.stream import build_user_stream

    seconds = {}
    started = time.perf_counter()
    annotations = root / "v1" / "annotations"
    taxonomy = load_taxonomy(annotations / "fho_lta_taxonomy.json")
    n_eval = min(50, n_users // 2)
    with long_lived():  # as `python -m ego_cl.runners.split` loads and splits (write_user_split)
        metadata = load_metadata(root / "ego4d.json")
        records = [
            load_lta_file(annotations / f"fho_lta_{s}.json", taxonomy=taxonomy, metadata=metadata)
            for s in ("train", "val")
        ]
        seconds["load"] = time.perf_counter() - started
        started = time.perf_counter()
        split = build_user_split(records, criterion="random", n_eval=n_eval, n_train=n_eval // 5, seed=0)
    seconds["split"] = time.perf_counter() - started

    started = time.perf_counter()
    split_dir = root / "usersplits"
    write_split_documents(split.documents, split_dir)  # as `python -m ego_cl.runners.split` does
    seconds["split files"] = time.perf_counter() - started
    names = {name: document["split"] for name, document in split.documents.items()}
    del split  # not timed: a run reads the files in its own process, without the split's objects
    started = time.perf_counter()
    with long_lived():  # as a run loads its inputs (ego_cl.runners.inputs.load_inputs)
        loaded = {
            subset: load_user_split(split_dir / name, taxonomy=taxonomy) for name, subset in names.items()
        }
    seconds["split files"] += time.perf_counter() - started

    started = time.perf_counter()
    clip_s = Fraction(32, 15)
    sampler = UniformClipSampler(clip_s=clip_s)
    pretrain = loaded["pretrain_incl_nanusers"]
    seen = pretrain_action_set(pretrain.annotations())
    n_samples = n_streams = 0
    for name, subset in loaded.items():
        for user, anns in subset.users.items():
            stream = build_user_stream(
                anns,
                user_id=user,
                policy="first_action",
                sampler=sampler,
                clip_s=clip_s,
                pretrain_actions=seen,
                filter_unseen=name != "pretrain_incl_nanusers",
            )
            n_samples += len(stream.samples)
            n_streams += 1
    seconds["streams"] = time.perf_counter() - started
    seconds["total"] = sum(seconds.values())
    return seconds, {"streams": n_streams, "samples": n_samples}


def _timed_run(root: Path, n_users: int) -> dict[str, Any]:
    """One pipeline run: its phases, what it made and its CPU seconds; nothing stays frozen after."""
    cpu_started = time.process_time()
    seconds, made = pipeline(root, n_users)
    gc.unfreeze()  # the next run starts as a fresh process would, with nothing frozen
    return {"seconds": seconds, "made": made, "cpu_s": time.process_time() - cpu_started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.metadata", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="10% and 25% only, one run each")
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per scale; the median run is reported (default 3)"
    )
    args = parser.parse_args(argv)
    scales = SCALES_QUICK if args.quick else SCALES_FULL
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings only
    results, rows = {}, []
    import ego_cl.data.split
    import ego_cl.runners.datasets
    from ego_cl.runners.heap import own_process

    own_process()  # this process runs the pipeline as a command would (see pipeline)
    import ego_cl.streams.stream  # noqa: F401  (imports, torch included, are not timed)

    with tempfile.TemporaryDirectory(prefix="ego_cl_bench_metadata_") as tmp:
        for scale in scales:
            root = Path(tmp) / f"s{scale}"
            size = make_annotation_set(root, scale)
            runs = [_timed_run(root, size["users"]) for _ in range(args.repeats)]
            runs.sort(key=lambda run: run["seconds"]["total"])
            median = runs[len(runs) // 2]
            totals = [run["seconds"]["total"] for run in runs]
            results[str(scale)] = {"size": size, **median, "totals": totals}
            rows.append(
                (
                    f"{scale:.0%}",
                    size["users"],
                    size["annotations"],
                    median["made"]["samples"],
                    *(median["seconds"][k] for k in (*PHASES, "total")),
                    f"{totals[0]:.2f}-{totals[-1]:.2f}",
                )
            )
            print(f"  {scale:.0%}: {median['seconds']['total']:.1f} s (median of {len(runs)})", flush=True)
    print("\nmetadata (JSON only, seconds per phase)")
    print_table(("scale", "users", "annotations", "samples", *PHASES, "total", "runs"), rows)
    first, last = results[str(scales[0])], results[str(scales[-1])]
    n_ratio = last["size"]["annotations"] / first["size"]["annotations"]
    t_ratio = last["seconds"]["total"] / first["seconds"]["total"]
    exponent = math.log(t_ratio) / math.log(n_ratio)
    print(f"time x{t_ratio:.1f} for annotations x{n_ratio:.1f}: exponent {exponent:.2f} (1 = linear)")
    summary = {
        "rows": [
            headline(
                f"metadata: load+validate+split+streams, {last['size']['users']} users / "
                f"{last['size']['annotations']} annotations (s)",
                last["seconds"]["total"],
                "<= 5",
                last["seconds"]["total"] <= 5,
                f"median of {len(last['totals'])} runs ({last['totals'][0]:.2f}-{last['totals'][-1]:.2f}); "
                f"{last['cpu_s']:.1f} CPU-s; phases "
                + ", ".join(f"{k} {last['seconds'][k]:.1f}" for k in PHASES),
            ),
            headline(
                f"metadata: growth exponent of the total, {scales[0]:.0%}..{scales[-1]:.0%} (1 = linear)",
                exponent,
                "<= 1.1",
                exponent <= 1.1,
                f"time x{t_ratio:.1f} for annotations x{n_ratio:.1f}",
            ),
        ]
    }
    params = {
        "quick": args.quick,
        "repeats": args.repeats,
        "scales": scales,
        "full_users": N_USERS,
        "full_annotations": N_ANNOTATIONS,
    }
    results["growth_exponent"] = exponent
    write_result("metadata", params=params, results=results, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
