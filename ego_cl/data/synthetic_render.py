"""Pixels of the synthetic Ego4D-format dataset: user styles, object shapes and motions, H.264 encoding.

A clip shows a user's background (a coloured, textured wall seen by a hand-held camera that
drifts and wobbles) and, during each annotated action, one object: the **noun** is the object's
shape and base colour, the **verb** its motion pattern. Several objects are on screen at once
where annotations overlap. Users differ in background, palette (a hue rotation of every object
colour), camera motion and tempo (how fast they move objects): the per-user domain shift.

Everything is a pure function of its arguments; :func:`encode_clip` returns mp4 bytes encoded in
memory (libx264, one thread, so one slice per frame and identical bytes on every machine).
"""

from __future__ import annotations

import colorsys
import io
import math
from collections.abc import Iterator
from fractions import Fraction

import attrs
import numpy as np

from ego_cl.data.codec import av

__all__ = ["NOUNS", "VERBS", "ActionSpec", "ClipSpec", "UserStyle", "encode_clip", "render_frames"]

VERBS = ("move-right", "move-left", "move-up", "move-down", "circle", "pulse", "blink")
"""Verb names by label: the motion pattern of the object."""

NOUNS = ("disc", "square", "triangle", "ring", "cross", "diamond", "bar", "plus")
"""Noun names by label: the object's shape (each with its own base hue)."""

_SLIDE_PX_S = 0.34  # horizontal slide speed, in stage widths per second
_CIRCLE_PERIOD_S = 1.6
_PULSE_PERIOD_S = 1.2
_BLINK_PERIOD_S = 1.0


@attrs.frozen(kw_only=True)
class UserStyle:
    """How one user's video looks and moves (the per-user domain shift).

    Attributes:
        background_rgb: Base colour of the wall, 0..255.
        texture: ``(angle_rad, period_px, contrast)`` of the wall's stripes.
        checker_px: Period of a second, checkered texture component.
        hue_shift: Rotation of every object hue, in turns (-0.5..0.5).
        saturation: Object colour saturation.
        drift_px_s: Camera drift ``(dx, dy)`` of the background in pixels per second.
        wobble_px: Amplitude of the hand-held camera wobble, pixels.
        wobble_hz: Frequency of the wobble.
        tempo: Speed factor of every motion pattern.
    """

    background_rgb: tuple[int, int, int]
    texture: tuple[float, float, float]
    checker_px: int
    hue_shift: float
    saturation: float
    drift_px_s: tuple[float, float]
    wobble_px: float
    wobble_hz: float
    tempo: float


@attrs.frozen(kw_only=True)
class ActionSpec:
    """One object on screen during ``[start_s, end_s)`` of a clip.

    Attributes:
        start_s: When it appears (clip time, seconds).
        end_s: When it disappears.
        verb: Verb label (motion pattern).
        noun: Noun label (shape and base colour).
        anchor: ``(x, y)`` start position as fractions of the stage.
        phase: Phase of periodic motions, in turns.
    """

    start_s: Fraction
    end_s: Fraction
    verb: int
    noun: int
    anchor: tuple[float, float]
    phase: float


@attrs.frozen(kw_only=True)
class ClipSpec:
    """Everything needed to render one clip video.

    Attributes:
        clip_uid: File name stem of the clip.
        duration_s: Length in whole seconds.
        style: The user's style.
        actions: Objects to show.
    """

    clip_uid: str
    duration_s: int
    style: UserStyle
    actions: tuple[ActionSpec, ...]


