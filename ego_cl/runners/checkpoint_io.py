"""One owner of checkpoint files: every read and write of a ``.pt`` goes through here.

Pretraining's ``best.pt``/``last.pt``, a user's ``checkpoint/state.pt`` and ``learner.pt``, the
population checkpoint of a run and the checkpoints command all use :func:`read_checkpoint` (one
clear error naming the file) and :func:`write_checkpoint` (atomic). Files are read with
``torch.load(..., weights_only=True)``: tensors, numbers, strings and containers only. A file that
needs arbitrary objects unpickled (e.g. a Lightning checkpoint whose hyper-parameters hold a yacs
``CfgNode``, or the original EgoAdapt code's config classes) is refused with
:class:`UnsafeCheckpointError`; ``python -m ego_cl.runners.checkpoints IN OUT`` converts it once
(:func:`read_foreign_checkpoint`: stand-ins for the objects, no code from the file runs) into a
plain state dict that loads safely.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
import torch

from ego_cl.learners.networks.builders import VideoNetwork, build_network
from ego_cl.learners.networks.checkpoint import (
    checkpoint_format,
    fusion_kernel_for,
    load_network_state,
    network_from_checkpoint,
)
from ego_cl.runners.files import atomic_write_bytes
from ego_cl.runners.foreign_pickle import load_with_stand_ins, stand_ins_in
from ego_cl.types import InputError

__all__ = [
    "UnsafeCheckpointError",
    "load_network",
    "read_checkpoint",
    "read_foreign_checkpoint",
    "write_checkpoint",
]

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
    if magic.startswith(b"PK\x03\x04"):
        _check_zip(path)
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if _WEIGHTS_ONLY not in str(exc):  # a truncated pickle, not a refused one
            raise InputError(f"{path}: damaged torch checkpoint ({_first_sentence(exc)})") from None
        raise UnsafeCheckpointError(
            f"{path}: refusing to load: it contains pickled Python objects beyond tensors and plain "
            f"containers ({_refused_global(exc)}). Convert it once (stand-ins for "
            f"the objects, none of its code runs): 'python -m ego_cl.runners.checkpoints {path} OUT.pt'"
        ) from None
    except Exception as exc:  # torch raises many kinds on garbage (IndexError, RuntimeError, EOFError, ...)
        raise InputError(f"{path}: damaged torch checkpoint ({_first_sentence(exc)})") from None
    if not isinstance(obj, Mapping):
        raise InputError(f"{path}: checkpoint must hold a dict, got {type(obj).__name__}")
    return dict(obj)


_WEIGHTS_ONLY = "Weights only load failed"
"""How torch's ``weights_only`` refusal starts (any other unpickling error means a damaged file)."""


def _first_sentence(exc: BaseException) -> str:
    """``Type: first sentence`` of an error, without torch's advice and terminal escapes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    first = re.split(r"(?<=\.)\s|\n", text, maxsplit=1)[0] if text else "end of file"
    return f"{type(exc).__name__}: {first[:200]}"


def _refused_global(exc: BaseException) -> str:
    """What torch's ``weights_only`` unpickler refused (e.g. ``GLOBAL yacs.config.CfgNode``),
    without its advice to load with ``weights_only=False``."""
    match = re.search(r"Unsupported [a-z]+: (?:GLOBAL )?[\w.<>]+", str(exc))
    return match.group(0)[:200] if match else "an object that is not a tensor or plain container"


def _check_zip(path: Path) -> None:
    """CRC-check every member of a torch zip (torch itself would load a flipped byte silently)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path}: damaged torch checkpoint (truncated, or not a zip: {exc})") from None
    if bad is not None:
        raise InputError(f"{path}: damaged torch checkpoint (checksum mismatch in {bad})")


def read_foreign_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Load any checkpoint file for conversion: safely if it can be, else with stand-ins.

    A file that ``weights_only=True`` refuses (a Lightning checkpoint pickling the original
    code's config classes, an fvcore config node, ...) is read by
    :func:`~ego_cl.runners.foreign_pickle.load_with_stand_ins`: every global beyond torch's
    allow-list becomes an inert stand-in; nothing named in the file is imported or run.

    Returns:
        The checkpoint dict and ``{"module.Class": count}`` of the stand-ins in it.

    Raises:
        InputError: Missing, damaged or not a dict (one line naming the file).
    """
    try:
        return read_checkpoint(path), {}
    except UnsafeCheckpointError:
        pass
    try:
        obj = load_with_stand_ins(path)
    except Exception as exc:  # damaged archives raise anything (RuntimeError, EOFError, KeyError, ...)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(obj, Mapping):
        raise InputError(f"{path}: checkpoint must hold a dict, got {type(obj).__name__}")
    return dict(obj), stand_ins_in(obj)


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
    fusion_kernel: int | None = None,
) -> VideoNetwork:
    """Build a network and load the checkpoint at ``path`` into it.

    An ego_cl checkpoint says which network it holds; ``kind``/class counts, when given, must
    agree. Any other layout needs ``kind``, ``n_verbs`` and ``n_nouns``. A SlowFast is built with
    the fusion kernel its weights have (``fusion_kernel``, when given, must agree).

    Raises:
        InputError: Unreadable, unsafe or mismatching checkpoint, or missing arguments.
    """
    checkpoint = read_checkpoint(path)
    source = str(path)
    kernel_kind = kind or (checkpoint.get("kind") if checkpoint_format(checkpoint) == "ego_cl" else None)
    fusion_kernel = fusion_kernel_for(checkpoint, str(kernel_kind), fusion_kernel, source=source)
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
        network = build_network(
            kind, n_verbs=n_verbs, n_nouns=n_nouns, dropout=dropout, fusion_kernel=fusion_kernel
        )
        load_network_state(network, checkpoint, include_head=include_head, source=source)
    log.info("checkpoint_loaded", path=source, kind=network.kind, include_head=include_head)
    return network
