"""Skipping unused non-reference frames: fewer frames decoded, never a different pixel."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.data.decoder import FrameDecoder
from ego_cl.data.video import ClipReader, sample_times, select_frames
from ego_cl.types import Span
from tests.data.conftest import decode_all, encode_video

TICK = Fraction(1, 210)


@pytest.fixture(scope="module")
def b_frame_video(tmp_path_factory):
    """5 s at 30 fps, a keyframe every 60 frames; x264 places non-reference B-frames in it."""
    return encode_video(tmp_path_factory.mktemp("video") / "b_frames.mp4", gop=60, seed=1)


@pytest.fixture(scope="module")
def open_gop_video(tmp_path_factory):
    """5 s of a panning texture, open GOPs: B-frames after a keyframe that are shown before it."""
    path = tmp_path_factory.mktemp("video") / "open_gop.mp4"
    rng = np.random.default_rng(2)
    texture = rng.integers(0, 255, (112, 128, 3), dtype=np.uint8)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "18", "preset": "veryfast", "g": "24", "x264-params": "open-gop=1:bframes=3"}
        for i in range(150):
            y, x = (i // 3) % 64, i % 64
            image = np.ascontiguousarray(texture[y : y + 48, x : x + 64])
            image[:2, :2] = i % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        packets = [
            (p.pts, p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.pts is not None
        ]
    leading = [k for k in range(1, len(packets) - 1) if packets[k][1] and packets[k + 1][0] < packets[k][0]]
    assert leading, "the encoder wrote no open GOP: the test would prove nothing"
    return path


@pytest.fixture(scope="module")
def oracle(b_frame_video):
    return decode_all(b_frame_video)


def _frames_out(path, targets, *, skip, thread_type="NONE", thread_count=1):
    """Every frame a decoder from the file start gives while aimed at ``targets``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.codec_context.thread_count = thread_type, thread_count
        decoder = FrameDecoder(container, stream, skip=skip)
        decoder.aim(targets)
        out = [(time, frame.to_ndarray(format="rgb24")) for frame, time in decoder]
        return out, decoder


def test_without_skipping_every_frame_comes_out(b_frame_video, oracle):
    out, decoder = _frames_out(b_frame_video, [Fraction(1)], skip=False)
    assert [t for t, _ in out] == oracle[0]
    assert decoder.skipped == 0


@pytest.mark.parametrize(("thread_type", "thread_count"), [("NONE", 1), ("FRAME", 2), ("AUTO", 0)])
def test_sparse_targets_skip_frames_and_keep_the_ones_shown(b_frame_video, oracle, thread_type, thread_count):
    times, frames = oracle
    targets = sample_times(Span(Fraction(1, 2), Fraction(9, 2)), 6)
    out, decoder = _frames_out(
        b_frame_video, targets, skip=True, thread_type=thread_type, thread_count=thread_count
    )
    assert decoder.skipped > 0
    assert len(out) < len(times)  # the decoder really left frames out
    out_times = [t for t, _ in out]
    assert out_times == sorted(out_times)
    got = np.stack([image for _, image in out])[select_frames(out_times, targets)]
    np.testing.assert_array_equal(got, frames[select_frames(times, targets)])


def test_frames_after_the_last_target_are_all_decoded(b_frame_video, oracle):
    times, _ = oracle
    last = Fraction(2)
    out, _ = _frames_out(b_frame_video, [Fraction(1), last], skip=True)
    out_times = [t for t, _ in out]
    assert [t for t in times if t > last] == [t for t in out_times if t > last]


def test_other_codecs_are_never_skipped(tmp_path):
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "2"}
        rng = np.random.default_rng(0)
        for _ in range(30):
            image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out, decoder = _frames_out(path, [Fraction(1, 2)], skip=True)
    assert decoder.skip is False
    assert decoder.skipped == 0
    assert len(out) == 30


SPAN_TICKS = st.tuples(st.integers(0, 1043), st.integers(1, 3 * 210), st.integers(1, 8))


