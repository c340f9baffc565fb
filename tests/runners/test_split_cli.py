"""``python -m ego_cl.runners.split`` end to end on the synthetic dataset."""

from __future__ import annotations

import errno
import json

import pytest

from ego_cl.data.usersplit import load_user_split
from ego_cl.runners import datasets
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.datasets import write_split_documents
from ego_cl.runners.files import NoSpaceError
from ego_cl.runners.split import main
from tests.data.conftest import synthetic_config, synthetic_root  # noqa: F401  (session fixtures)


@pytest.mark.integration
def test_split_cli_writes_three_files_and_summary(tmp_path, synthetic_root, capsys):  # noqa: F811
    out = tmp_path / "split"
    argv = [
        "--ego4d-root",
        str(synthetic_root),
        "--out",
        str(out),
        "--criterion",
        "random",
        "--n-eval",
        "3",
        "--n-train",
        "1",
    ]
    assert guarded_main(main, argv) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "ego4d_LTA_pretrain_incl_nanusers_usersplit_5users.json",
        "ego4d_LTA_test_usersplit_2users.json",
        "ego4d_LTA_train_usersplit_1users.json",
        "split_summary.json",
    ]
    summary = json.loads((out / "split_summary.json").read_text())
    assert [u["subset"] for u in summary["users"]].count("test") == 2
    pretrain = load_user_split(out / names[0])
    assert "null" in pretrain.users
    assert "train:" in capsys.readouterr().out


@pytest.mark.integration
def test_paper_criterion_fails_with_a_hint(tmp_path, synthetic_root, capsys):  # noqa: F811
    argv = ["--ego4d-root", str(synthetic_root), "--out", str(tmp_path / "s"), "--n-eval", "3"]
    assert guarded_main(main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--criterion random" in err
    assert not (tmp_path / "s").exists()


@pytest.mark.integration
def test_bad_annotations_exit_2_naming_file_and_field(tmp_path, capsys):
    (tmp_path / "v1/annotations").mkdir(parents=True)
    (tmp_path / "ego4d.json").write_text(json.dumps({"videos": []}))
    (tmp_path / "v1/annotations/fho_lta_train.json").write_text(json.dumps({"clips": [{"clip_uid": "x"}]}))
    assert guarded_main(main, ["--ego4d-root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "fho_lta_train.json" in err
    assert "clips[0] (clip_uid=x): field 'video_uid': missing" in err


def test_split_documents_read_back_as_json_dumps_would_have_written_them(tmp_path):
    entry = {"clip_uid": "c", "t": 1.5, "n": 7, "name": "é", "frames": None, "odd": float("nan")}
    documents = {
        "a.json": {"split": "test", "users": {"68": [entry], "null": []}, "clips": [entry], "k": {3: "x"}},
        "b.json": {"big": 2**70, "list": [1, 2.0, -0.0]},  # beyond 64 bits: json.dumps writes it
    }
    write_split_documents(documents, tmp_path)
    a = json.loads((tmp_path / "a.json").read_bytes())
    expected = json.loads(json.dumps(documents["a.json"]).replace("NaN", "null"))  # strict JSON
    assert a == expected
    assert a["users"]["68"][0]["odd"] is None
    assert a["k"] == {"3": "x"}
    b = json.loads((tmp_path / "b.json").read_text())
    assert b == documents["b.json"]
    assert type(b["list"][1]) is float
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # no temporaries left


def test_a_failed_split_file_write_raises_and_stops_the_files_after_it(tmp_path, monkeypatch):
    written: list[str] = []

    def write(path, data):
        written.append(path.name)
        if path.name == "b.json":
            raise NoSpaceError(path, OSError(errno.ENOSPC, "No space left on device"))
        (tmp_path / path.name).write_bytes(data)

    monkeypatch.setattr(datasets, "atomic_write_bytes", write)
    documents = {name: {"split": name} for name in ("a.json", "b.json", "c.json")}
    with pytest.raises(NoSpaceError, match=r"b\.json"):
        write_split_documents(documents, tmp_path)
    assert written == ["a.json", "b.json"]
    assert json.loads((tmp_path / "a.json").read_bytes()) == {"split": "a.json"}
    assert not (tmp_path / "c.json").exists()
