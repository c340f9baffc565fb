"""One owner of checkpoint files: every read and write of a ``.pt`` goes through here.

Pretraining's ``best.pt``/``last.pt``, a user's ``checkpoint/state.pt`` and ``learner.pt``, the
population checkpoint of a run and the checkpoints command all use :func:`read_checkpoint` (one
clear error naming the file) and :func:`write_checkpoint` (atomic). Files are read with
``torch.load(..., weights_only=True)``: tensors, numbers, strings and containers only. A file that
needs arbitrary objects unpickled (e.g. a Lightning checkpoint whose hyper-parameters hold a yacs
``CfgNode``) is refused with :class:`UnsafeCheckpointError`; ``python -m ego_cl.runners.checkpoints
IN OUT --trust-pickle`` converts a file you trust, once, into a plain state dict that loads safely.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
import torch

from ego_cl.learners.networks.builders import VideoNetwork, build_network
from ego_cl.learners.networks.checkpoint import (
    checkpoint_format,
    load_network_state,
    network_from_checkpoint,
)
from ego_cl.runners.files import atomic_write_bytes
from ego_cl.types import InputError

__all__ = ["UnsafeCheckpointError", "load_network", "read_checkpoint", "write_checkpoint"]

log = structlog.get_logger(__name__)


class UnsafeCheckpointError(InputError):
    """The checkpoint file needs arbitrary objects unpickled; refused."""


def read_checkpoint(path: str | Path, *, trust_pickle: bool = False) -> dict[str, Any]:
    """Load a checkpoint file safely (``weights_only=True``) onto the CPU.

    Args:
        path: The file.
        trust_pickle: Unpickle arbitrary objects (only for a file you trust; the checkpoints
            command converts such a file once).

    Raises:
        InputError: The file is missing or not a torch checkpoint.
        UnsafeCheckpointError: Loading it would run arbitrary unpickling.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint file not found")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if not (magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80"):
        raise InputError(f"{path}: not a torch checkpoint (neither a torch zip archive nor a pickle)")
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsafeCheckpointError(
            f"{path}: refusing to load: it contains pickled Python objects beyond tensors and plain "
            f"containers ({first[:200]}). If you trust this file, convert it once with "
            f"'python -m ego_cl.runners.checkpoints {path} OUT.pt --trust-pickle'"
        ) from None
    except Exception as exc:  # torch raises many kinds on garbage (IndexError, RuntimeError, EOFError, ...)
        raise InputError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, Mapping):
        raise InputError(f"{path}: checkpoint must hold a dict, got {type(obj).__name__}")
    return dict(obj)


def write_checkpoint(path: str | Path, checkpoint: Mapping[str, Any]) -> None:
    """Write a checkpoint atomically (temporary file, fsync, rename)."""
    sink = io.BytesIO()
    torch.save(dict(checkpoint), sink)
    atomic_write_bytes(Path(path), sink.getvalue())


def load_network(
    path: str | Path,
    *,
    kind: str | None = None,
    n_verbs: int | None = None,
    n_nouns: int | None = None,
    dropout: float = 0.5,
    include_head: bool = True,
) -> VideoNetwork:
    """Build a network and load the checkpoint at ``path`` into it.

    An ego_cl checkpoint says which network it holds; ``kind``/class counts, when given, must
    agree. Any other layout needs ``kind``, ``n_verbs`` and ``n_nouns``.

    Raises:
        InputError: Unreadable, unsafe or mismatching checkpoint, or missing arguments.
    """
    checkpoint = read_checkpoint(path)
    source = str(path)
    if checkpoint_format(checkpoint) == "ego_cl" and include_head:
        for name, wanted in (("kind", kind), ("n_verbs", n_verbs), ("n_nouns", n_nouns)):
            if wanted is not None and checkpoint.get(name) != wanted:
                raise InputError(
                    f"{source}: checkpoint has {name}={checkpoint.get(name)!r}, config wants {wanted!r}"
                )
        network = network_from_checkpoint(checkpoint, dropout=dropout, source=source)
    else:
        if checkpoint_format(checkpoint) == "ego_cl":
            kind = kind or checkpoint.get("kind")
        if kind is None or n_verbs is None or n_nouns is None:
            raise InputError(f"{source}: say which network it is for (kind, n_verbs, n_nouns)")
        network = build_network(kind, n_verbs=n_verbs, n_nouns=n_nouns, dropout=dropout)
        load_network_state(network, checkpoint, include_head=include_head, source=source)
    log.info("checkpoint_loaded", path=source, kind=network.kind, include_head=include_head)
    return network
