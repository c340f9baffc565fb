"""Forward+backward samples/s of every network (the "compute-only bound" of a training step).

One step = forward, action loss (CE verb + CE noun), backward and an SGD step on random clips of
the network's input size (``--quick``: tiny inputs and few steps for the big networks on CPU);
inference samples/s (eval mode, no grad) is measured alongside. On CUDA the step runs in float16
autocast with ``channels_last_3d`` (as pretraining does). Torch threads default to what one pool
slot gets beside its decode worker (``slot_threads``: 1 on 2 cores), the thread count of the
runner and of the ``end_to_end`` bound (2 OpenMP threads on the shared 2-core box measured
15-50x slower than 1: spin-waiting under contention).

    python -m benchmarks.compute [--quick] [--device cpu|cuda] [--kinds tiny3d,x3d_xs] [--threads N]

Prints a table and writes ``benchmarks/results/compute.json`` (machine, versions, params and
raw per-step timings with min/median/max).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from benchmarks.common import cpu_count
from ego_cl.learners.adaptation.losses import action_losses
from ego_cl.learners.networks.builders import NETWORK_INPUTS, NETWORK_KINDS, build_network
from ego_cl.runners.engine.pool import slot_threads
from ego_cl.streams.config import StreamConfig
from ego_cl.types import Target

RESULTS = Path(__file__).parent / "results" / "compute.json"

# kind: (batch, frames, crop_px, steps) per mode; None = the network's native input size.
# Full: native inputs; few steps for the big networks (one CPU step of a SlowFast at 32x224² takes
# 10-25 s on 2 shared cores: indicative only, the real bound of those is a GPU, see ``--device cuda``).
FULL = {
    "tiny3d": (8, None, None, 12),
    "x3d_xs": (4, None, None, 3),
    "x3d_s": (2, None, None, 2),
    "slowfast_r50": (2, None, None, 1),
    "slowfast_r101": (1, None, None, 1),
}
QUICK = {
    "tiny3d": (8, None, None, 8),
    "x3d_xs": (4, 4, 112, 3),
    "x3d_s": (2, 4, 112, 2),
    "slowfast_r50": (1, 16, 112, 2),
    "slowfast_r101": (1, 16, 112, 2),
}
GPU = {kind: (batch * 8, None, None, 20) for kind, (batch, *_rest) in FULL.items()}


def _stats(times: list[float]) -> dict[str, float]:
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(kind: str, batch: int, frames: int, crop: int, steps: int, device: torch.device) -> dict:
    """Time ``steps`` training steps and ``steps`` inference passes after one warm-up each."""
    torch.manual_seed(0)
    cuda = device.type == "cuda"
    fmt = torch.channels_last_3d if cuda else torch.contiguous_format
    net = build_network(kind, n_verbs=115, n_nouns=478).to(device).to(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    clips = torch.randn(batch, 3, frames, crop, crop, device=device).to(memory_format=fmt)
    target = Target(actions=torch.zeros(batch, 1, 2, dtype=torch.long, device=device))
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if cuda else nullcontext
    scaler = torch.amp.GradScaler(device.type, enabled=cuda)
    train, infer = [], []
    for i in range(steps + 1):
        _sync(device)
        start = time.perf_counter()
        with autocast():
            verb, noun = net(clips)
        scaler.scale(action_losses(verb, noun, target).action.mean()).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        _sync(device)
        if i:
            train.append(time.perf_counter() - start)
    net.eval()
    with torch.no_grad():
        for i in range(steps + 1):
            _sync(device)
            start = time.perf_counter()
            with autocast():
                net(clips)
            _sync(device)
            if i:
                infer.append(time.perf_counter() - start)
    return {
        "kind": kind,
        "batch": batch,
        "frames": frames,
        "crop_px": crop,
        "native_input": (frames, crop) == (NETWORK_INPUTS[kind].n_frames, NETWORK_INPUTS[kind].crop_px),
        "params_m": sum(p.numel() for p in net.parameters()) / 1e6,
        "train_step_s": _stats(train),
        "infer_s": _stats(infer),
        "train_samples_per_s": batch / statistics.median(train),
        "infer_samples_per_s": batch / statistics.median(infer),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs / few steps for the big networks")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--kinds", default=",".join(NETWORK_KINDS), help="comma-separated network kinds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: a pool slot's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or slot_threads(cpu_count(), 1, StreamConfig().workers))
    device = torch.device(args.device)
    plan = GPU if device.type == "cuda" else QUICK if args.quick else FULL
    rows = []
    for kind in args.kinds.split(","):
        batch, frames, crop, steps = plan[kind]
        spec = NETWORK_INPUTS[kind]
        rows.append(bench(kind, batch, frames or spec.n_frames, crop or spec.crop_px, steps, device))
        r = rows[-1]
        print(
            f"{kind:14s} {r['params_m']:6.1f}M  batch {batch:3d}  {r['frames']:2d}x{r['crop_px']:3d}²  "
            f"train {r['train_samples_per_s']:8.2f}/s  infer {r['infer_samples_per_s']:8.2f}/s",
            flush=True,
        )
    result = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            "torch_threads": torch.get_num_threads(),
            "note": "shared 2-core CPU, other engineers' jobs running: indicative only"
            if device.type == "cpu"
            else "",
        },
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "params": {"quick": args.quick, "device": str(device)},
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = RESULTS if device.type == "cpu" else RESULTS.with_name("compute_gpu.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
