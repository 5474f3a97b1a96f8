"""The pure functions: matrices compose, symmetries are exact, colour maps do what they say."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep.augment import functional as F
from dermprep.synthetic import make_sample


@pytest.fixture(scope="module")
def image():
    return make_sample((40, 60), rng=1, hair=False).image


def test_flips_and_quarter_turns_are_exact_reindexing(image):
    np.testing.assert_array_equal(F.warp_affine(image, F.flip_matrix(40, 60, horizontal=True)), image[:, ::-1])
    np.testing.assert_array_equal(F.warp_affine(image, F.flip_matrix(40, 60, vertical=True)), image[::-1])
    square = image[:, :40]
    for k in range(8):
        out = F.warp_affine(square, F.dihedral_matrix(40, k))
        expected = np.rot90(square, k) if k < 4 else None
        if expected is not None:
            np.testing.assert_array_equal(out, np.ascontiguousarray(expected))
        assert sorted(out.reshape(-1).tolist()) == sorted(square.reshape(-1).tolist())  # a permutation of pixels


@given(angle=st.floats(-180, 180), zoom=st.floats(0.5, 2.0))
def test_matrices_compose_in_application_order(angle, zoom):
    a, b = F.rotation_matrix(40, 60, angle), F.zoom_matrix(40, 60, zoom)
    point = np.array([5.0, 7.0, 1.0])
    # applying a then b reads the input through a @ b
    np.testing.assert_allclose((a @ b) @ point, a @ (b @ point))
    np.testing.assert_allclose(np.linalg.inv(a) @ (a @ point), point, atol=1e-9)


def test_shift_moves_content(image):
    out = F.warp_affine(image, F.shift_matrix(40, 60, 5, 0))
    np.testing.assert_array_equal(out[:, 10:], image[:, 5:-5])


def test_colour_matrices(image):
    assert np.allclose(F.adjust_brightness(image, 1.0), image)
    brighter = F.adjust_brightness(image, 1.2).astype(float)
    assert brighter.mean() > image.mean()
    grey = F.adjust_saturation(image, 0.0)
    assert np.abs(grey[..., 0].astype(int) - grey[..., 1]).max() <= 1
    assert np.allclose(F.adjust_hue(image, 0.0), image, atol=1)
    flat = F.adjust_contrast(image, 0.0).astype(float)
    assert flat.std() < 1.0
    balanced = F.shades_of_gray(image)
    estimate = F.illuminant(balanced, 6.0)
    assert np.ptp(estimate) < np.ptp(F.illuminant(image, 6.0))  # closer to grey than before


def test_gamma_vignette_cutout_keep_dtype_and_range(image):
    as_float = (image / 255.0).astype(np.float32)
    for out in (F.adjust_gamma(image, 0.8), F.vignette(image, 0.5, 1.0), F.cutout(image, (30, 20), 10),
                F.adjust_gamma(as_float, 1.2), F.vignette(as_float, 0.6, 0.5)):
        assert out.shape == image.shape
        assert out.dtype in (np.uint8, np.float32)
    assert F.vignette(image, 0.5, 1.0)[0, 0].max() == 0  # corner blacked out
    assert F.vignette(image, 0.5, 1.0)[20, 30].tolist() == image[20, 30].tolist()  # centre untouched


def test_label_maps_keep_their_values():
    labels = np.arange(1200, dtype=np.int64).reshape(30, 40) * 1000
    out = F.warp_labels(labels, F.rotation_matrix(30, 40, 17))
    assert out.dtype == np.int64 and set(np.unique(out)) <= set(np.unique(labels))
    with pytest.raises(ValueError, match="fit in int32"):
        F.warp_labels(labels * 10**9, F.rotation_matrix(30, 40, 17))
