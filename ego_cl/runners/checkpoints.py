"""Reading and writing checkpoint files (the only place that opens them).

Files are read with ``torch.load(..., weights_only=True)``: tensors, numbers, strings and
containers only. A file that needs arbitrary objects unpickled (e.g. a Lightning checkpoint
whose hyper-parameters hold a yacs ``CfgNode``) is refused with :class:`UnsafeCheckpointError`;
``python -m ego_cl.runners.checkpoints IN OUT --trust-pickle`` converts a file you trust, once,
into a plain state dict that loads safely.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

import torch

from ego_cl.learners.networks.checkpoint import checkpoint_format, to_network_state
from ego_cl.runners.checkpoint_io import read_checkpoint, write_checkpoint
from ego_cl.runners.cli import guarded_main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.checkpoints",
        description="Convert a trusted checkpoint (any supported layout) into a plain, safely loadable one.",
    )
    parser.add_argument("source", help="checkpoint to convert")
    parser.add_argument("target", help="where to write the converted state dict")
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow arbitrary unpickling of SOURCE (only for files you trust)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Convert ``SOURCE`` into ``{"state_dict": <our keys>}`` at ``TARGET``."""
    args = _parser().parse_args(argv)
    obj = read_checkpoint(args.source, trust_pickle=args.trust_pickle)
    state = to_network_state(obj)
    write_checkpoint(
        args.target, {"state_dict": {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}}
    )
    print(f"wrote {len(state)} tensors ({checkpoint_format(obj)} layout) to {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
