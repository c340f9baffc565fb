"""``Ego4dSource``: a :class:`~ego_cl.protocols.StreamSource` over a user-split file and a video root.

Construction loads and validates the split file and checks every video up front: a clip uid
that would resolve outside the video root (``../``, absolute paths, separators, symlinks that
leave the root) is refused, and all missing videos are reported together in one error (unless
``skip_missing_videos``, which drops their annotations and logs how many). No video is opened
until :meth:`Ego4dSource.read_clip`; an instance pickles (for DataLoader workers) without any
open container.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
import torch

from ego_cl.data.problems import MAX_REPORTED
from ego_cl.data.taxonomy import Taxonomy
from ego_cl.data.usersplit import UserSplit, load_user_split
from ego_cl.data.video import ClipReader, ThreadType
from ego_cl.types import ActionAnnotation, InputError, Span, UserId

__all__ = ["Ego4dSource", "MissingVideosError", "UnsafeClipPathError", "clip_path"]

log = structlog.get_logger(__name__)


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


def clip_path(video_root: str | Path, clip_uid: str) -> Path:
    """``<video_root>/<clip_uid>.mp4``, refusing uids that would leave ``video_root``.

    Raises:
        UnsafeClipPathError: Separators, ``..``, absolute or empty uids, or a symlink out of the root.

    Example:
        >>> clip_path("/data/clips", "abc-1").as_posix()
        '/data/clips/abc-1.mp4'
    """
    bad = not clip_uid or clip_uid.startswith(".") or "/" in clip_uid or "\\" in clip_uid or "\0" in clip_uid
    if bad:
        raise UnsafeClipPathError(f"clip_uid {clip_uid!r}: not a plain file name (refused)")
    root = Path(video_root)
    path = root / f"{clip_uid}.mp4"
    if path.is_symlink() or path.exists():
        resolved, real_root = path.resolve(), root.resolve()
        if not resolved.is_relative_to(real_root):
            raise UnsafeClipPathError(f"clip_uid {clip_uid!r}: {path} leads outside {root} (refused)")
    return path


class Ego4dSource:
    """Annotated user video from an Ego4D-format split file and a directory of clip videos.

    Args:
        split_file: A user-split JSON file (original schema).
        video_dir: Directory of ``<clip_uid>.mp4`` files.
        cache_dir: Resized copies (same names); read instead of ``video_dir`` where present.
        users: Keep only these users (``None`` = all, in file order).
        taxonomy: Check labels against it while loading.
        skip_missing_videos: Drop annotations of missing videos instead of failing.
        short_side: Resize frames so the shorter side has this many pixels (``None`` = as stored).
        thread_type: Decoder threading (see :class:`~ego_cl.data.video.ClipReader`).
        thread_count: Decoder threads (1 in DataLoader workers, 0 = automatic).

    Raises:
        AnnotationError: The split file is malformed (all problems at once).
        UnsafeClipPathError: A clip uid escapes ``video_dir``.
        MissingVideosError: Videos are missing (all listed) and ``skip_missing_videos`` is off.
        KeyError: A requested user is not in the file.
    """

    def __init__(
        self,
        *,
        split_file: str | Path,
        video_dir: str | Path,
        cache_dir: str | Path | None = None,
        users: Sequence[UserId] | None = None,
        taxonomy: Taxonomy | None = None,
        skip_missing_videos: bool = False,
        short_side: int | None = None,
        thread_type: ThreadType = "AUTO",
        thread_count: int = 0,
    ):
        split = load_user_split(split_file, taxonomy=taxonomy)
        self.split_file = str(split_file)
        self.video_dir = Path(video_dir)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        selected = tuple(users) if users is not None else split.user_ids()
        for user in selected:
            if user not in split.users:
                raise KeyError(f"user {user!r} is not in {split_file}")
        self._paths = self._video_paths(split, selected)
        self._annotations = self._check_videos(split, selected, skip_missing_videos)
        self._reader_args: dict[str, Any] = {
            "short_side": short_side,
            "thread_type": thread_type,
            "thread_count": thread_count,
        }
        self._reader: ClipReader | None = None

    def _video_paths(self, split: UserSplit, users: Sequence[UserId]) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        for user in users:
            for a in split.users[user]:
                if a.clip_uid not in paths:
                    paths[a.clip_uid] = clip_path(self.video_dir, a.clip_uid)
        return paths

    def _check_videos(
        self, split: UserSplit, users: Sequence[UserId], skip: bool
    ) -> dict[UserId, tuple[ActionAnnotation, ...]]:
        missing = {uid for uid, path in self._paths.items() if not path.is_file()}
        if missing and not skip:
            raise MissingVideosError(self.split_file, sorted(self._paths[uid] for uid in missing))
        out = {u: tuple(a for a in split.users[u] if a.clip_uid not in missing) for u in users}
        if missing:
            dropped = sum(len(split.users[u]) - len(out[u]) for u in users)
            log.warning(
                "missing_videos_skipped", videos=len(missing), annotations=dropped, split=self.split_file
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

    def video_path(self, clip_uid: str) -> Path:
        """The file a clip is read from: the cached copy where present, else the source video."""
        if clip_uid not in self._paths:
            raise KeyError(f"clip_uid {clip_uid!r} belongs to none of this source's annotations")
        if self.cache_dir is not None:
            cached = clip_path(self.cache_dir, clip_uid)
            if cached.is_file():
                return cached
        return self._paths[clip_uid]

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        """``uint8 [n_frames, H, W, 3]`` frames of ``span`` (rule: :mod:`ego_cl.data.video`).

        Raises:
            KeyError: Unknown clip uid.
            VideoDecodeError: The video is missing, truncated or corrupt, or the span is outside it.
        """
        if self._reader is None:
            self._reader = ClipReader(**self._reader_args)
        return torch.from_numpy(self._reader.read(self.video_path(clip_uid), span, n_frames))
