"""Checkpoint key mapping: any supported checkpoint dict in, our network's state dict out (pure).

Supported inputs (already read from disk by a runner with ``torch.load(weights_only=True)``):

- **ours**: ``{"format": "ego_cl.network" | "ego_cl.pretrain", "network": state_dict, "kind": ...}``
  (see :func:`network_checkpoint`).
- **Lightning** (EgoAdapt, Ego4D LTA): ``{"state_dict": {"model.<key>": ...}, ...}``; EgoAdapt's
  per-user checkpoints wrap the head in the unseen-class masker (``model.head.0.*``).
- **Ego4D / SlowFast** (PySlowFast ``checkpoint.py``): ``{"model_state": {...}}``, optionally with
  DDP's ``module.`` prefix.
- a bare state dict.

Keys named as in PySlowFast (``s1.pathway0_stem.conv``, ``s2_fuse.conv_f2s``,
``head.projections.0``) are renamed to pytorchvideo's names under our ``backbone.`` prefix and the
two projections become ``head.verb`` / ``head.noun``. pytorchvideo-hub keys (``blocks.*``) get the
``backbone.`` prefix; their Kinetics classifier (``blocks.N.proj``) becomes ``head.proj`` so that
it is left out with the head.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

from ego_cl.learners.networks.builders import DEFAULT_FUSION_KERNEL, VideoNetwork, build_network
from ego_cl.types import InputError

__all__ = [
    "NETWORK_FORMAT",
    "PRETRAIN_FORMAT",
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "checkpoint_format",
    "fusion_kernel_of",
    "fusion_kernel_for",
    "load_network_state",
    "network_checkpoint",
    "network_from_checkpoint",
    "ours_to_slowfast_key",
    "slowfast_to_ours_key",
    "to_network_state",
]

NETWORK_FORMAT = "ego_cl.network"
"""``format`` tag of a network-only checkpoint."""

PRETRAIN_FORMAT = "ego_cl.pretrain"
"""``format`` tag of a pretraining checkpoint (network + optimiser + progress)."""

_OUR_FORMATS = (NETWORK_FORMAT, PRETRAIN_FORMAT)


class CheckpointFormatError(InputError):
    """The checkpoint is none of the supported layouts (or lacks what a layout needs)."""


class CheckpointMismatchError(InputError):
    """The checkpoint's keys or tensor shapes do not fit the network.

    Attributes:
        missing: Keys the network needs that the checkpoint lacks.
        unexpected: Keys in the checkpoint the network does not have.
        mismatched: ``(key, checkpoint shape, network shape)`` triples.
    """

    def __init__(self, source: str, missing: list[str], unexpected: list[str], mismatched: list[tuple]):
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched
        parts = [f"{source}: checkpoint does not fit the network"]
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_few(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_few(unexpected)}")
        if mismatched:
            shown = [f"{k} {tuple(a)} in checkpoint vs {tuple(b)} in network" for k, a, b in mismatched]
            parts.append(f"{len(mismatched)} shape mismatch(es): {_few(shown)}")
        super().__init__("; ".join(parts))


def _few(items: list[str], n: int = 8) -> str:
    head = ", ".join(items[:n])
    return head + (f", ... (+{len(items) - n} more)" if len(items) > n else "")


# (PySlowFast pattern, our replacement); applied in order to keys without the "model."/"module." prefix.
_SLOWFAST_TO_OURS = [
    (r"^s1\.pathway(\d)_stem\.conv\.", r"backbone.blocks.0.multipathway_blocks.\1.conv."),
    (r"^s1\.pathway(\d)_stem\.bn\.", r"backbone.blocks.0.multipathway_blocks.\1.norm."),
    (
        r"^s(\d)_fuse\.conv_f2s\.",
        lambda m: f"backbone.blocks.{int(m[1]) - 1}.multipathway_fusion.conv_fast_to_slow.",
    ),
    (r"^s(\d)_fuse\.bn\.", lambda m: f"backbone.blocks.{int(m[1]) - 1}.multipathway_fusion.norm."),
    (
        r"^s(\d)\.pathway(\d)_res(\d+)\.branch1(_bn)?\.",
        lambda m: (
            f"backbone.blocks.{int(m[1]) - 1}.multipathway_blocks.{m[2]}.res_blocks.{m[3]}."
            f"branch1_{'norm' if m[4] else 'conv'}."
        ),
    ),
    (
        r"^s(\d)\.pathway(\d)_res(\d+)\.branch2\.([abc])(_bn)?\.",
        lambda m: (
            f"backbone.blocks.{int(m[1]) - 1}.multipathway_blocks.{m[2]}.res_blocks.{m[3]}."
            f"branch2.{'norm' if m[5] else 'conv'}_{m[4]}."
        ),
    ),
    (r"^head\.projections\.0\.", "head.verb."),
    (r"^head\.projections\.1\.", "head.noun."),
]

_OURS_TO_SLOWFAST = [
    (r"^backbone\.blocks\.0\.multipathway_blocks\.(\d)\.conv\.", r"s1.pathway\1_stem.conv."),
    (r"^backbone\.blocks\.0\.multipathway_blocks\.(\d)\.norm\.", r"s1.pathway\1_stem.bn."),
    (
        r"^backbone\.blocks\.(\d)\.multipathway_fusion\.conv_fast_to_slow\.",
        lambda m: f"s{int(m[1]) + 1}_fuse.conv_f2s.",
    ),
    (r"^backbone\.blocks\.(\d)\.multipathway_fusion\.norm\.", lambda m: f"s{int(m[1]) + 1}_fuse.bn."),
    (
        r"^backbone\.blocks\.(\d)\.multipathway_blocks\.(\d)\.res_blocks\.(\d+)\.branch1_(conv|norm)\.",
        lambda m: f"s{int(m[1]) + 1}.pathway{m[2]}_res{m[3]}.branch1{'_bn' if m[4] == 'norm' else ''}.",
    ),
    (
        r"^backbone\.blocks\.(\d)\.multipathway_blocks\.(\d)\.res_blocks\.(\d+)\.branch2\.(conv|norm)_([abc])\.",
        lambda m: (
            f"s{int(m[1]) + 1}.pathway{m[2]}_res{m[3]}.branch2.{m[5]}{'_bn' if m[4] == 'norm' else ''}."
        ),
    ),
    (r"^head\.verb\.", "head.projections.0."),
    (r"^head\.noun\.", "head.projections.1."),
]


def _rename(key: str, rules: list) -> str | None:
    for pattern, replacement in rules:
        new, n = re.subn(pattern, replacement, key, count=1)
        if n:
            return new
    return None


def slowfast_to_ours_key(key: str) -> str:
    """Our name of a PySlowFast / Ego4D SlowFast parameter (unknown names pass unchanged).

    Example:
        >>> slowfast_to_ours_key("s2.pathway1_res0.branch2.b_bn.weight")
        'backbone.blocks.1.multipathway_blocks.1.res_blocks.0.branch2.norm_b.weight'
        >>> slowfast_to_ours_key("head.projections.1.bias")
        'head.noun.bias'
    """
    return _rename(key, _SLOWFAST_TO_OURS) or key


def ours_to_slowfast_key(key: str) -> str:
    """The PySlowFast / Ego4D name of one of our SlowFast parameters (inverse of the above).

    Example:
        >>> ours_to_slowfast_key("backbone.blocks.1.multipathway_fusion.conv_fast_to_slow.weight")
        's2_fuse.conv_f2s.weight'
    """
    return _rename(key, _OURS_TO_SLOWFAST) or key


def checkpoint_format(checkpoint: Mapping[str, Any]) -> str:
    """Which layout a loaded checkpoint has: ``ego_cl``, ``lightning``, ``slowfast`` or ``state_dict``.

    Raises:
        CheckpointFormatError: None of them.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointFormatError(f"checkpoint must be a dict, got {type(checkpoint).__name__}")
    if checkpoint.get("format") in _OUR_FORMATS:
        return "ego_cl"
    if isinstance(checkpoint.get("state_dict"), Mapping):
        return "lightning"
    if isinstance(checkpoint.get("model_state"), Mapping):
        return "slowfast"
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return "state_dict"
    raise CheckpointFormatError(
        "unknown checkpoint layout: expected an ego_cl checkpoint, a Lightning 'state_dict', a "
        f"SlowFast 'model_state' or a bare state dict; top-level keys: {_few(sorted(map(str, checkpoint)))}"
    )


