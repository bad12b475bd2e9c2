"""--keep-colors, --mask and --max-size in the engine: the chroma of the photo is kept, nothing
changes where the mask is black, soft masks blend, and the photo is shrunk, never enlarged."""
import numpy as np
import pytest
from PIL import Image

import numdream
from numdream.colors import keep_colors, luminance, rgb_to_ycbcr, ycbcr_to_rgb
from numdream.errors import NumdreamError
from numdream.mask import load_mask
from numdream.model import Model
from tiny_model import tiny_spec

RUN = dict(layers="mixed", octaves=3, steps=4, step_size=3.0, jitter=6, tile_size=24, seed=1, progress=False)


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec())


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(5)
    small = rng.integers(30, 226, (8, 10, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((70, 52), Image.BICUBIC))


def test_ycbcr_is_exactly_invertible_on_every_gray_and_random_colours():
    rng = np.random.default_rng(0)
    colours = np.concatenate([np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1),
                              rng.integers(0, 256, (5000, 3), dtype=np.uint8)])
    np.testing.assert_array_equal(ycbcr_to_rgb(rgb_to_ycbcr(colours)), colours)
    gray = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    np.testing.assert_allclose(rgb_to_ycbcr(gray)[:, 1:], 128, atol=1e-9)  # gray has no chroma
    shifted = rgb_to_ycbcr(colours.astype(float) + 7) - rgb_to_ycbcr(colours)  # along the gray axis
    np.testing.assert_allclose(shifted, [[7, 0, 0]] * len(colours), atol=1e-9)


def test_keep_colors_takes_the_luminance_of_one_and_the_chroma_of_the_other():
    rng = np.random.default_rng(1)
    photo = rng.integers(60, 200, (6, 7, 3), dtype=np.uint8)
    dreamed = rng.integers(60, 200, (6, 7, 3), dtype=np.uint8)
    out = keep_colors(dreamed, photo)
    ycc_out, ycc_photo, ycc_dream = rgb_to_ycbcr(out), rgb_to_ycbcr(photo), rgb_to_ycbcr(dreamed)
    assert np.abs(ycc_out[..., 0] - ycc_dream[..., 0]).max() <= 1.0  # rounding to whole RGB values
    assert np.abs(ycc_out[..., 1:] - ycc_photo[..., 1:]).max() <= 1.0
    np.testing.assert_array_equal(keep_colors(photo, photo), photo)


def _unclipped(image):
    return ((image > 0) & (image < 255)).all(axis=2)


def test_a_keep_colors_dream_changes_the_luminance_and_keeps_the_chroma(tiny, photo):
    plain = numdream.dream(photo, model=tiny, **RUN)
    kept = numdream.dream(photo, model=tiny, keep_colors=True, **RUN)
    ycc_photo, ycc_plain, ycc_kept = rgb_to_ycbcr(photo), rgb_to_ycbcr(plain), rgb_to_ycbcr(kept)
    # the plain dream moves the chroma; the kept one only where a channel had to be clipped
    assert np.abs(ycc_plain[..., 1:] - ycc_photo[..., 1:]).mean() > 3
    inside = _unclipped(kept)
    assert inside.mean() > 0.9
    assert np.abs(ycc_kept[..., 1:] - ycc_photo[..., 1:])[inside].max() <= 1.0
    # ... and it is the plain dream's luminance, which moved
    assert np.abs(ycc_kept[..., 0] - ycc_plain[..., 0])[inside].max() <= 1.0
    assert np.abs(ycc_kept[..., 0] - ycc_photo[..., 0]).mean() > 3


def test_keep_colors_of_a_gray_photo_is_a_gray_dream(tiny, photo):
    gray = np.repeat(luminance(photo)[:, :, None], 3, axis=2)
    out = numdream.dream(gray, model=tiny, keep_colors=True, **RUN)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert np.abs(out.astype(int) - gray).mean() > 3


def test_keep_colors_is_refused_for_a_noise_start(tiny):
    with pytest.raises(NumdreamError, match="noise start has none"):
        numdream.dream(None, model=tiny, init="noise", size=(40, 40), keep_colors=True, **RUN)


