"""Shared pieces of the benchmarks: machine description, versions, repeat statistics, JSON results,
tables, and a small synthetic dataset + random checkpoint for runner-level benchmarks.

Nothing here is part of the package; the benchmarks may write files.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def cpu_count() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """Where the numbers come from (load average included: the CPU may be shared)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": cpu_count(),
        "memory_gib": _memory_gib(),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover
        pass
    return info


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that set the speed."""
    out = {"python": sys.version.split()[0]}
    for package in ("ego_cl", "torch", "torchvision", "av", "pytorchvideo", "numpy", "pyarrow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "n/a"
    return out


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished (waited-for) children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cold_fork_server() -> None:
    """Stop this process's multiprocessing fork server (if one runs), so that the next run starts
    its workers as a new process would: the pool's fork server imports torch again. Uses the
    stdlib's own test hook (``ForkServer._stop``)."""
    import multiprocessing.forkserver

    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    if server is not None and hasattr(server, "_stop"):
        server._stop()


def ready_fork_server() -> float:
    """Start the pool's fork server (what ``run_stream`` imports in it) and wait until it can fork a
    worker, as it is for a grid's next run or an embedding caller's next call; returns the seconds."""
    import multiprocessing

    from ego_cl.runners.engine.fork_server import start_fork_server
    from ego_cl.runners.engine.job import run_user_job

    started = time.perf_counter()
    start_fork_server([run_user_job.__module__])
    probe = multiprocessing.get_context("forkserver").Process(target=os.getpid)
    probe.start()
    probe.join()
    return time.perf_counter() - started


def stats(values: Sequence[float]) -> dict[str, Any]:
    """``{"min", "median", "max", "raw"}`` of repeated measurements."""
    values = [float(v) for v in values]
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "raw": values}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(name: str, *, params: dict[str, Any], results: Any, summary: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json``: machine, versions, params, results, summary.

    ``summary`` holds the headline ratios against their targets (what the README table shows):
    ``{"rows": [{"metric", "value", "target", "ok", "note"}, ...]}``.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "versions": versions(),
        "params": params,
        "results": results,
        "summary": summary,
    }
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"wrote {path}")
    return path


def headline(metric: str, value: float, target: str, ok: bool | None, note: str = "") -> dict[str, Any]:
    """One README row: a measured value against its target (``ok=None``: no target)."""
    return {"metric": metric, "value": value, "target": target, "ok": ok, "note": note}


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain fixed-width table on stdout."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Synthetic data for runner-level benchmarks


def synthetic_root(home: Path, **fields: Any) -> tuple[Path, Path]:
    """Generate (or reuse) a synthetic Ego4D-format dataset and its user split under ``home``.

    Returns ``(ego4d_root, split_dir)``. ``fields`` are :class:`~ego_cl.data.config.SyntheticConfig`
    fields.
    """
    from ego_cl.data.config import SyntheticConfig
    from ego_cl.runners.datasets import ensure_default_dataset

    return ensure_default_dataset(home, SyntheticConfig(**fields))


def random_checkpoint(root: Path, path: Path, kind: str, seed: int = 0) -> Path:
    """A randomly initialised ``kind`` network sized for ``root``'s taxonomy, as an ego_cl checkpoint."""
    import torch

    from ego_cl.learners.networks.builders import build_network
    from ego_cl.learners.networks.checkpoint import network_checkpoint
    from ego_cl.runners.checkpoint_io import write_checkpoint

    if path.is_file():
        return path
    taxonomy = json.loads((root / "v1/annotations/fho_lta_taxonomy.json").read_text())
    torch.manual_seed(seed)
    net = build_network(kind, n_verbs=len(taxonomy["verbs"]), n_nouns=len(taxonomy["nouns"]))
    write_checkpoint(path, network_checkpoint(net))
    return path


def quiet_logging() -> None:
    """Warnings only from structlog (benchmarks print their own tables)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
