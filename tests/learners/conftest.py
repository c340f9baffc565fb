"""A tiny labelled stream (2 frames x 16 x 16 clips) and a seeded tiny3d network for learner tests.

``TinyStream.gate`` is the runner's guarded fetch over the stream: a learner built with
``stream.gate.fetch`` may fetch only positions of batches passed to :func:`learn` before.
"""

from __future__ import annotations

import io

import pytest
import torch

from ego_cl.learners.networks.builders import build_network
from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.types import Batch, Target

N_VERBS, N_NOUNS = 5, 7
N_SAMPLES, BATCH = 24, 4


class TinyStream:
    """Clips and labels of a synthetic stream; ``fetch`` plays the runner's replay fetch."""

    def __init__(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.clips = torch.randn(N_SAMPLES, 3, 2, 16, 16, generator=g)
        verbs = torch.randint(0, N_VERBS - 1, (N_SAMPLES,), generator=g)  # verb 4 never occurs
        nouns = torch.randint(0, N_NOUNS, (N_SAMPLES,), generator=g)
        self.label_sets = [[(int(v), int(n))] for v, n in zip(verbs, nouns)]
        self.label_sets[5] = [*self.label_sets[5], (1, 2)]  # one multi-label sample
        self.fetched: list[list[int]] = []
        self.gate = LabelGate(self.fetch)

    def batch(self, start: int, size: int = BATCH) -> Batch:
        return self.fetch(list(range(start, start + size)))

    def batches(self, n: int) -> list[Batch]:
        return [self.batch(BATCH * i) for i in range(n)]

    def fetch(self, indices) -> Batch:
        indices = [int(i) for i in indices]
        self.fetched.append(indices)
        return Batch(
            indices=torch.tensor(indices, dtype=torch.long),
            clips=self.clips[indices].clone(),
            target=Target.from_label_sets([self.label_sets[i] for i in indices]),
        )


def learn(learner, stream: TinyStream, batch: Batch):
    """``learner.learn(batch)`` the way the online loop calls it: the gate opens to the batch's end first."""
    stream.gate.show(batch)
    return learner.learn(batch)


def tiny_network(seed: int = 0, dropout: float = 0.5):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_network("tiny3d", n_verbs=N_VERBS, n_nouns=N_NOUNS, dropout=dropout)


def roundtrip(state):
    """Through ``torch.save`` / ``torch.load(weights_only=True)``: a deep, safe-to-load copy."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def assert_same_state(a, b, path="state"):
    assert type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)), path
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype, path
        assert a.shape == b.shape, path
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_state(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.fixture
def stream():
    return TinyStream()


@pytest.fixture
def single_thread():
    """One intra-op thread: tiny convolutions are far faster without OpenMP hand-offs, above all
    on a shared, oversubscribed CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