@settings(max_examples=60, deadline=None)
@given(
    ticks=st.lists(SPAN_TICKS, min_size=1, max_size=8),
    threads=st.sampled_from([("NONE", 1), ("AUTO", 0), ("FRAME", 2)]),
    forward=st.sampled_from([1, 4, 100]),
    open_gop=st.booleans(),
)
def test_skipping_reader_equals_a_reader_decoding_every_frame(
    b_frame_video, open_gop_video, small_video, ticks, threads, forward, open_gop
):
    """Reads in stream order (continued) and in any order, over two files (one with open GOPs, or
    closed ones): identical arrays."""
    first = open_gop_video if open_gop else b_frame_video
    thread_type, thread_count = threads
    skipping = ClipReader(thread_type=thread_type, thread_count=thread_count, forward_s=forward, max_open=1)
    every = ClipReader(
        thread_type=thread_type, thread_count=thread_count, forward_s=forward, skip_nonref=False
    )
    reads = [(Span(s * TICK, (s + length) * TICK), n) for s, length, n in ticks]
    for order in (sorted(reads, key=lambda r: r[0].start_s), reads):
        for k, (span, n) in enumerate(order):
            path = (first, small_video)[k % 2] if len(order) > 3 else first
            np.testing.assert_array_equal(
                skipping.read(path, span, n), every.read(path, span, n), err_msg=f"read {k}: {span}, n={n}"
            )


# --- the rule against a model decoder: any decode order, any targets -------------------------------


class _Packet:
    def __init__(self, pts, nonref):
        self.pts, self.nonref = pts, nonref


class _Frame:
    def __init__(self, pts):
        self.pts = pts


class _ModelCodec:
    """Outputs frames in timestamp order after ``delay`` packets; with ``NONREF`` drops the
    packets marked non-reference (as libavcodec does)."""

    name = "h264"

    def __init__(self, delay):
        self.delay, self.buffer, self.skip_frame = delay, [], "DEFAULT"

    def decode(self, packet):
        if packet.pts is None:  # flush
            out, self.buffer = sorted(self.buffer), []
            return [_Frame(p) for p in out]
        if not (self.skip_frame == "NONREF" and packet.nonref):
            self.buffer.append(packet.pts)
        out = []
        while len(self.buffer) > self.delay:
            self.buffer.sort()
            out.append(_Frame(self.buffer.pop(0)))
        return out


class _ModelStream:
    start_time, time_base = 0, Fraction(1, 30)

    def __init__(self, delay):
        self.codec_context = _ModelCodec(delay)


class _ModelContainer:
    def __init__(self, packets):
        self.packets = packets

    def demux(self, stream):
        return iter([*self.packets, _Packet(None, False)])


@st.composite
def decode_orders(draw):
    """Groups of frames: each group's last frame first (an anchor), then the others in any order
    (B-frames); any frame may be non-reference. Also leading groups, as after an open-GOP seek."""
    n = draw(st.integers(1, 40))
    sizes, total = [], 0
    while total < n:
        sizes.append(draw(st.integers(1, min(4, n - total))))
        total += sizes[-1]
    order, start = [], 0
    for size in sizes:
        group = list(range(start, start + size))
        order += [group[-1], *draw(st.permutations(group[:-1]))]
        start += size
    nonref = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return [_Packet(3 * p + 6, nonref[p]) for p in order]  # from 0.2 s, in steps of 0.1 s


@settings(max_examples=300, deadline=None)
@given(packets=decode_orders(), raw=st.lists(st.integers(-2, 130), min_size=1, max_size=10))
def test_the_rule_keeps_every_frame_a_read_or_a_later_read_can_show(packets, raw):
    targets = sorted(Fraction(t, 30) + Fraction(1, 7) for t in raw)
    everything = [time for _, time in FrameDecoder(_ModelContainer(packets), _ModelStream(3), skip=False)]
    decoder = FrameDecoder(_ModelContainer(packets), _ModelStream(3), skip=True)
    decoder.aim(targets)
    shown = [time for _, time in decoder]
    assert shown == sorted(shown)
    assert [shown[i] for i in select_frames(shown, targets)] == [
        everything[i] for i in select_frames(everything, targets)
    ]
    on_screen_at_last = everything[select_frames(everything, targets[-1:])[0]]
    assert [t for t in everything if t >= on_screen_at_last] == [t for t in shown if t >= on_screen_at_last]


def test_packets_with_a_repeated_timestamp_are_never_skipped():
    packets = [_Packet(0, False), _Packet(9, False), _Packet(3, True), _Packet(3, True), _Packet(6, True)]
    decoder = FrameDecoder(_ModelContainer(packets), _ModelStream(1), skip=True)
    decoder.aim([Fraction(10, 30)])
    shown = [frame.pts for frame, _ in decoder]
    assert shown == [0, 3, 3, 9]  # 6 (between 3 and 9, shown by no instant) is left out
