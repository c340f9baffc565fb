"""``Ego4dSource``: a :class:`~ego_cl.protocols.StreamSource` over a user-split file and a video root.

Construction loads and validates the split file and checks every video up front, through one
function, :func:`clip_path`, which every path built from data passes before any open: a clip uid
that would resolve outside the video root (``../``, absolute paths, separators, names longer than a
file name may be, a ``<uid>.mp4`` symlink that leaves the root) is refused with one line naming the
split file, the record and the field; a symlinked *root* is fine, and symlinks below it that leave it
are read only with ``allow_outside_symlinks``. All missing videos are reported together in one error
(unless ``skip_missing_videos``, which drops their annotations and logs how many per user).

With a ``cache_dir`` (a resized copy, :mod:`ego_cl.data.cache`) a clip is read from its cached copy
when that copy is up to date (at least as new as the source video, or the source is absent), from the
source otherwise; which clips come from where is fixed at construction (:attr:`Ego4dSource.frames`).
No video is opened until :meth:`Ego4dSource.read_clip`; an instance pickles (for DataLoader workers)
without any open container.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog
import torch

from ego_cl.data.problems import MAX_REPORTED
from ego_cl.data.taxonomy import Taxonomy
from ego_cl.data.usersplit import UserSplit, load_user_split
from ego_cl.data.video import ClipReader, ThreadType
from ego_cl.types import ActionAnnotation, InputError, Span, UserId

__all__ = ["Ego4dSource", "FrameOrigin", "MissingVideosError", "UnsafeClipPathError", "clip_path"]

log = structlog.get_logger(__name__)

_NAME_MAX = 255


class UnsafeClipPathError(InputError):
    """A clip uid would name a file outside the video root."""


class MissingVideosError(InputError):
    """Videos named by the annotations are not in the video root.

    Attributes:
        missing: Every missing file.
    """

    def __init__(self, split_file: str, missing: list[Path]):
        self.missing = missing
        shown = "\n".join(f"  {p}" for p in missing[:MAX_REPORTED])
        more = f"\n  ... and {len(missing) - MAX_REPORTED} more" if len(missing) > MAX_REPORTED else ""
        super().__init__(
            f"{split_file}: {len(missing)} video(s) missing (set data.skip_missing_videos=true to skip "
            f"their annotations):\n{shown}{more}"
        )


@attrs.frozen(kw_only=True)
class FrameOrigin:
    """Where a source's frames come from.

    Attributes:
        n_clips: Clip videos the annotations name (after dropping missing ones).
        n_cache: Of those, read from the resized cache.
        cache_dir: The cache directory (``None`` = no cache).
        cache_short_side: Its short side in pixels (``None`` = no cache).
        cached_digest: Digest of the cached clip uids (changes when the coverage does).

    Example:
        >>> FrameOrigin(n_clips=1840, n_cache=1834, cache_dir="/c", cache_short_side=320).describe()
        'cache 320p: 1834 of 1840 clips; source: 6'
    """

    n_clips: int
    n_cache: int
    cache_dir: str | None = None
    cache_short_side: int | None = None
    cached_digest: str = ""

    @property
    def n_source(self) -> int:
        """Clips read from the source videos."""
        return self.n_clips - self.n_cache

    def describe(self) -> str:
        """One line: ``cache 320p: 1834 of 1840 clips; source: 6`` (or ``source: all N clips``)."""
        if self.cache_dir is None:
            return f"source: all {self.n_clips} clips (no cache)"
        return (
            f"cache {self.cache_short_side}p: {self.n_cache} of {self.n_clips} clips; source: {self.n_source}"
        )


def clip_path(video_root: str | Path, clip_uid: str, *, allow_outside_symlinks: bool = False) -> Path:
    """``<video_root>/<clip_uid>.mp4``, refusing uids that would leave ``video_root``.

    The one check every path built from data passes before it is opened: the uid must be a plain
    file name, and the file (when it exists) must resolve under the resolved root, so a symlinked
    root is fine while a symlink below it that leaves it is refused unless ``allow_outside_symlinks``.

    Raises:
        UnsafeClipPathError: Separators, ``..``, absolute, empty or over-long uids, or a symlink out
            of the root.

    Example:
        >>> clip_path("/data/clips", "abc-1").as_posix()
        '/data/clips/abc-1.mp4'
    """
    bad = not clip_uid or clip_uid.startswith(".") or any(c in clip_uid for c in "/\\\0")
    if bad or os.path.isabs(clip_uid):
        raise UnsafeClipPathError(f"clip_uid {clip_uid[:80]!r}: not a plain file name (refused)")
    if len(f"{clip_uid}.mp4".encode()) > _NAME_MAX:
        raise UnsafeClipPathError(
            f"clip_uid {clip_uid[:40]!r}...: {len(clip_uid)} characters, longer than a file name may be"
        )
    root = Path(video_root)
    path = root / f"{clip_uid}.mp4"
    if not allow_outside_symlinks and (path.is_symlink() or path.exists()):
        resolved, real_root = path.resolve(), root.resolve()
        if not resolved.is_relative_to(real_root):
            raise UnsafeClipPathError(
                f"clip_uid {clip_uid!r}: {path} leads outside {root} to {resolved} (refused; "
                "set data.allow_outside_symlinks=true to read it)"
            )
    return path


def _is_up_to_date(cached: Path, source: Path) -> bool:
    if not cached.is_file():
        return False
    return not source.is_file() or cached.stat().st_mtime >= source.stat().st_mtime


class Ego4dSource:
    """Annotated user video from an Ego4D-format split file and a directory of clip videos.

    Args:
        split_file: A user-split JSON file (original schema), or one already loaded.
        video_dir: Directory of ``<clip_uid>.mp4`` files.
        cache_dir: Resized copies (same names); an up-to-date copy is read instead of the source.
        cache_short_side: The cache's short side in pixels (reported in :attr:`frames`).
        users: Keep only these users (``None`` = all, in file order).
        taxonomy: Check labels against it while loading.
        skip_missing_videos: Drop annotations of missing videos instead of failing.
        allow_outside_symlinks: Read ``<uid>.mp4`` symlinks that lead outside their root.
        short_side: Resize frames so the shorter side has this many pixels (``None`` = as stored).
        thread_type: Decoder threading (see :class:`~ego_cl.data.video.ClipReader`).
        thread_count: Decoder threads (1 in DataLoader workers, 0 = automatic).

    Attributes:
        frames: Where the frames come from (cache / source counts).
        dropped: User id -> annotations dropped because their video is missing.

    Raises:
        AnnotationError: The split file is malformed (all problems at once).
        UnsafeClipPathError: A clip uid escapes ``video_dir`` (or ``cache_dir``).
        MissingVideosError: Videos are missing (all listed) and ``skip_missing_videos`` is off.
        KeyError: A requested user is not in the file.
    """

    def __init__(
        self,
        *,
        split_file: str | Path | UserSplit,
        video_dir: str | Path,
        cache_dir: str | Path | None = None,
        cache_short_side: int | None = None,
        users: Sequence[UserId] | None = None,
        taxonomy: Taxonomy | None = None,
        skip_missing_videos: bool = False,
        allow_outside_symlinks: bool = False,
        short_side: int | None = None,
        thread_type: ThreadType = "AUTO",
        thread_count: int = 0,
    ):
        split = (
            split_file
            if isinstance(split_file, UserSplit)
            else load_user_split(split_file, taxonomy=taxonomy)
        )
        self.split_file = split.path
        self.video_dir = Path(video_dir)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._allow_outside = allow_outside_symlinks
        selected = tuple(users) if users is not None else split.user_ids()
        for user in selected:
            if user not in split.users:
                raise KeyError(f"user {user!r} is not in {self.split_file}")
        self._paths = self._video_paths(split, selected, self.video_dir)
        self._cached = self._cached_paths(split, selected)
        self._annotations = self._check_videos(split, selected, skip_missing_videos)
        kept = {a.clip_uid for anns in self._annotations.values() for a in anns}
        self._cached = {uid: p for uid, p in self._cached.items() if uid in kept}
        self.frames = FrameOrigin(
            n_clips=len(kept),
            n_cache=len(self._cached),
            cache_dir=str(self.cache_dir) if self.cache_dir is not None else None,
            cache_short_side=cache_short_side if self.cache_dir is not None else None,
            cached_digest=_digest(sorted(self._cached)),
        )
        self._reader_args: dict[str, Any] = {
            "short_side": short_side,
            "thread_type": thread_type,
            "thread_count": thread_count,
        }
        self._reader: ClipReader | None = None

    def _video_paths(self, split: UserSplit, users: Sequence[UserId], root: Path) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        for user in users:
            for index, a in enumerate(split.users[user]):
                if a.clip_uid not in paths:
                    try:
                        paths[a.clip_uid] = clip_path(
                            root, a.clip_uid, allow_outside_symlinks=self._allow_outside
                        )
                    except UnsafeClipPathError as exc:
                        raise UnsafeClipPathError(
                            f"{self.split_file}: users[{user}][{index}] {exc}"
                        ) from None
        return paths

    def _cached_paths(self, split: UserSplit, users: Sequence[UserId]) -> dict[str, Path]:
        if self.cache_dir is None:
            return {}
        cached = self._video_paths(split, users, self.cache_dir)
        return {uid: p for uid, p in cached.items() if _is_up_to_date(p, self._paths[uid])}

    def _check_videos(
        self, split: UserSplit, users: Sequence[UserId], skip: bool
    ) -> dict[UserId, tuple[ActionAnnotation, ...]]:
        missing = {uid for uid, path in self._paths.items() if not path.is_file() and uid not in self._cached}
        if missing and not skip:
            raise MissingVideosError(self.split_file, sorted(self._paths[uid] for uid in missing))
        out = {u: tuple(a for a in split.users[u] if a.clip_uid not in missing) for u in users}
        self.dropped = {u: len(split.users[u]) - len(out[u]) for u in users}
        if missing:
            log.warning(
                "missing_videos_skipped",
                videos=len(missing),
                annotations=sum(self.dropped.values()),
                per_user={u: n for u, n in self.dropped.items() if n},
                split=self.split_file,
            )
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_reader"] = None
        return state

    def users(self) -> Sequence[UserId]:
        """User ids in file order (``"null"`` is the participant-less group)."""
        return tuple(self._annotations)

    def annotations(self, user_id: UserId) -> Sequence[ActionAnnotation]:
        """The user's annotations in file order (videos known to exist)."""
        return self._annotations[user_id]

    def is_cached(self, clip_uid: str) -> bool:
        """Whether ``clip_uid`` is read from the cache."""
        return clip_uid in self._cached

    def video_path(self, clip_uid: str) -> Path:
        """The file a clip is read from: its up-to-date cached copy, else the source video."""
        if clip_uid not in self._paths:
            raise KeyError(f"clip_uid {clip_uid!r} belongs to none of this source's annotations")
        return self._cached.get(clip_uid) or self._paths[clip_uid]

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        """``uint8 [n_frames, H, W, 3]`` frames of ``span`` (rule: :mod:`ego_cl.data.video`).

        Raises:
            KeyError: Unknown clip uid.
            VideoDecodeError: The video is missing, truncated or corrupt, or the span is outside it.
        """
        if self._reader is None:
            self._reader = ClipReader(**self._reader_args)
        return torch.from_numpy(self._reader.read(self.video_path(clip_uid), span, n_frames))


def _digest(uids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(uids).encode()).hexdigest()[:16]
