"""The synthetic generator: seeded, realistic enough, with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep import CLASS_NAMES
from dermprep.synthetic import add_hair, make_batch, make_lesion_image, make_sample


def test_same_seed_same_pixels_different_seed_different_pixels():
    a, b, c = make_sample((90, 120), rng=5), make_sample((90, 120), rng=5), make_sample((90, 120), rng=6)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.hair_mask, b.hair_mask)
    assert not np.array_equal(a.image, c.image)


def test_hair_mask_marks_exactly_where_hair_was_drawn():
    s = make_sample((150, 200), rng=1, num_hairs=10)
    diff = np.abs(s.image.astype(int) - s.clean).max(axis=-1)
    assert s.hair_mask.any()
    assert (diff[s.hair_mask] > 0).mean() > 0.99  # hair pixels differ from the clean image
    assert (diff[~s.hair_mask] > 40).mean() < 0.01  # outside the mask only faint anti-aliased edges


def test_hair_widths_and_colours_vary():
    image, _, _ = make_lesion_image((450, 600), rng=0)
    dark_pixels, light_pixels = 0, 0
    for seed in range(6):
        hairy, mask = add_hair(image, rng=seed, num_hairs=20, light_fraction=0.5)
        brighter = hairy.astype(int).sum(-1) > image.astype(int).sum(-1)
        light_pixels += int((mask & brighter).sum())
        dark_pixels += int((mask & ~brighter).sum())
    assert light_pixels > 500 and dark_pixels > 500


def test_batch_is_reproducible_per_index():
    images, clean, masks, labels = make_batch(3, (64, 64), seed=3)
    again = make_batch(3, (64, 64), seed=3)
    np.testing.assert_array_equal(images, again[0])
    assert images.shape == (3, 64, 64, 3) and masks.shape == (3, 64, 64) and labels.dtype == np.int64
    assert set(labels) <= set(range(len(CLASS_NAMES)))


def test_lesion_classes_and_vignette():
    for label in range(len(CLASS_NAMES)):
        image, lesion, got = make_lesion_image((96, 128), rng=label, label=label, vignette=True)
        assert got == label and lesion.any() and image.dtype == np.uint8
        assert image[0, 0].max() < 60  # dark corner of the field of view


@given(seed=st.integers(0, 2**31), height=st.integers(16, 80), width=st.integers(16, 80))
def test_property_shapes_and_no_input_mutation(seed, height, width):
    image, _, _ = make_lesion_image((height, width), rng=seed)
    before = image.copy()
    hairy, mask = add_hair(image, rng=seed)
    assert hairy.shape == image.shape and hairy.dtype == np.uint8 and mask.shape == (height, width)
    np.testing.assert_array_equal(image, before)
    as_float = (image / 255).astype(np.float32)
    hairy_f, _ = add_hair(as_float, rng=seed)
    assert hairy_f.dtype == np.float32 and hairy_f.min() >= 0 and hairy_f.max() <= 1


def test_invalid_arguments():
    with pytest.raises(ValueError, match="shape must be at least"):
        make_sample((8, 8))
    with pytest.raises(TypeError, match="shape must be a"):
        make_lesion_image((64.0, 64))
    with pytest.raises(ValueError, match=r"label must be an integer in \[0, 6\]"):
        make_lesion_image((64, 64), label=7)
    with pytest.raises(ValueError, match="width_range"):
        add_hair(np.zeros((32, 32, 3), np.uint8), width_range=(4, 1))
    with pytest.raises(ValueError, match="light_fraction"):
        add_hair(np.zeros((32, 32, 3), np.uint8), light_fraction=2)
    with pytest.raises(ValueError, match="image must have"):
        add_hair(np.zeros((32, 32), np.uint8))
    with pytest.raises(TypeError, match="rng must be"):
        make_sample((32, 32), rng="seed")
    with pytest.raises(ValueError, match="n must be"):
        make_batch(0)


def test_simulate_hair_masks_are_exact_and_it_is_seeded():
    from dermprep.synthetic import simulate_hair

    skin = np.full((150, 200, 3), 200, np.uint8)
    hairy, mask = simulate_hair(skin, rng=7, shadow=False, light_fraction=0.0)
    again, mask_again = simulate_hair(skin, rng=7, shadow=False, light_fraction=0.0)
    np.testing.assert_array_equal(hairy, again)
    np.testing.assert_array_equal(mask, mask_again)
    darkening = 200 - hairy.astype(int).min(axis=-1)
    assert mask.any() and (darkening[mask] > 0).all()  # every hair pixel is darkened
    assert (darkening[~mask] < darkening[mask].max()).all()  # the strongest darkening is inside the mask
    light, light_mask = simulate_hair(skin, rng=1, light_fraction=1.0, shadow=False, num_hairs=(3, 3))
    assert (light[light_mask].astype(int) >= 200).all()  # light hair brightens
    with pytest.raises(ValueError, match="num_hairs"):
        simulate_hair(skin, num_hairs=(5, 2))
    with pytest.raises(TypeError, match="shadow"):
        simulate_hair(skin, shadow="no")


def test_simulate_hair_dense_regime_covers_a_fifth_to_a_half_and_is_seeded():
    from dermprep.synthetic import simulate_hair

    skin = np.full((225, 300, 3), 200, np.uint8)
    coverages = []
    for seed in range(3):
        hairy, mask = simulate_hair(skin, rng=seed, density="dense")
        again, mask_again = simulate_hair(skin, rng=seed, density="dense")
        np.testing.assert_array_equal(hairy, again)
        np.testing.assert_array_equal(mask, mask_again)
        coverages.append(mask.mean())
    assert all(0.2 <= c <= 0.56 for c in coverages), coverages  # the last strand may overshoot the target
    sparse = np.mean([simulate_hair(skin, rng=seed)[1].mean() for seed in range(3)])
    assert sparse < min(coverages) / 2
    with pytest.raises(TypeError, match="num_hairs applies to density='sparse'"):
        simulate_hair(skin, density="dense", num_hairs=(5, 9))
    with pytest.raises(ValueError, match="density must be one of"):
        simulate_hair(skin, density="thick")
