"""Clip transforms."""

from __future__ import annotations

import pickle

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torchvision.transforms.v2 import functional as tvf

from ego_cl.streams.transform import EvalTransform, TrainTransform, uniform_temporal_indices


def _clip(t=16, h=40, w=60, seed=0) -> torch.Tensor:
    return torch.randint(
        0, 256, (t, h, w, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def _train(seed=0, **kw) -> TrainTransform:
    kw = {"n_frames": 4, "min_side_px": 32, "max_side_px": 48, "crop_px": 24, **kw}
    return TrainTransform(generator=torch.Generator().manual_seed(seed), **kw)


def test_eval_output_shape_dtype_and_no_input_mutation():
    clip = _clip()
    before = clip.clone()
    out = EvalTransform(n_frames=8, side_px=32, crop_px=24)(clip)
    assert out.shape == (3, 8, 24, 24)
    assert out.dtype == torch.float32
    assert torch.equal(clip, before)


@pytest.mark.parametrize("value", [0, 1, 115, 254, 255])
def test_eval_normalises_a_flat_clip_exactly(value):
    clip = torch.full((4, 20, 30, 3), value, dtype=torch.uint8)
    out = EvalTransform(n_frames=4, side_px=16, crop_px=16)(clip)
    torch.testing.assert_close(out, torch.full_like(out, (value / 255 - 0.45) / 0.225))


@given(n_in=st.integers(1, 200), n_out=st.integers(1, 64))
def test_temporal_indices_are_evenly_spread_and_span_the_clip(n_in, n_out):
    picked = uniform_temporal_indices(n_in, n_out)
    assert picked.shape == (n_out,)
    assert picked[0] == 0
    assert picked[-1] == (n_in - 1 if n_out > 1 else 0)
    assert (picked.diff() >= 0).all()
    if n_out <= n_in:
        assert len(set(picked.tolist())) == n_out  # no frame repeats when there are enough
    gaps = picked.diff().tolist()
    assert not gaps or max(gaps) - min(gaps) <= 1  # floor/ceil of one step


@pytest.mark.parametrize(("n_in", "n_out"), [(64, 8), (9, 4), (8, 8), (3, 5), (1, 2)])
def test_eval_picks_the_uniform_frames(n_in, n_out):
    clip = torch.arange(n_in, dtype=torch.uint8).view(n_in, 1, 1, 1).expand(n_in, 8, 8, 3).contiguous()
    out = EvalTransform(n_frames=n_out, side_px=8, crop_px=8, mean=0.0, std=1.0)(clip)
    picked = (out[0, :, 0, 0] * 255).round().long()
    assert picked.tolist() == uniform_temporal_indices(n_in, n_out).tolist()


def test_eval_centre_crops_without_resize_when_the_short_side_matches():
    clip = _clip(t=2, h=20, w=30)
    out = EvalTransform(n_frames=2, side_px=20, crop_px=10, mean=0.0, std=1.0)(clip)
    expected = clip[:, 5:15, 10:20].permute(3, 0, 1, 2).float() / 255
    torch.testing.assert_close(out, expected)


def test_eval_equals_normalise_then_resize_then_crop():
    clip = _clip(t=8, h=45, w=80)
    transform = EvalTransform(n_frames=8, side_px=30, crop_px=28)
    frames = (clip.permute(0, 3, 1, 2).float() / 255 - 0.45) / 0.225
    frames = tvf.center_crop(tvf.resize(frames, [30], antialias=True), [28, 28])
    torch.testing.assert_close(transform(clip), frames.permute(1, 0, 2, 3), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "bad",
    [
        torch.zeros(4, 8, 8, 3),
        torch.zeros(4, 8, 8, dtype=torch.uint8),
        torch.zeros(0, 8, 8, 3, dtype=torch.uint8),
    ],
)
def test_bad_clips_are_rejected(bad):
    with pytest.raises(ValueError, match="uint8 clip"):
        EvalTransform(n_frames=2, side_px=8, crop_px=8)(bad)


def test_crop_larger_than_side_is_rejected():
    with pytest.raises(ValueError, match="crop_px"):
        EvalTransform(n_frames=2, side_px=8, crop_px=9)


def test_eval_transform_pickles():
    transform = EvalTransform(n_frames=2, side_px=8, crop_px=8)
    assert pickle.loads(pickle.dumps(transform)) == transform


def test_train_is_reproducible_from_the_seed_and_varies_between_calls():
    clip = _clip()
    first = [_train(seed=3)(clip) for _ in range(2)]
    transform = _train(seed=3)
    again = [transform(clip), transform(clip)]
    assert all(torch.equal(a, b) for a, b in zip(first, [again[0], again[0]]))
    assert not torch.equal(again[0], again[1])
    assert again[0].shape == (3, 4, 24, 24)


def test_train_flip_mirrors_the_same_crop():
    clip = _clip()
    plain = _train(seed=5, flip_p=0.0)(clip)
    flipped = _train(seed=5, flip_p=1.0)(clip)
    torch.testing.assert_close(flipped, plain.flip(-1))


def test_train_crops_lie_inside_the_resized_frame():
    # a flat clip stays flat whatever the scale and crop
    clip = torch.full((4, 40, 60, 3), 100, dtype=torch.uint8)
    transform = _train(seed=1)
    for _ in range(5):
        out = transform(clip)
        torch.testing.assert_close(out, torch.full_like(out, (100 / 255 - 0.45) / 0.225))


def _torchvision_eval(clip: torch.Tensor, n_frames: int, side_px: int, crop_px: int) -> torch.Tensor:
    frames = clip[uniform_temporal_indices(clip.shape[0], n_frames)].permute(0, 3, 1, 2).float().div_(255.0)
    frames = tvf.center_crop(tvf.resize(frames, [side_px], antialias=True), [crop_px, crop_px])
    return frames.sub_(0.45).div_(0.225).permute(1, 0, 2, 3).contiguous()


@given(
    t=st.integers(1, 6),
    n_frames=st.integers(1, 4),
    h=st.integers(8, 48),
    w=st.integers(8, 48),
    side=st.integers(4, 40),
    crop_less=st.integers(0, 6),
    seed=st.integers(0, 2**16),
)
def test_eval_is_pixel_identical_to_torchvision(t, n_frames, h, w, side, crop_less, seed):
    # the worker does not import torchvision; its resize and crop must stay exactly torchvision's
    clip = _clip(t, h, w, seed)
    crop = max(1, side - crop_less)
    ours = EvalTransform(n_frames=n_frames, side_px=side, crop_px=crop)(clip)
    assert torch.equal(ours, _torchvision_eval(clip, n_frames, side, crop))


@given(seed=st.integers(0, 2**16), h=st.integers(24, 60), w=st.integers(24, 60))
def test_train_is_pixel_identical_to_torchvision(seed, h, w):
    clip = _clip(4, h, w, seed)
    ours = _train(seed, flip_p=0.5)(clip)
    generator = torch.Generator().manual_seed(seed)

    def randint(low, high):
        return int(torch.randint(low, high + 1, (1,), generator=generator))

    frames = clip[uniform_temporal_indices(4, 4)].permute(0, 3, 1, 2).float().div_(255.0)
    frames = tvf.resize(frames, [randint(32, 48)], antialias=True)
    top, left = randint(0, frames.shape[-2] - 24), randint(0, frames.shape[-1] - 24)
    frames = tvf.crop(frames, top, left, 24, 24)
    if float(torch.rand((), generator=generator)) < 0.5:
        frames = tvf.horizontal_flip(frames)
    assert torch.equal(ours, frames.sub_(0.45).div_(0.225).permute(1, 0, 2, 3).contiguous())
