"""No-reference measures of hair removal on real images: black-hats, hairiness, dark texture drawn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep.hair.evaluation import black_hat, dark_texture, hairiness, line_black_hat


def _skin_with_lines(lines: int = 3) -> np.ndarray:
    image = np.full((80, 100, 3), 190, np.uint8)
    for i in range(lines):
        image[:, 20 + 25 * i : 22 + 25 * i] = 90  # dark vertical hair, 2 px wide
    return image


def test_line_black_hat_sees_lines_not_dots():
    image = np.full((60, 60, 3), 200, np.uint8)
    image[:, 30:32] = 100
    image[10:13, 10:13] = 100  # a 3 px dot
    response = line_black_hat(image)
    assert response[40, 30] == 100 and response[11, 11] == 0
    assert black_hat(image)[11, 11] == 100  # the disc black-hat sees both


def test_dark_texture_counts_hair_left_and_dark_marks_drawn():
    hairy = _skin_with_lines()
    clean = np.full_like(hairy, 190)
    no_lesion = np.zeros(hairy.shape[:2], bool)
    removed = dark_texture(hairy, clean, no_lesion)
    assert removed.before == pytest.approx(6 * 80 / (80 * 100)) and removed.residual == 0.0
    assert removed.new_dark == 0.0
    kept = dark_texture(hairy, hairy, no_lesion)
    assert kept.residual == 1.0 and kept.new_dark == 0.0
    hatched = clean.copy()
    hatched[10:12, 30:36] = 120  # a dash drawn on skin, between two hairs of the input
    drawn = dark_texture(hairy, hatched, no_lesion)
    assert drawn.new_dark == pytest.approx(12 / (80 * 100))


def test_skin_excludes_the_lesion_and_its_rim():
    hairy = _skin_with_lines()
    lesion = np.zeros(hairy.shape[:2], bool)
    lesion[:, :30] = True  # skin starts 15 px past it, at column 45: two of the three lines are on it
    assert hairiness(hairy, lesion) == pytest.approx(4 * 80 / (80 * 55))
    everything = np.ones(hairy.shape[:2], bool)
    assert np.isnan(hairiness(hairy, everything)) and np.isnan(dark_texture(hairy, hairy, everything).new_dark)


@given(seed=st.integers(0, 2**16), dtype=st.sampled_from([np.uint8, np.float32]))
def test_property_identical_images_draw_nothing_and_leave_everything(seed, dtype):
    image = np.random.default_rng(seed).integers(0, 256, (40, 48, 3)).astype(np.uint8)
    if dtype == np.float32:
        image = (image / 255.0).astype(np.float32)
    before = image.copy()
    result = dark_texture(image, image, np.zeros((40, 48), bool))
    assert result.new_dark == 0.0 and result.residual in (0.0, 1.0)
    np.testing.assert_array_equal(image, before)


def test_invalid_input_names_the_argument():
    image = _skin_with_lines()
    with pytest.raises(ValueError, match="lesion_mask must have shape"):
        dark_texture(image, image, np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="original and restored must have the same shape"):
        dark_texture(image, image[:40], np.zeros(image.shape[:2], bool))
    with pytest.raises(ValueError, match="threshold"):
        dark_texture(image, image, np.zeros(image.shape[:2], bool), threshold=300)
    with pytest.raises(ValueError, match="image must have shape"):
        black_hat(np.zeros((10, 10), np.uint8))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        line_black_hat("image.png")
    with pytest.raises(ValueError, match="threshold"):
        hairiness(image, np.zeros(image.shape[:2], bool), threshold=-1)
