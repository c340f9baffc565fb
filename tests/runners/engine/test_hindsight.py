"""Hindsight evaluation on a real (tiny) stream run: pretrained pass = frozen baseline, resume,
transfer matrix, and the report picking it up."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from ego_cl.runners import hindsight
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.engine.hindsight import run_hindsight
from ego_cl.runners.reporting.data import read_log
from ego_cl.runners.reporting.report import collect, write_report
from ego_cl.runners.results import PRETRAINED
from ego_cl.runners.stream import run_stream
from tests.runners.tiny_run import make_tiny, tiny_config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hindsight")
    cfg, overrides = tiny_config(make_tiny(home), home / "runs")
    summary = run_stream(cfg, overrides)
    assert summary["failed"] == []
    return Path(summary["run_dir"])


def _users(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "users").iterdir())


def test_transfer_pairs_pretrained_row_equals_the_frozen_baseline_and_resume(run_dir):
    users = _users(run_dir)
    outcomes = run_hindsight(run_dir, transfer=True, processes=0)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert len(outcomes) == len(users) + len(users) ** 2
    for uid in users:
        # the frozen model in eval mode over the stream is exactly the online frozen baseline
        pretrained = read_log(run_dir / "hindsight" / PRETRAINED / uid)
        assert pretrained.equals(read_log(run_dir / "baseline" / uid))
        final = read_log(run_dir / "hindsight" / uid / uid)
        assert (
            final.column("index").to_pylist() == read_log(run_dir / "users" / uid).column("index").to_pylist()
        )
        assert not final.equals(pretrained)  # the final model learned (lr=0.1)
    # resume: a lost pair is recomputed identically, the others are skipped
    lost = run_dir / "hindsight" / users[0] / users[1]
    before = read_log(lost)
    (lost / "DONE").unlink()
    outcomes = run_hindsight(run_dir, transfer=True, processes=0)
    redone = [o.key for o in outcomes if not o.result.get("skipped")]
    assert redone == [f"hindsight/{users[0]}/{users[1]}"]
    assert read_log(lost).equals(before)


@pytest.mark.integration
def test_report_adds_hag_and_transfer_after_hindsight(run_dir, capsys):
    assert guarded_main(hindsight.main, [str(run_dir), "--transfer", "--processes", "0"]) == 0
    assert "0 failed" in capsys.readouterr().out
    methods = collect([run_dir])
    method = methods[0]
    assert "hag/action/balanced_top1" in method.summary
    assert method.summary["hag/action/balanced_top1"].n_users == len(_users(run_dir))
    markdown = write_report(methods, run_dir / "report")
    assert "HAG action" in markdown
    assert any(p.name.startswith("transfer_") for p in (run_dir / "report" / "plots").iterdir())


@pytest.mark.integration
def test_not_a_run_dir_is_an_input_error(tmp_path):
    assert guarded_main(hindsight.main, [str(tmp_path)]) == 2


def test_changed_inputs_are_refused(run_dir, tmp_path):
    from ego_cl.runners.config import StreamRunConfig, load_config
    from ego_cl.runners.engine.hindsight import check_same_inputs
    from ego_cl.runners.inputs import resolve_inputs
    from ego_cl.types import InputError

    cfg = load_config(StreamRunConfig, run_dir / "config.yaml")
    inputs = resolve_inputs(cfg)
    check_same_inputs(run_dir, cfg, inputs)  # unchanged: fine
    other = tmp_path / "other.pt"
    other.write_bytes(Path(inputs.checkpoint).read_bytes() + b"\0")
    with pytest.raises(InputError, match="changed since the run"):
        check_same_inputs(run_dir, cfg, attrs.evolve(inputs, checkpoint=str(other)))
