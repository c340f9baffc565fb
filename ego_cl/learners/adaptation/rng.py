"""A learner's private random stream for layers that only read the global RNG (dropout).

``nn.Dropout`` draws from torch's default generator. A learner must not depend on (or disturb)
the global RNG, so every train-mode forward runs inside :meth:`PrivateRng.active`: the global
state is saved, replaced by the learner's own state, and restored afterwards, while the
learner's state advances. Results then depend only on the learner's seed and history, and the
state is part of ``state_dict`` (bit-identical resume).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch

__all__ = ["PrivateRng"]


def _default_generator(device: torch.device) -> torch.Generator:
    if device.type == "cpu":
        return torch.default_generator
    if device.type == "cuda":
        return torch.cuda.default_generators[_index(device)]
    raise ValueError(f"unsupported device type {device.type!r} for dropout randomness")


def _index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


def _initial_state(seed: int, device: torch.device) -> torch.Tensor:
    return torch.Generator(device=device).manual_seed(seed).get_state()


@contextlib.contextmanager
def _installed(state: torch.Tensor, device: torch.device) -> Iterator[torch.Generator]:
    devices = [_index(device)] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        generator = _default_generator(device)
        generator.set_state(state)
        yield generator


class PrivateRng:
    """The random stream of one learner on one device.

    Args:
        seed: Seed of the stream.
        device: The device whose default generator dropout uses (the learner's device).

    Example:
        >>> rng = PrivateRng(seed=0, device="cpu")
        >>> with rng.active():
        ...     a = torch.rand(1)
        >>> with PrivateRng(seed=0, device="cpu").active():
        ...     b = torch.rand(1)
        >>> bool(a == b)
        True
    """

    def __init__(self, *, seed: int, device: torch.device | str):
        self.seed = seed
        self.device = torch.device(device)
        self._state = _initial_state(seed, self.device)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the body with this stream as the global RNG; the stream advances."""
        with _installed(self._state, self.device) as generator:
            yield
            self._state = generator.get_state()

    @contextlib.contextmanager
    def side_stream(self, key: int) -> Iterator[None]:
        """Run the body with a stream derived from ``(seed, key)``; nothing advances.

        Used where randomness must not change the learner (train-mode ``predict``).
        """
        state = _initial_state((self.seed * 1_000_003 + key) % (2**63), self.device)
        with _installed(state, self.device):
            yield

    def state_dict(self) -> dict[str, Any]:
        """The seed (it keys the side streams) and the generator state (a CPU ``ByteTensor``)."""
        return {"seed": self.seed, "state": self._state.clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.seed = int(state["seed"])
        self._state = state["state"].clone()
