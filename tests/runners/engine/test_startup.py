"""A user's fixed cost is reported in its summary.json (issue 17: start-up per user)."""

from __future__ import annotations

import time

from ego_cl.runners.engine.user import stream_user
from ego_cl.runners.results import UserDir
from tests.runners.fakes import fake_parts


class _SlowFirstBatch:
    """Wraps a parts object so that its first batch arrives ``delay_s`` late."""

    def __init__(self, parts, delay_s: float):
        self._parts, self._delay_s = parts, delay_s

    def __getattr__(self, name):
        return getattr(self._parts, name)

    def batches(self, start):
        time.sleep(self._delay_s)
        yield from self._parts.batches(start)


def test_summary_reports_setup_and_first_batch_seconds(tmp_path):
    udir = UserDir(tmp_path / "u0")
    parts = _SlowFirstBatch(fake_parts(n_samples=12), delay_s=0.2)
    summary = stream_user(parts, udir, checkpoint_every=2, seed=0, setup_s=1.5)
    startup = udir.read_json("summary.json")["startup"]
    assert startup == summary["startup"]
    assert startup["setup_s"] == 1.5
    assert 0.2 <= startup["first_batch_s"] <= summary["seconds"]


def test_setup_is_none_when_not_given(tmp_path):
    udir = UserDir(tmp_path / "u0")
    summary = stream_user(fake_parts(n_samples=4), udir, checkpoint_every=2, seed=0)
    assert summary["startup"]["setup_s"] is None
    assert summary["startup"]["first_batch_s"] >= 0


def test_decode_workers_fork_even_inside_a_spawned_pool_worker():
    # a spawned process defaults to spawn for its own children: each user's decode worker would
    # import torch again; the runner asks for fork where fork is the safe platform choice
    import sys

    from ego_cl.runners.engine import build

    assert ("fork" if sys.platform.startswith("linux") else None) == build.DECODE_WORKER_START
