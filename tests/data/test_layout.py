"""Ego4D download layouts: v1 / v2 annotation folders, taxonomy, clips and resized copies, overrides."""

from __future__ import annotations

import pytest

from ego_cl.data.layout import LayoutError, find_cache_dir, find_layout, resized_dirs
from ego_cl.types import InputError


def _touch(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _download(root, version="v1", *, taxonomy=True, clips="clips", metadata_in_version=False):
    _touch(root / version / "ego4d.json" if metadata_in_version else root / "ego4d.json")
    _touch(root / version / "annotations/fho_lta_train.json")
    _touch(root / version / "annotations/fho_lta_val.json")
    if taxonomy:
        _touch(root / version / "annotations/fho_lta_taxonomy.json")
    if clips:
        (root / version / clips).mkdir(parents=True)
    return root


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_single_version_is_found(tmp_path, version):
    root = _download(tmp_path, version)
    layout = find_layout(root)
    assert layout.annotations_dir == root / version / "annotations"
    assert layout.video_dir == root / version / "clips"
    assert layout.taxonomy == root / version / "annotations/fho_lta_taxonomy.json"
    assert layout.metadata == root / "ego4d.json"
    assert [p.name for p in layout.lta_files] == ["fho_lta_train.json", "fho_lta_val.json"]


def test_metadata_inside_the_version_folder_and_no_taxonomy(tmp_path):
    layout = find_layout(_download(tmp_path, "v2", taxonomy=False, metadata_in_version=True))
    assert layout.metadata == tmp_path / "v2/ego4d.json"
    assert layout.taxonomy is None


def test_both_versions_are_ambiguous_until_one_is_chosen(tmp_path):
    _download(tmp_path, "v1")
    _download(tmp_path, "v2")
    with pytest.raises(LayoutError) as info:
        find_layout(tmp_path)
    message = str(info.value)
    assert "v1/annotations, v2/annotations" in message
    assert "data.annotations_dir" in message
    layout = find_layout(tmp_path, annotations_dir=tmp_path / "v2/annotations")
    assert layout.video_dir == tmp_path / "v2/clips"  # the clips of the chosen version


def test_only_a_resized_copy_is_used_as_the_clip_folder(tmp_path):
    root = _download(tmp_path, "v1", clips="clips_resized")
    assert find_layout(root).video_dir == root / "v1/clips_resized"


def test_unrecognised_layout_lists_found_and_expected(tmp_path):
    _touch(tmp_path / "ego4d.json")
    _touch(tmp_path / "v1/annotations/something_else.json")
    with pytest.raises(LayoutError) as info:
        find_layout(tmp_path)
    assert isinstance(info.value, InputError)
    assert "expected v1/annotations/fho_lta_train.json or v2/annotations/fho_lta_train.json" in str(
        info.value
    )
    no_clips = _download(tmp_path / "noclips", "v1", clips=None)
    with pytest.raises(LayoutError, match="no clip folder found"):
        find_layout(no_clips)


def test_missing_metadata_and_bad_override(tmp_path):
    _touch(tmp_path / "v1/annotations/fho_lta_train.json")
    (tmp_path / "v1/clips").mkdir()
    with pytest.raises(LayoutError, match=r"no ego4d\.json"):
        find_layout(tmp_path)
    with pytest.raises(LayoutError, match=r"data\.annotations_dir"):
        find_layout(tmp_path, annotations_dir=tmp_path / "nowhere")
    with pytest.raises(LayoutError, match="does not exist"):
        find_layout(tmp_path / "absent")


def test_cache_dir_by_name_or_by_probed_side(tmp_path):
    clips = tmp_path / "v1/clips"
    clips.mkdir(parents=True)
    assert find_cache_dir(clips, 320) is None
    plain = tmp_path / "v1/clips_resized"
    _touch(plain / "a.mp4")
    assert find_cache_dir(clips, 320, probe=lambda p: 320) == plain
    assert find_cache_dir(clips, 256, probe=lambda p: 320) is None
    named = tmp_path / "v1/clips_resized_256"
    named.mkdir()
    assert find_cache_dir(clips, 256, probe=lambda p: 320) == named
    assert resized_dirs(clips) == [plain, named]


def test_cache_next_to_a_symlinked_clip_folder_or_its_target(tmp_path):
    real = tmp_path / "disk2/clips"
    real.mkdir(parents=True)
    (tmp_path / "disk2/clips_resized_320").mkdir()
    link = tmp_path / "ego4d/v1/clips"
    link.parent.mkdir(parents=True)
    link.symlink_to(real, target_is_directory=True)
    assert find_cache_dir(link, 320) == tmp_path / "disk2/clips_resized_320"
    (tmp_path / "ego4d/v1/clips_resized_320").mkdir()
    assert find_cache_dir(link, 320) == tmp_path / "ego4d/v1/clips_resized_320"  # next to the link first
