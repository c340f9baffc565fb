"""Run every benchmark, one after another in fresh subprocesses, then rewrite ``benchmarks/README.md``.

    python -m benchmarks.all [--quick] [--only end_to_end,upstream] [--readme-only]

Each benchmark writes ``benchmarks/results/<name>.json``; the README gets the latest headline
table of all of them (ratios against their targets) and the machine they ran on, and keeps the
hand-written notes below its ``NOTES_MARK`` line. ``make bench``
and ``make bench-quick`` call this. A failing benchmark is reported (tail of its log) and the
others still run; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, machine

README = Path(__file__).parent / "README.md"

# name -> extra arguments of the full run (kept inside the 15-minute budget on 2 cores)
BENCHMARKS: dict[str, list[str]] = {
    "decode": [],
    # 720p long and short GOP; 4 videos of 16 s (28 clips): the full 300-clip stream
    # (`python -m benchmarks.decode_bound`, about 15 minutes at load 3) does not fit the budget
    "decode_bound": ["--video-s", "16", "--copies", "4"],
    "loader": ["--repeats", "1", "--max-samples", "40"],
    "compute": [],
    "end_to_end": [],  # 300-clip streams, tiny3d 2 interleaved repeats, x3d_xs 1
    "upstream": [],
    "scaling": [],
    "memory": [],
    "metadata": [],
}

DESCRIPTIONS = {
    "decode": "random-access clip decoding, our PyAV reader vs pytorchvideo `EncodedVideo`, on the source "
    "and the resized cache",
    "decode_bound": "stream loader vs the decode-once bound (every frame of the needed videos decoded "
    "once, used frames converted) and vs the same bound skipping the non-reference frames no sample "
    "shows, 720p long and short GOP; old vs new reader",
    "loader": "stream loader clips/s, ours vs upstream-style pytorchvideo `LabeledVideoDataset` (and ours "
    "decoding every frame, and both decode-once bounds), pipelines interleaved per repeat",
    "compute": "forward+backward samples/s of every network (the compute-only bound per step)",
    "end_to_end": "stream runner (pool, loader, predict/log/metrics/learn, Parquet, checkpoints) vs the "
    "same predict+learn on batches already in memory",
    "upstream": "upstream-style pipeline (pytorchvideo dataset + DataLoader) vs ours, same model and "
    "update, same samples checked",
    "scaling": "4 users through the real pool, 1 vs 2 CPU slots, decode-heavy",
    "memory": "peak RSS of one user stream at L and 10·L clips, fresh process each",
    "metadata": "load + validate + split + build all streams, Ego4D-sized JSON (no videos)",
}


def run_one(name: str, quick: bool, log_dir: Path, timeout_s: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.<name>``; stdout to the console, stderr to a log file."""
    args = ["--quick"] if quick else BENCHMARKS[name]
    command = [sys.executable, "-m", f"benchmarks.{name}", *args]
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    log = log_dir / f"{name}.log"
    load_start = _loadavg()
    started = time.perf_counter()
    with log.open("w") as err:
        try:
            code = subprocess.run(command, stderr=err, timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.perf_counter() - started
    if code != 0:
        tail = log.read_text().splitlines()[-25:]
        print(f"!!! {name} failed ({code}); last lines of its stderr:\n" + "\n".join(tail), flush=True)
    print(f"=== {name}: {seconds:.0f} s", flush=True)
    load = (load_start, _loadavg())
    return {"name": name, "ok": code == 0, "code": code, "seconds": seconds, "load": load}


def _loadavg() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def _load_note(run: dict[str, Any] | None, doc: dict[str, Any]) -> str:
    """The 1-minute load average while the benchmark ran (start-end of this run, else at its end)."""
    if run and run.get("load"):
        start, end = run["load"]
        return f"{start}-{end}"
    return str((doc.get("machine") or {}).get("loadavg_1m", ""))


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _row(metric: str, value: float, target: str = "", ok: bool | None = None, note: str = "") -> dict:
    return {"metric": metric, "value": value, "target": target, "ok": ok, "note": note}


def headline_rows(name: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The README rows of one result file (ours carry ``summary.rows``; the others are read here)."""
    if isinstance(doc.get("summary"), dict) and "rows" in doc["summary"]:
        return list(doc["summary"]["rows"])
    if name == "decode":
        r = doc.get("ratios", {})
        rate = {(x["file"], x["reader"]): x["clips_per_s"] for x in doc.get("rows", [])}
        note = ", ".join(f"{f}/{k} {v:.2f} clips/s" for (f, k), v in rate.items())
        same, cached = r.get("ours_vs_pytorchvideo_source", 0.0), r.get("ours_cache_vs_ours_source", 0.0)
        return [
            _row("decode: ours / pytorchvideo, same source file", same, ">= 3", same >= 3, note),
            _row("decode: ours on cache / ours on source", cached, ">= 10", cached >= 10),
            _row(
                "decode: ours on cache / pytorchvideo on source",
                r.get("ours_cache_vs_pytorchvideo_source", 0.0),
            ),
        ]
    if name == "loader":
        return _loader_rows(doc.get("runs", {}))
    if name == "compute":
        return [
            _row(
                f"compute: {r['kind']} train samples/s (batch {r['batch']}, {r['frames']}x{r['crop_px']}²)",
                r["train_samples_per_s"],
                note=f"inference {r['infer_samples_per_s']:.1f}/s",
            )
            for r in doc.get("results", [])
        ]
    return []


def _loader_rows(runs: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours vs upstream per video and worker count; beside each source row, ours decoding every
    frame and the decode-once bounds of the same stream (every frame up to each video's last used
    frame decoded once; and the same with unshown non-reference frames skipped)."""
    rows = []
    for key, run in runs.items():
        if run.get("pipeline") not in ("ours", "bound", "bound_skip"):
            continue
        speedup = run["speedup_vs_upstream_source_same_workers"]
        note = f"{run['clips_per_s']['median']:.2f} clips/s"
        if run["pipeline"] != "ours":
            label = (
                "decode-once bound" if run["pipeline"] == "bound" else "decode-once bound skipping unshown"
            )
            rows.append(_row(f"loader: {label} {key} / upstream/source (same workers)", speedup, note=note))
            continue
        if run["video"] == "source":
            note += _loader_context(runs, run["workers"], speedup)
        rows.append(
            _row(
                f"loader: {key} / upstream/source (same workers)",
                speedup,
                *_loader_target(key, speedup),
                note=note,
            )
        )
    return rows


def _loader_context(runs: dict[str, Any], workers: int, speedup: float) -> str:
    """What a source row's gain is made of: ours decoding every frame, and the two bounds."""
    note = ""
    every = runs.get(f"every/source/w{workers}")
    if every:
        note += f"; decoding every frame {every['speedup_vs_upstream_source_same_workers']:.2f}"
    for name, label in (("bound", "decode-once bound"), ("bound_skip", "bound skipping unshown")):
        bound = runs.get(f"{name}/source/w{workers}")
        if bound:
            gain = bound["speedup_vs_upstream_source_same_workers"]
            note += f"; {label} / upstream {gain:.2f}, ours / it {speedup / gain:.2f}"
    return note


def _loader_target(key: str, speedup: float) -> tuple[str, bool | None]:
    """Issue 17: the loader on the same source video as the upstream pipeline, >= 10x."""
    return (">= 10", speedup >= 10) if "/source/" in key else ("", None)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


NOTES_MARK = "<!-- notes: written by hand, kept when benchmarks.all rewrites the table above -->"


def kept_notes(readme: Path) -> str:
    """The hand-written notes of ``readme``: from :data:`NOTES_MARK` to the end (a fresh mark if
    there are none yet)."""
    text = readme.read_text() if readme.exists() else ""
    at = text.find(NOTES_MARK)
    return "\n" + (text[at:] if at >= 0 else NOTES_MARK + "\n")


def write_readme(runs: list[dict[str, Any]]) -> None:
    """Rewrite ``benchmarks/README.md`` from the result files present now."""
    docs = {name: _load(name) for name in BENCHMARKS}
    seconds = {r["name"]: r for r in runs}
    lines = [
        "# ego_cl benchmarks",
        "",
        "Run everything with `make bench` (`python -m benchmarks.all`, under 15 minutes on 2 cores) or",
        "`make bench-quick` (`--quick`, a smoke run of a few minutes); one benchmark with",
        "`python -m benchmarks.<name> [--quick]`. Each writes `benchmarks/results/<name>.json` (machine,",
        "versions, parameters, raw timings with min/median/max); this file is rewritten by `benchmarks.all`.",
        "Ratios are measured side by side in one run; absolute numbers are indicative only when the CPU",
        "is shared.",
        "",
        "| benchmark | what it measures |",
        "|---|---|",
        *(f"| `{n}` | {DESCRIPTIONS[n]} |" for n in BENCHMARKS),
        "",
        f"## Latest results (table written {time.strftime('%Y-%m-%d %H:%M %Z')})",
        "",
    ]
    m = machine()
    lines += [
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB RAM, {m['platform']}"
        + (f", GPU {m['cuda']}" if m.get("cuda") else ", no GPU")
        + f"; 1-minute load average when the table was written: {m['loadavg_1m']}.",
        "",
        "A benchmark marked *quick* last ran in its `--quick` smoke mode (too small for its targets).",
        "",
        "| benchmark | metric | value | target | met | load | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, doc in docs.items():
        run = seconds.get(name)
        if doc is None:
            state = "failed" if run and not run["ok"] else "not run"
            lines.append(f"| `{name}` | {state} | | | | | |")
            continue
        stale = " (stale: this run failed)" if run and not run["ok"] else ""
        label = f"`{name}`" + (" *quick*" if (doc.get("params") or {}).get("quick") else "")
        load = _load_note(run, doc)
        for row in headline_rows(name, doc):
            met = {True: "yes", False: "**no**", None: ""}[row["ok"]]
            note = (row.get("note") or "") + stale
            value = f"{_fmt(row['value'])} | {row['target']} | {met} | {load}"
            lines.append(f"| {label} | {row['metric']} | {value} | {note} |")
    lines += ["", "Per-benchmark wall time of this run (s): "]
    lines.append(", ".join(f"`{r['name']}` {r['seconds']:.0f}" for r in runs) or "(README only)")
    versions = next((d["versions"] for d in docs.values() if d and isinstance(d.get("versions"), dict)), {})
    if versions:
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    README.write_text("\n".join(lines) + "\n" + kept_notes(README))
    print(f"wrote {README}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.all", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's --quick mode")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    parser.add_argument("--readme-only", action="store_true", help="rewrite the README from existing results")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds per benchmark before it is killed"
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    runs = []
    started = time.perf_counter()
    if not args.readme_only:
        with tempfile.TemporaryDirectory(prefix="ego_cl_bench_logs_") as logs:
            runs = [run_one(name, args.quick, Path(logs), args.timeout) for name in names]
    write_readme(runs)
    failed = [r["name"] for r in runs if not r["ok"]]
    print(
        f"\nall benchmarks: {time.perf_counter() - started:.0f} s" + (f"; FAILED: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
