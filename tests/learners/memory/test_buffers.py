"""Replay memories: FIFO exactness, reservoir inclusion probability, class balance, the original's
quirks on hand-traced examples, and bit-identical state round-trips."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.learners.memory import cbrs, reservoir
from ego_cl.learners.memory.cbrs import ClassBalancedMemory
from ego_cl.learners.memory.fifo import FifoMemory
from ego_cl.learners.memory.policy import build_memory, draw
from ego_cl.learners.memory.reservoir import ReservoirMemory

batch_sizes = st.lists(st.integers(1, 6), min_size=1, max_size=12)


def _batches(sizes):
    start = 0
    for size in sizes:
        yield list(range(start, start + size))
        start += size


def _no_actions(indices):
    return [(0, 0)] * len(indices)


class ScriptedDraws:
    """Stands in for the memories' random draws: returns scripted values, records each bound."""

    def __init__(self, values):
        self.values = list(values)
        self.highs: list[int] = []

    def __call__(self, high, generator):
        self.highs.append(high)
        value = self.values.pop(0)
        assert 0 <= value < high
        return value


@pytest.fixture
def scripted(monkeypatch):
    def install(values):
        draws = ScriptedDraws(values)
        monkeypatch.setattr(reservoir, "randint", draws)
        monkeypatch.setattr(cbrs, "randint", draws)
        return draws

    return install


# ---- FIFO -------------------------------------------------------------------------------------


@given(sizes=batch_sizes, capacity=st.integers(0, 10))
def test_fifo_holds_exactly_the_last_capacity_indices(sizes, capacity):
    memory, seen = FifoMemory(capacity=capacity), []
    for batch in _batches(sizes):
        memory.add(batch, _no_actions(batch))
        seen += batch
        assert memory.contents() == (seen[-capacity:] if capacity else seen)


@given(sizes=batch_sizes, capacity=st.integers(1, 10))
def test_fifo_lag_matches_the_original_index_range(sizes, capacity):
    """The original stores range(max(0, i_min - M), i_min) after learning a batch starting at i_min."""
    memory = FifoMemory(capacity=capacity, upstream_fifo_lag=True)
    for batch in _batches(sizes):
        memory.add(batch, _no_actions(batch))
        i_min = batch[0]
        assert memory.contents() == list(range(max(0, i_min - capacity), i_min))


def test_fifo_lag_hand_traced():
    memory = FifoMemory(capacity=6, upstream_fifo_lag=True)
    traced = []
    for batch in ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]):
        memory.add(batch, _no_actions(batch))
        traced.append(memory.contents())
    assert traced == [[], [0, 1, 2, 3], [2, 3, 4, 5, 6, 7]]


# ---- reservoir --------------------------------------------------------------------------------


def _inclusion_counts(n_items, capacity, batch, reps, upstream=False):
    counts = torch.zeros(n_items, dtype=torch.long)
    for seed in range(reps):
        memory = ReservoirMemory(capacity=capacity, seed=seed, upstream_batch_nobs=upstream)
        for start in range(0, n_items, batch):
            indices = list(range(start, min(start + batch, n_items)))
            memory.add(indices, _no_actions(indices))
        assert len(memory) == capacity
        counts[memory.contents()] += 1
    return counts


def _looks_uniform(counts, p, reps):
    """Every index within 5 binomial standard deviations of reps * p (false alarm < 1e-5)."""
    sd = (reps * p * (1 - p)) ** 0.5
    return bool(((counts.double() - reps * p).abs() <= 5 * sd).all())


def test_reservoir_inclusion_probability_is_capacity_over_n():
    n_items, capacity, reps = 50, 10, 2000
    counts = _inclusion_counts(n_items, capacity, batch=10, reps=reps)
    assert _looks_uniform(counts, capacity / n_items, reps)


def test_inclusion_check_rejects_the_batch_nobs_quirk():
    """The tolerance is tight enough to see the original's bias (so the test above can fail)."""
    n_items, capacity, reps = 50, 10, 2000
    counts = _inclusion_counts(n_items, capacity, batch=10, reps=reps, upstream=True)
    assert not _looks_uniform(counts, capacity / n_items, reps)


def test_reservoir_batch_nobs_hand_traced(scripted):
    """M=2; batches [10, 11, 12] then [13, 14]; draws 0, 1, 3."""
    correct = scripted([0, 1, 3])
    memory = ReservoirMemory(capacity=2, seed=0)
    memory.add([10, 11, 12], _no_actions([0] * 3))
    memory.add([13, 14], _no_actions([0] * 2))
    assert correct.highs == [3, 4, 5]  # each sample draws from its own position
    assert memory.contents() == [12, 13]  # 12 -> slot 0; 13 -> slot 1; 14: 3 >= M, dropped

    quirk = scripted([0, 1, 3])
    memory = ReservoirMemory(capacity=2, seed=0, upstream_batch_nobs=True)
    memory.add([10, 11, 12], _no_actions([0] * 3))
    memory.add([13, 14], _no_actions([0] * 2))
    assert quirk.highs == [3, 5, 5]  # the batch-end count for every sample of a batch
    assert memory.contents() == [12, 13]
    assert memory.n_seen == 5