def _wall(style: UserStyle, height: int, width: int) -> np.ndarray:
    """A background tile of ``2 * height`` x ``2 * width`` pixels, periodic in both axes, uint8 RGB."""
    ys, xs = np.mgrid[0 : 2 * height, 0 : 2 * width].astype(np.float32)
    angle, period, contrast = style.texture
    cycles_x = round(math.cos(angle) * 2 * width / period)
    cycles_y = round(math.sin(angle) * 2 * height / period)
    stripes = np.sin(2 * np.pi * (xs * cycles_x / (2 * width) + ys * cycles_y / (2 * height)))
    checker = ((xs // style.checker_px + ys // style.checker_px) % 2) * 2 - 1
    shade = 1 + contrast * stripes + 0.05 * checker
    base = np.asarray(style.background_rgb, dtype=np.float32)
    return np.clip(shade[..., None] * base, 0, 255).astype(np.uint8)


def _shape_mask(noun: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test of shape ``noun`` in unit coordinates (object radius 1)."""
    au, av_ = np.abs(u), np.abs(v)
    r = np.sqrt(u * u + v * v)
    if noun == 0:
        return r < 1
    if noun == 1:
        return np.maximum(au, av_) < 0.8
    if noun == 2:
        return (v < 0.7) & (au < (v + 1.0) * 0.55)
    if noun == 3:
        return (r < 1) & (r > 0.55)
    if noun == 4:
        return (np.abs(au - av_) < 0.28) & (np.maximum(au, av_) < 0.95)
    if noun == 5:
        return au + av_ < 1
    if noun == 6:
        return (au < 1) & (av_ < 0.32)
    return ((au < 0.28) & (av_ < 0.95)) | ((av_ < 0.28) & (au < 0.95))


def _object_rgb(noun: int, n_nouns: int, style: UserStyle) -> np.ndarray:
    hue = (noun / n_nouns + style.hue_shift) % 1.0
    value = 0.95 if noun % 2 == 0 else 0.75
    return np.asarray(colorsys.hsv_to_rgb(hue, style.saturation, value), dtype=np.float32) * 255


def _position(
    action: ActionSpec, t: float, tempo: float, stage: tuple[int, int, int]
) -> tuple[float, float, float]:
    """``(x, y, scale)`` of the object at clip time ``t`` (scale 0 = hidden)."""
    left, side, height = stage
    tau = (t - float(action.start_s)) * tempo
    ax, ay = action.anchor
    x, y, scale = left + ax * side, ay * height, 1.0
    phase = 2 * np.pi * action.phase
    if action.verb in (0, 1):
        sign = 1 if action.verb == 0 else -1
        x = left + ((ax + sign * _SLIDE_PX_S * tau) % 1.0) * side
    elif action.verb in (2, 3):
        sign = -1 if action.verb == 2 else 1
        y = ((ay + sign * _SLIDE_PX_S * 1.2 * tau) % 1.0) * height
    elif action.verb == 4:
        angle = phase + 2 * np.pi * tau / _CIRCLE_PERIOD_S
        x = left + side / 2 + 0.28 * side * math.cos(angle)
        y = height / 2 + 0.28 * height * math.sin(angle)
    elif action.verb == 5:
        scale = 1 + 0.5 * math.sin(phase + 2 * np.pi * tau / _PULSE_PERIOD_S)
    elif action.verb == 6:
        scale = 1.0 if math.sin(phase + 2 * np.pi * tau / _BLINK_PERIOD_S) > 0 else 0.0
    return x, y, scale


def render_frames(clip: ClipSpec, *, width: int, height: int, fps: int, n_nouns: int) -> Iterator[np.ndarray]:
    """The clip's frames, ``uint8 [height, width, 3]``, frame ``k`` at time ``k / fps``."""
    style = clip.style
    wall = np.tile(_wall(style, height, width), (2, 2, 1))
    side = min(width, height)
    stage = ((width - side) // 2, side, height)
    radius = 0.15 * side
    box = math.ceil(radius * 1.6)
    colours = {a.noun: _object_rgb(a.noun, n_nouns, style).astype(np.uint8) for a in clip.actions}
    local_y, local_x = np.mgrid[-box : box + 1, -box : box + 1].astype(np.float32)
    for k in range(clip.duration_s * fps):
        t = k / fps
        time = Fraction(k, fps)
        wob_x = style.wobble_px * math.sin(2 * np.pi * style.wobble_hz * t)
        wob_y = style.wobble_px * math.cos(2 * np.pi * style.wobble_hz * 0.7 * t)
        off_x = round(style.drift_px_s[0] * t + wob_x) % (2 * width)
        off_y = round(style.drift_px_s[1] * t + wob_y) % (2 * height)
        frame = wall[off_y : off_y + height, off_x : off_x + width].copy()
        for action in clip.actions:
            if action.start_s <= time < action.end_s:
                _draw(
                    frame,
                    action,
                    t,
                    style,
                    stage,
                    radius,
                    (local_x, local_y),
                    colours[action.noun],
                    (wob_x, wob_y),
                )
        yield frame


def _draw(
    frame: np.ndarray,
    action: ActionSpec,
    t: float,
    style: UserStyle,
    stage: tuple[int, int, int],
    radius: float,
    local: tuple[np.ndarray, np.ndarray],
    colour: np.ndarray,
    wobble: tuple[float, float],
) -> None:
    """Paint one object into ``frame`` (in place; ``frame`` is this renderer's own buffer)."""
    x, y, scale = _position(action, t, style.tempo, stage)
    if scale <= 0:
        return
    cx, cy = round(x + wobble[0]), round(y + wobble[1])
    local_x, local_y = local
    box = local_x.shape[0] // 2
    mask = _shape_mask(action.noun, local_x / (radius * scale), local_y / (radius * scale))
    height, width = frame.shape[:2]
    y0, y1, x0, x1 = cy - box, cy + box + 1, cx - box, cx + box + 1
    cy0, cy1, cx0, cx1 = max(y0, 0), min(y1, height), max(x0, 0), min(x1, width)
    if cy0 >= cy1 or cx0 >= cx1:
        return
    sub = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    frame[cy0:cy1, cx0:cx1][sub] = colour


def encode_clip(
    clip: ClipSpec, *, width: int, height: int, fps: int, n_nouns: int, crf: int = 28, gop: int = 60
) -> bytes:
    """Render and encode one clip as H.264 mp4 bytes (in memory, no file is written).

    One encoder thread gives one slice per frame (like camera and ffmpeg files) and the same
    bytes on every machine.
    """
    buffer = io.BytesIO()
    with av().open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": str(crf), "preset": "veryfast", "g": str(gop)}
        for image in render_frames(clip, width=width, height=height, fps=fps, n_nouns=n_nouns):
            for packet in stream.encode(av().VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
