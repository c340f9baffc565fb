"""Side effects (processes, logging config, CUDA device choice, TensorBoard, file writes, global
seeding) appear only in ``ego_cl/runners``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ego_cl
from tests.architecture.scan import scan_package, violations

PACKAGE = Path(ego_cl.__file__).parent


def test_package_has_no_side_effects_outside_runners():
    assert scan_package(PACKAGE) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch.multiprocessing as mp",
        "from torch import multiprocessing",
        "import structlog\nstructlog.configure()",
        "import torch\ntorch.cuda.set_device(0)",
        "from torch.utils.tensorboard import SummaryWriter",
        "open('x', 'w')",
        "open('x', mode='ab')",
        "from pathlib import Path\nPath('x').write_text('y')",
        "import torch\ntorch.save({}, 'x')",
        "import torch\ntorch.manual_seed(0)",
        "x = 1\nx.cuda()",
        "import os\nos.replace('a', 'b')",
    ],
)
def test_scan_catches_each_side_effect(snippet):
    assert list(violations(snippet, "bad.py")), snippet


@pytest.mark.parametrize("snippet", ["open('x')", "open('x', 'rb')", "'a'.replace('a', 'b')"])
def test_scan_allows_reads(snippet):
    assert list(violations(snippet, "ok.py")) == []


def test_scan_fails_on_a_bad_module_in_a_copy_of_the_package(tmp_path):
    copy = tmp_path / "ego_cl"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "streams" / "leaky.py").write_text("import torch.multiprocessing as mp\n")
    found = scan_package(copy)
    assert len(found) == 1
    assert "leaky.py" in found[0]