def test_unlimited_reservoir_keeps_everything():
    memory = ReservoirMemory(capacity=0, seed=0)
    memory.add(list(range(100)), _no_actions([0] * 100))
    assert memory.contents() == list(range(100))


# ---- class-balanced ---------------------------------------------------------------------------


@given(
    classes=st.lists(st.integers(0, 3), min_size=1, max_size=80),
    capacity=st.integers(5, 12),
    seed=st.integers(0, 2**16),
)
def test_cbrs_never_shrinks_a_bin_while_a_larger_one_exists(classes, capacity, seed):
    memory = ClassBalancedMemory(capacity=capacity, seed=seed)
    for index, c in enumerate(classes):
        before = memory.bin_sizes()
        memory.add([index], [(c, c)])
        after = memory.bin_sizes()
        for action, size in before.items():
            if after[action] < size:
                assert size == max(before.values()), (before, after)
        assert len(memory) == min(index + 1, capacity)


def test_cbrs_keeps_every_minority_sample():
    memory = ClassBalancedMemory(capacity=10, seed=0)
    majority = list(range(100))
    memory.add(majority, [(0, 0)] * 100)
    memory.add([100, 101, 102], [(1, 1)] * 3)
    memory.add([103], [(2, 2)])
    assert memory.bin_sizes() == {(0, 0): 6, (1, 1): 3, (2, 2): 1}
    assert {100, 101, 102, 103} <= set(memory.contents())


def test_cbrs_hand_traced(scripted):
    """M=4: A A A B fill; C evicts A[draw 0]; A (now full) reservoirs within A; D converts."""
    a, b, c, d = (0, 1), (2, 3), (4, 5), (6, 7)
    draws = scripted([0, 1, 2])
    memory = ClassBalancedMemory(capacity=4, seed=0)
    memory.add([0, 1, 2, 3], [a, a, a, b])
    assert memory.contents() == [0, 1, 2, 3]
    assert draws.highs == []
    memory.add([4], [c])  # largest bin A (3) is marked full and loses its slot 0
    assert memory.contents() == [1, 2, 3, 4]
    assert draws.highs == [3]
    memory.add([5], [a])  # A is full: j ~ U{0..n_A-1} = U{0..3}; j=1 < |A|=2 -> replace A[1]
    assert memory.contents() == [1, 5, 3, 4]
    assert draws.highs == [3, 4]
    memory.add([6], [d])  # 4 classes >= 4 slots: plain reservoir with n_seen = 6 + 1
    assert memory.is_reservoir
    assert draws.highs == [3, 4, 7]
    assert memory.contents() == [1, 5, 6, 4]


def test_cbrs_unlimited_never_converts():
    memory = ClassBalancedMemory(capacity=0, seed=0)
    memory.add(list(range(20)), [(i, i) for i in range(20)])
    assert not memory.is_reservoir
    assert memory.contents() == list(range(20))


# ---- shared -----------------------------------------------------------------------------------


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("policy", ["fifo", "reservoir", "class_balanced"])
@pytest.mark.parametrize("upstream", [False, True])
def test_state_roundtrip_continues_identically(policy, upstream):
    def make():
        return build_memory(
            policy, capacity=6, seed=3, upstream_fifo_lag=upstream, upstream_batch_nobs=upstream
        )

    g = torch.Generator().manual_seed(1)
    stream = [(i, (int(v), int(v))) for i, v in enumerate(torch.randint(0, 3, (60,), generator=g))]
    first, second = stream[:30], stream[30:]
    memory = make()
    for k in range(0, 30, 4):
        memory.add([i for i, _ in first[k : k + 4]], [a for _, a in first[k : k + 4]])
    restored = make()
    restored.load_state_dict(_roundtrip(memory.state_dict()))
    assert restored.contents() == memory.contents()
    for k in range(0, 30, 4):
        chunk = second[k : k + 4]
        for m in (memory, restored):
            m.add([i for i, _ in chunk], [a for _, a in chunk])
        assert restored.contents() == memory.contents()


def test_cbrs_roundtrip_after_conversion():
    memory = ClassBalancedMemory(capacity=2, seed=0)
    memory.add([0, 1, 2], [(0, 0), (1, 1), (2, 2)])
    restored = ClassBalancedMemory(capacity=2, seed=9)
    restored.load_state_dict(_roundtrip(memory.state_dict()))
    for m in (memory, restored):
        m.add(list(range(3, 20)), [(5, 5)] * 17)
    assert restored.is_reservoir
    assert restored.contents() == memory.contents()


def test_draw_is_uniform_without_replacement_and_seeded():
    pool = list(range(100, 110))
    picks = draw(pool, 4, torch.Generator().manual_seed(5))
    assert len(set(picks)) == 4
    assert set(picks) <= set(pool)
    assert picks == draw(pool, 4, torch.Generator().manual_seed(5))
    assert draw([], 4, torch.Generator()) == []
