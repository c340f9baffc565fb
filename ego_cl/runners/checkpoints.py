"""``python -m ego_cl.runners.checkpoints IN OUT``: any supported checkpoint → a plain, safe file.

Reads Ego4D / PySlowFast, pytorchvideo, Lightning (EgoAdapt's own, whose pickles name classes of
the original ``continual_ego4d`` package) and ego_cl checkpoints. Objects beyond tensors and
plain containers are read as inert stand-ins (:mod:`ego_cl.runners.foreign_pickle`; nothing named
in the file is imported or run); ``--trust-pickle`` unpickles them for real instead (only for a
file you trust, and only needed if a stand-in is not enough). The output holds
``{"state_dict": <our keys>}`` and loads with ``torch.load(..., weights_only=True)``. Any failure is
one line naming the file, exit code 2.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

import torch

from ego_cl.learners.networks.checkpoint import checkpoint_format, fusion_kernel_of, to_network_state
from ego_cl.runners.checkpoint_io import read_checkpoint, read_foreign_checkpoint, write_checkpoint
from ego_cl.runners.cli import guarded_main
from ego_cl.types import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.checkpoints",
        description="Convert a checkpoint (Ego4D/SlowFast, Lightning incl. EgoAdapt's, pytorchvideo, "
        "ego_cl) into a plain state dict that loads with weights_only=True. Pickled objects of "
        "classes that are not installed become inert stand-ins; no code from the file runs.",
    )
    parser.add_argument("source", help="checkpoint to convert")
    parser.add_argument("target", help="where to write the converted state dict")
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="unpickle SOURCE for real (imports and runs its classes; only for files you trust)",
    )
    return parser


def _convert(source: str, target: str, *, trust_pickle: bool) -> str:
    """Convert and write; returns the one-line summary."""
    if trust_pickle:
        obj, stand_ins = read_checkpoint(source, trust_pickle=True), {}
    else:
        obj, stand_ins = read_foreign_checkpoint(source)
    fmt = checkpoint_format(obj)
    state = {k: v for k, v in to_network_state(obj).items() if isinstance(v, torch.Tensor)}
    if not state:
        raise InputError(f"{source}: no tensors found in its {fmt} layout")
    write_checkpoint(target, {"state_dict": state})
    line = f"wrote {len(state)} tensors ({fmt} layout) to {target}"
    kernel = fusion_kernel_of(state)
    if kernel is not None:
        line += f"; SlowFast fusion kernel {kernel} (model.fusion_kernel)"
    if stand_ins:
        shown = ", ".join(f"{name} x{n}" for name, n in list(stand_ins.items())[:5])
        more = f" (+{len(stand_ins) - 5} more)" if len(stand_ins) > 5 else ""
        line += f"; not loaded (stand-ins): {shown}{more}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Convert ``SOURCE`` into ``{"state_dict": <our keys>}`` at ``TARGET``."""
    args = _parser().parse_args(argv)
    try:
        print(_convert(args.source, args.target, trust_pickle=args.trust_pickle))
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{exc.filename or args.target}: {exc.strerror or exc}") from None
    except Exception as exc:  # --trust-pickle runs foreign code; whatever it raises is one line
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputError(f"{args.source}: cannot convert ({type(exc).__name__}: {first})") from None
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
