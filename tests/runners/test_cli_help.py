"""Every command's --help is right for that command (issue 18.7), synth --users N writes N users,
a learner.kind override names the keys a config file left for another learner."""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter

import pytest

from ego_cl.data.config import SyntheticConfig
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.config import ConfigError, StreamRunConfig, load_config
from ego_cl.runners.pretraining.config import PretrainConfig

COMMANDS = {
    "stream": StreamRunConfig,
    "pretrain": PretrainConfig,
    "summarize": StreamRunConfig,
    "synth": SyntheticConfig,
    "checkpoints": None,
    "hindsight": None,
    "report": None,
    "split": None,
    "resize": None,
}


def _help(command: str, capsys) -> str:
    module = importlib.import_module(f"ego_cl.runners.{command}")
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_has_no_markup_and_its_example_is_one_of_its_keys(command, capsys):
    text = _help(command, capsys)
    assert f"python -m ego_cl.runners.{command}" in text
    assert "``" not in text
    assert not re.search(r":(func|class|mod|data):", text)
    description = text.split("\n\n")[1]
    assert not description.startswith("python -m"), description  # a sentence, not the usage again
    example = re.search(r"dotted overrides, e\.g\.\s+(.*?)\n\s*\n", text + "\n\n", re.S)
    config = COMMANDS[command]
    assert (example is not None) is (config is not None)
    if config is not None:
        overrides = example[1].split()
        load_config(config, overrides=overrides)  # the example is valid for this command


@pytest.mark.integration
@pytest.mark.parametrize("n_users", [2, 5])
def test_synth_users_writes_that_many_users(tmp_path, n_users):
    from ego_cl.runners.synth import main

    out = tmp_path / "d"
    small = [
        "pretrain_user_s=20",
        "nan_video_s=10",
        "recordings_per_user=1",
        "clip_s=20",
        "width=32",
        "height=32",
    ]
    assert guarded_main(main, ["--out", str(out), "--users", str(n_users), *small]) == 0
    videos = json.loads((out / "ego4d.json").read_text())["videos"]
    users = Counter(v.get("fb_participant_id") for v in videos if v.get("fb_participant_id") is not None)
    assert len(users) == n_users


def test_synth_users_conflicts_with_explicit_user_counts(tmp_path, capsys):
    from ego_cl.runners.synth import main

    assert guarded_main(main, ["--out", str(tmp_path / "d"), "--users", "4", "n_eval_users=3"]) == 2
    assert "drop n_eval_users" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_synth_print_config_shows_the_users(tmp_path, capsys):
    from ego_cl.runners.synth import main

    with pytest.raises(SystemExit) as info:
        main(["--out", str(tmp_path / "d"), "--users", "6", "--print-config"])
    assert info.value.code == 0
    printed = capsys.readouterr().out
    assert "n_eval_users: 3" in printed
    assert "n_pretrain_users: 3" in printed


def test_kind_override_names_the_keys_of_the_other_learner(tmp_path):
    path = tmp_path / "ewc.yaml"
    path.write_text("learner:\n  kind: ewc\n  lr: 1e-3\n  ewc_lambda: 5\n")
    assert load_config(StreamRunConfig, path).learner.ewc_lambda == 5
    with pytest.raises(ConfigError) as info:
        load_config(StreamRunConfig, path, ["learner.kind=finetune"])
    [line] = info.value.lines()  # lr is shared: only ewc_lambda is foreign
    assert line.startswith("config error: learner.ewc_lambda: unknown key for kind=finetune (a key of ewc;")
    with pytest.raises(ConfigError, match=r"learner\.nonexistent: unknown key"):
        load_config(StreamRunConfig, overrides=["learner.nonexistent=1"])