def _halves(hw, left=1.0, right=0.0):
    mask = np.full(hw, right, np.float32)
    mask[:, : hw[1] // 2] = left
    return mask


@pytest.mark.parametrize("extra", [{}, dict(tile_size=0), dict(smooth=1.0), dict(normalize="laplacian"),
                                   dict(keep_colors=True)], ids=lambda e: ",".join(e) or "default")
def test_the_dream_is_the_photo_bit_for_bit_where_the_mask_is_black(tiny, photo, extra):
    mask = _halves(photo.shape[:2])
    out = numdream.dream(photo, model=tiny, mask=(mask * 255).astype(np.uint8), **{**RUN, **extra})
    left, right = slice(None, photo.shape[1] // 2), slice(photo.shape[1] // 2, None)
    np.testing.assert_array_equal(out[:, right], photo[:, right])
    assert np.abs(out[:, left].astype(int) - photo[:, left]).mean() > 3
    unmasked = numdream.dream(photo, model=tiny, **{**RUN, **extra})
    assert (unmasked[:, right] != photo[:, right]).any()  # without the mask, that half dreams too


def test_a_soft_mask_blends_between_none_and_all(tiny, photo):
    h, w = photo.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[:, : w // 3] = 1.0
    mask[:, w // 3: 2 * w // 3] = 0.4
    out = numdream.dream(photo, model=tiny, mask=mask, **RUN).astype(int)
    change = [np.abs(out[:, part] - photo[:, part]).mean()
              for part in (slice(2, w // 3 - 2), slice(w // 3 + 2, 2 * w // 3 - 2), slice(2 * w // 3, None))]
    assert change[2] == 0
    assert 0.15 * change[0] < change[1] < 0.8 * change[0], change


def test_a_mask_is_read_from_gray_and_alpha_and_resized_to_the_image(tmp_path):
    white_on_clear = np.zeros((26, 35, 4), np.uint8)
    white_on_clear[..., :3] = 255
    white_on_clear[:, :17, 3] = 255  # opaque white on the left, transparent white on the right
    Image.fromarray(white_on_clear).save(tmp_path / "mask.png")
    mask = load_mask(tmp_path / "mask.png", (52, 70))
    assert mask.shape == (52, 70) and mask.dtype == np.float32
    assert mask[:, :30].min() == 1.0 and mask[:, 38:].max() == 0.0
    Image.fromarray(np.full((10, 10), 128, np.uint8)).save(tmp_path / "gray.png")
    assert load_mask(tmp_path / "gray.png", (10, 10)) == pytest.approx(np.full((10, 10), 128 / 255))


@pytest.mark.parametrize("mask, words", [
    (np.zeros((52, 70), np.uint8), "black everywhere"),
    (np.full((52, 52), 255, np.uint8), "mask 'the mask' is 52x52 and the image 70x52: their shapes differ"),
])
def test_a_mask_that_cannot_be_used_is_one_line(tiny, photo, mask, words):
    with pytest.raises(NumdreamError, match=words):
        numdream.dream(photo, model=tiny, mask=mask, **RUN)


def test_an_unreadable_mask_is_named_as_a_mask(tiny, photo, tmp_path):
    (tmp_path / "mask.png").write_bytes(b"not a png")
    with pytest.raises(NumdreamError, match=r"cannot read mask '.*mask.png': not an image format"):
        numdream.dream(photo, model=tiny, mask=tmp_path / "mask.png", **RUN)


def test_max_size_shrinks_the_long_side_and_never_enlarges(tiny, photo):
    assert numdream.dream(photo, model=tiny, max_size=35, **RUN).shape == (26, 35, 3)
    assert numdream.dream(photo, model=tiny, max_size=500, **RUN).shape == photo.shape
    with pytest.raises(NumdreamError, match="max_size must be a whole number from 1 to 65535"):
        numdream.dream(photo, model=tiny, max_size=0, **RUN)


def test_a_mask_follows_the_photo_when_it_is_shrunk(tiny, photo):
    out = numdream.dream(photo, model=tiny, max_size=35, mask=_halves(photo.shape[:2]), **RUN)
    shrunk = np.asarray(Image.fromarray(photo).resize((35, 26), Image.LANCZOS))
    np.testing.assert_array_equal(out[:, 18:], shrunk[:, 18:])
