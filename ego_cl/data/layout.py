"""Where the files of an Ego4D download are: metadata, LTA annotations, taxonomy, clips, resized copies.

The Ego4D CLI (``python -m ego4d.cli.cli --datasets annotations clips lta_models --benchmarks FHO``)
writes ``<root>/ego4d.json`` and ``<root>/<version>/{annotations,clips,lta_models}`` for
``--version v1`` or ``v2``; the LTA annotations are ``fho_lta_{train,val}.json`` next to
``fho_lta_taxonomy.json``. Resized copies sit next to the clips: ``<clips>_resized_<side>`` (what
``python -m ego_cl.runners.resize`` writes) or ``clips_resized`` (the Ego4D forecasting repo's
320p copy; its side is read from its first video). :func:`find_layout` picks each part where that is
unambiguous and otherwise fails with one message listing what it found and what it expected;
``annotations_dir`` / ``video_dir`` choose explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from ego_cl.types import InputError

__all__ = ["Ego4dLayout", "LayoutError", "find_cache_dir", "find_layout", "resized_dirs"]

LTA_TRAIN = "fho_lta_train.json"
TAXONOMY = "fho_lta_taxonomy.json"
METADATA = "ego4d.json"
VERSIONS = ("v1", "v2")
_RESIZED = re.compile(r"^(?P<base>.+)_resized(?:_(?P<side>\d+))?$")


class LayoutError(InputError):
    """The directory is not an Ego4D download this library understands (or is ambiguous)."""


@attrs.frozen(kw_only=True)
class Ego4dLayout:
    """The resolved parts of one Ego4D root.

    Attributes:
        root: The Ego4D root.
        metadata: ``ego4d.json``.
        annotations_dir: Directory with ``fho_lta_train.json`` (and maybe ``fho_lta_val.json``).
        taxonomy: ``fho_lta_taxonomy.json`` in ``annotations_dir``, or ``None``.
        video_dir: Directory of ``<clip_uid>.mp4`` files.
    """

    root: Path
    metadata: Path
    annotations_dir: Path
    taxonomy: Path | None
    video_dir: Path

    @property
    def lta_files(self) -> tuple[Path, ...]:
        """``fho_lta_train.json`` and, where present, ``fho_lta_val.json``."""
        val = self.annotations_dir / "fho_lta_val.json"
        return (self.annotations_dir / LTA_TRAIN, *((val,) if val.is_file() else ()))


def _rel(root: Path, paths: Iterable[Path]) -> str:
    names = [p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in paths]
    return ", ".join(names) or "nothing"


def _pick(root: Path, what: str, found: list[Path], expected: str, override: str) -> Path:
    if len(found) == 1:
        return found[0]
    if not found:
        raise LayoutError(f"{root}: no {what} found (expected {expected}; or set {override})")
    raise LayoutError(f"{root}: {what} is ambiguous: found {_rel(root, found)} (set {override} to choose)")


def find_layout(
    root: str | Path, *, annotations_dir: str | Path | None = None, video_dir: str | Path | None = None
) -> Ego4dLayout:
    """The layout of the Ego4D download at ``root``.

    Args:
        root: The download directory (``--output_directory`` of the Ego4D CLI).
        annotations_dir: Use this annotation directory instead of looking for one.
        video_dir: Use this clip directory instead of looking for one.

    Raises:
        LayoutError: ``root`` is missing, or a part is missing or ambiguous (the message lists
            what was found and what was expected).
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"data.ego4d_root: {root} does not exist (expected an Ego4D download directory)")
    if annotations_dir is not None:
        ann = Path(annotations_dir)
        if not (ann / LTA_TRAIN).is_file():
            raise LayoutError(f"data.annotations_dir: {ann} has no {LTA_TRAIN}")
    else:
        dirs = [root / v / "annotations" for v in VERSIONS] + [root / "annotations"]
        ann = _pick(
            root,
            "LTA annotation folder",
            [d for d in dirs if (d / LTA_TRAIN).is_file()],
            f"v1/annotations/{LTA_TRAIN} or v2/annotations/{LTA_TRAIN}",
            "data.annotations_dir",
        )
    version = ann.parent if ann.parent != root and ann.parent.parent == root else root
    metadata = next((p for p in (root / METADATA, version / METADATA) if p.is_file()), None)
    if metadata is None:
        raise LayoutError(f"{root}: no {METADATA} (expected {METADATA} or <version>/{METADATA})")
    return Ego4dLayout(
        root=root,
        metadata=metadata,
        annotations_dir=ann,
        taxonomy=ann / TAXONOMY if (ann / TAXONOMY).is_file() else None,
        video_dir=Path(video_dir) if video_dir is not None else _video_dir(root, version),
    )


def _video_dir(root: Path, version: Path) -> Path:
    if (version / "clips").is_dir():
        return version / "clips"
    clips = [d for d in [root / v / "clips" for v in VERSIONS] + [root / "clips"] if d.is_dir()]
    if clips:
        return _pick(root, "clip folder", clips, "<version>/clips", "data.video_dir")
    resized = [r for base in dict.fromkeys((version, root)) for r in resized_dirs(base / "clips")]
    return _pick(
        root,
        "clip folder",
        resized,
        "v1/clips, v2/clips or a resized copy such as v1/clips_resized",
        "data.video_dir",
    )


def resized_dirs(video_dir: str | Path) -> list[Path]:
    """Resized copies next to ``video_dir``: ``<name>_resized_<side>`` and ``<name>_resized``.

    Example:
        >>> resized_dirs("/nonexistent/clips")
        []
    """
    video_dir = Path(video_dir)
    parent = video_dir.parent
    if not parent.is_dir():
        return []
    out = []
    for d in sorted(parent.iterdir()):
        match = _RESIZED.match(d.name)
        if match and match["base"] == video_dir.name and d.is_dir():
            out.append(d)
    return out


def find_cache_dir(video_dir: str | Path, short_side: int, probe=None) -> Path | None:
    """The resized copy of ``video_dir`` at ``short_side``, or ``None``.

    ``<video_dir>_resized_<short_side>`` when present; else ``<video_dir>_resized`` when its first
    video's short side (read by ``probe(path) -> short side``) is ``short_side``. Both are looked
    for next to ``video_dir`` as given and, when it is a symlink, next to the folder it points to.
    """
    given = Path(video_dir)
    for base in dict.fromkeys((given, given.resolve())):
        named = base.with_name(f"{base.name}_resized_{short_side}")
        if named.is_dir():
            return named
        plain = base.with_name(f"{base.name}_resized")
        if plain.is_dir() and probe is not None:
            first = next(iter(sorted(plain.glob("*.mp4"))), None)
            if first is not None and probe(first) == short_side:
                return plain
    return None
