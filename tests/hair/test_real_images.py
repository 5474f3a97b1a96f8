"""Hair removal on real HAM10000 images (../shared): the lesion's own structures are left alone.

Skipped where ../shared is absent. The full measurement (177 + 9 + 600 images, both simulators) is
experiments/hair_real.py and experiments/hair_simulated.py; these are a few images of it, as guards.
"""

from __future__ import annotations

import cv2
import numpy as np

from dermprep import remove_hair
from dermprep.hair import estimate_lesion
from dermprep.hair.evaluation import change_inside_and_outside
from dermprep.io import read_rgb

# real600 images that neither dermprep nor the OpenCV recipe finds hair on (the bases of hair_simulated.py)
HAIR_FREE = ["ISIC_0024309", "ISIC_0024313", "ISIC_0024322", "ISIC_0024329", "ISIC_0024338", "ISIC_0024340",
             "ISIC_0024357", "ISIC_0024362", "ISIC_0024363", "ISIC_0024365", "ISIC_0024373", "ISIC_0024378"]
# images whose lesion structure the first Dull Razor erased (issue 15): network, white lines, lacunae
STRUCTURED = ["ISIC_0031259", "ISIC_0029348", "ISIC_0024367", "ISIC_0029889"]


def _load(shared, folder, image_id):
    image = read_rgb(shared / folder / "images" / f"{image_id}.jpg") if folder == "real600" else \
        read_rgb(shared / folder / f"{image_id}.jpg")
    masks = shared / folder / "masks"
    return image, cv2.imread(str(masks / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE) > 0


def test_hair_free_lesions_are_left_alone(shared_dir):
    changes = [change_inside_and_outside(image, remove_hair(image), lesion)
               for image, lesion in (_load(shared_dir, "real600", i) for i in HAIR_FREE)]
    lesion = [c.lesion for c in changes]
    assert np.mean(lesion) <= 0.004 and max(lesion) <= 0.02, lesion
    assert np.mean([c.skin for c in changes]) <= 0.003


def test_lesions_with_network_white_lines_and_vessels_keep_them(shared_dir):
    for image_id in STRUCTURED:
        image, lesion = _load(shared_dir, "real600", image_id)
        safe = change_inside_and_outside(image, remove_hair(image), lesion).lesion
        unsafe = change_inside_and_outside(image, remove_hair(image, lesion_safety=False), lesion).lesion
        assert safe <= 0.02 and safe < unsafe / 5, (image_id, safe, unsafe)
        given = change_inside_and_outside(image, remove_hair(image, protect=lesion), lesion).lesion
        assert given <= safe + 1e-9, (image_id, given, safe)  # a known lesion protects at least as well


def test_rulers_bubbles_and_pen_marks_change_the_lesion_less_than_half_as_much_as_the_recipe(shared_dir):
    ours, recipe = [], []
    for image_id in ("ISIC_0027102", "ISIC_0026154", "ISIC_0027567", "ISIC_0030608"):
        image, lesion = _load(shared_dir, "samples", image_id)
        ours.append(change_inside_and_outside(image, remove_hair(image), lesion).lesion)
        recipe.append(change_inside_and_outside(image, remove_hair(image, method="opencv"), lesion).lesion)
    assert np.mean(ours) <= 0.5 * np.mean(recipe), (ours, recipe)


def test_the_lesion_estimate_covers_most_official_lesions(shared_dir):
    covered = []
    for image_id in HAIR_FREE + STRUCTURED:
        image, lesion = _load(shared_dir, "real600", image_id)
        guess = estimate_lesion(image)
        covered.append((guess & lesion).sum() / max(1, lesion.sum()))
    assert np.median(covered) >= 0.9, covered


def test_hair_on_real_skin_is_still_removed(shared_dir):
    from dermprep.synthetic import simulate_hair

    image, _ = _load(shared_dir, "real600", HAIR_FREE[0])
    hairy, truth = simulate_hair(image, rng=3)
    restored = remove_hair(hairy)
    before = np.abs(hairy.astype(float) - image)[truth].mean()
    after = np.abs(restored.astype(float) - image)[truth].mean()
    assert after < 0.5 * before, (before, after)