def _strip_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in ("model.", "module."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return dict(state)


def _rename_all(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = {("head." + k[len("head.0.") :] if k.startswith("head.0.") else k): v for k, v in state.items()}
    if any(k.startswith("s1.pathway") for k in state):
        return {slowfast_to_ours_key(k): v for k, v in state.items()}
    if any(k.startswith("blocks.") for k in state):  # pytorchvideo hub names
        return {_hub_to_ours_key(k): v for k, v in state.items()}
    return state


def _hub_to_ours_key(key: str) -> str:
    if not key.startswith("blocks."):
        return key
    key = re.sub(r"^blocks\.\d+\.proj\.", "head.proj.", key)
    return key if key.startswith("head.") else "backbone." + key


def to_network_state(checkpoint: Mapping[str, Any], *, include_head: bool = True) -> dict[str, torch.Tensor]:
    """Our network's state dict from any supported checkpoint (see the module docstring).

    Args:
        checkpoint: What ``torch.load`` returned.
        include_head: Keep the verb/noun head; ``False`` drops every ``head.*`` key (to train a
            new head, as the original did from Kinetics weights).

    Raises:
        CheckpointFormatError: Unknown layout.
    """
    fmt = checkpoint_format(checkpoint)
    if fmt == "ego_cl":
        network = checkpoint.get("network")
        if not isinstance(network, Mapping):
            raise CheckpointFormatError("ego_cl checkpoint without a 'network' state dict")
        state = dict(network)
    elif fmt == "lightning":
        state = _rename_all(_strip_prefix(checkpoint["state_dict"]))
    elif fmt == "slowfast":
        state = _rename_all(_strip_prefix(checkpoint["model_state"]))
    else:
        state = _rename_all(_strip_prefix(checkpoint))
    if not include_head:
        state = {k: v for k, v in state.items() if not k.startswith("head.")}
    return state


_FUSION_WEIGHT = re.compile(r"^backbone\.blocks\.\d+\.multipathway_fusion\.conv_fast_to_slow\.weight$")


def fusion_kernel_of(state: Mapping[str, Any]) -> int | None:
    """The SlowFast fusion kernel a state dict (our names) was trained with, from the shape of its
    fast→slow fusion weights ``[C_out, C_in, kernel, 1, 1]``; ``None`` when it has none.

    Example:
        >>> key = "backbone.blocks.1.multipathway_fusion.conv_fast_to_slow.weight"
        >>> fusion_kernel_of({key: torch.zeros(16, 8, 5, 1, 1)}), fusion_kernel_of({})
        (5, None)
    """
    for key, value in state.items():
        if _FUSION_WEIGHT.match(key) and isinstance(value, torch.Tensor) and value.dim() == 5:
            return int(value.shape[2])
    return None


def fusion_kernel_for(
    checkpoint: Mapping[str, Any], kind: str, wanted: int | None, *, source: str = "checkpoint"
) -> int | None:
    """The fusion kernel to build ``kind`` with so that ``checkpoint`` loads.

    ``wanted`` (``model.fusion_kernel``) wins when the checkpoint has no fusion weights; ``None``
    takes the checkpoint's (else the kind's default). Not a SlowFast kind: ``None``.

    Raises:
        CheckpointFormatError: ``wanted`` disagrees with the checkpoint's fusion weights.
    """
    if kind not in DEFAULT_FUSION_KERNEL:
        return wanted
    found = fusion_kernel_of(to_network_state(checkpoint))
    if wanted is not None and found is not None and wanted != found:
        raise CheckpointFormatError(
            f"{source}: its SlowFast fusion kernel is {found}, model.fusion_kernel is {wanted}; set "
            f"model.fusion_kernel={found} or leave it null (read from the checkpoint)"
        )
    return wanted if found is None else found


def _shape(value: Any) -> tuple:
    """A tensor's shape; a value that is no tensor never matches (``("not a tensor",)``)."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else ("not a tensor",)


def _check(network: VideoNetwork, state: Mapping[str, torch.Tensor], include_head: bool, source: str) -> None:
    expected = {k: v for k, v in network.state_dict().items() if include_head or not k.startswith("head.")}
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        (k, _shape(state[k]), tuple(v.shape))
        for k, v in expected.items()
        if k in state and _shape(state[k]) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        raise CheckpointMismatchError(source, missing, unexpected, mismatched)


def load_network_state(
    network: VideoNetwork,
    checkpoint: Mapping[str, Any],
    *,
    include_head: bool = True,
    source: str = "checkpoint",
) -> str:
    """Load any supported checkpoint into ``network`` (in place); returns the detected layout.

    Without the head, the network keeps its own (freshly initialised) head. Missing
    ``num_batches_tracked`` buffers (old checkpoints) are tolerated.

    Raises:
        CheckpointFormatError: Unknown layout.
        CheckpointMismatchError: Missing/unexpected keys or wrong shapes, all listed.
    """
    fmt = checkpoint_format(checkpoint)
    state = to_network_state(checkpoint, include_head=include_head)
    _check(network, state, include_head, source)
    network.load_state_dict(state, strict=False)
    return fmt


def network_checkpoint(network: VideoNetwork) -> dict[str, Any]:
    """Our network-only checkpoint: ``format``, ``kind``, class counts, the state dict (and the
    SlowFast ``fusion_kernel``).

    The dict holds only tensors, strings and ints, so it loads with ``weights_only=True``.
    """
    out = {
        "format": NETWORK_FORMAT,
        "version": 1,
        "kind": network.kind,
        "n_verbs": network.n_verbs,
        "n_nouns": network.n_nouns,
        "feature_dim": network.feature_dim,
        "network": {k: v.detach().clone() for k, v in network.state_dict().items()},
    }
    kernel = getattr(network.backbone, "fusion_kernel", None)
    if kernel is not None:
        out["fusion_kernel"] = int(kernel)
    return out


def network_from_checkpoint(
    checkpoint: Mapping[str, Any], *, dropout: float = 0.5, source: str = "checkpoint"
):
    """Build the network an ego_cl checkpoint describes and load its weights (head included; a
    SlowFast gets the fusion kernel its weights were trained with).

    Raises:
        CheckpointFormatError: Not an ego_cl checkpoint (other layouts do not say which
            architecture and class counts they need: build the network, then use
            :func:`load_network_state`).
    """
    if checkpoint_format(checkpoint) != "ego_cl":
        raise CheckpointFormatError(
            f"{source}: not an ego_cl checkpoint; build the network and load it instead"
        )
    try:
        kind, n_verbs, n_nouns = checkpoint["kind"], checkpoint["n_verbs"], checkpoint["n_nouns"]
    except KeyError as exc:
        raise CheckpointFormatError(f"{source}: ego_cl checkpoint lacks {exc.args[0]!r}") from None
    kernel = fusion_kernel_of(checkpoint["network"]) if "slowfast" in str(kind) else None
    network = build_network(kind, n_verbs=n_verbs, n_nouns=n_nouns, dropout=dropout, fusion_kernel=kernel)
    load_network_state(network, checkpoint, source=source)
    return network
