"""Shared pytest setup: hypothesis profiles and the gpu marker."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """Each test starts and ends with structlog's defaults (runners configure it per process)."""
    import structlog

    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture(autouse=True)
def _gc_unfrozen():
    """Each test ends with nothing frozen out of the cyclic GC and the process not marked as
    ego_cl's own: an in-process command (``guarded_main``) marks it, and then freezes what a run
    loads (``ego_cl.runners.heap``), which would keep later tests' leftovers out of collection."""
    import gc

    from ego_cl.runners import heap

    yield
    heap._owned = False  # an in-process command marks the test process as ego_cl's own
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """Each test ends with torch's thread count as it found it: in-process runs set the
    process-wide count, and numeric results depend on it (a leaked count made later tests flaky)."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
