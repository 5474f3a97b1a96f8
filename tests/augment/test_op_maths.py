"""Each operation's batched maths is its functional definition, found by introspection over OPS.

An op computes the matrices of a whole batch at once (what the engine fuses); here element ``i`` of that
batch is compared with the `dermprep.augment.functional` definition called on element ``i``'s parameters
alone (plain numbers). A new op fails `test_every_op_has_a_functional_definition` until its definition is
written down below.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep.augment import OPS, ColourOp, GeometryOp
from dermprep.augment import functional as F
from dermprep.augment._interface import colour_statistics
from dermprep.augment._random import uniforms
from dermprep.synthetic import add_hair, make_batch

# op name -> one element's inverse map, from its parameters (plain numbers) and the image size
GEOMETRY = {
    "flip": lambda p, h, w: F.flip_matrix(h, w, horizontal=p["horizontal"], vertical=p["vertical"]),
    "dihedral": lambda p, h, w: F.dihedral_matrix(h, p["k"]) if h == w else np.eye(3),
    "rotate": lambda p, h, w: F.rotation_matrix(h, w, p["angle"]),
    "zoom": lambda p, h, w: F.zoom_matrix(h, w, p["zoom"]),
    "shift": lambda p, h, w: F.shift_matrix(h, w, p["dx"] * w, p["dy"] * h),
    "random_resized_crop": lambda p, h, w: F.crop_matrix(h, w, p["width"], p["height"], p["x"] * w, p["y"] * h),
}
# op name -> one element's colour map, from its parameters and the image it is measured on (uint8)
COLOUR = {
    "brightness": lambda op, p, image: F.brightness_matrix(p["factor"]),
    "contrast": lambda op, p, image: F.contrast_matrix(p["factor"], image[::8, ::8].mean() / 255.0),
    "saturation": lambda op, p, image: F.saturation_matrix(p["factor"]),
    "hue": lambda op, p, image: F.hue_matrix(p["shift"]),
    "shades_of_gray": lambda op, p, image: F.shades_of_gray_matrix(F.illuminant(image, op.power, step=8)),
}
# op name -> one element's output (pixel ops have no batched maths: the engine calls their apply per image)
PIXEL = {
    "gamma": lambda op, p, image: F.adjust_gamma(image, p["gamma"]),
    "vignette": lambda op, p, image: F.vignette(image, p["radius"], p["strength"]),
    "cutout": lambda op, p, image: F.cutout(image, (p["x"] * image.shape[1], p["y"] * image.shape[0]),
                                            p["side"] * min(image.shape[:2])),
    "hair": lambda op, p, image: add_hair(image, rng=p["seed"], num_hairs=op.num_hairs, width_range=op.width_range)[0],
}


def _elements(op, n, seed=0):
    """A batch of sampled parameters and the same, element by element, as plain Python values."""
    batch = op.sample(uniforms(seed, 0, np.arange(n), op.draws))
    return batch, [{k: v[i].item() for k, v in batch.items()} for i in range(n)]


def test_every_op_has_a_functional_definition():
    kinds = {name: ("geometry" if issubclass(cls, GeometryOp) else "colour" if issubclass(cls, ColourOp)
                    else "pixel") for name, cls in OPS.items()}
    assert {n for n, k in kinds.items() if k == "geometry"} == set(GEOMETRY)
    assert {n for n, k in kinds.items() if k == "colour"} == set(COLOUR)
    assert {n for n, k in kinds.items() if k == "pixel"} == set(PIXEL)


@pytest.mark.parametrize("name", sorted(GEOMETRY))
@pytest.mark.parametrize("p", [1.0, 0.5])
@pytest.mark.parametrize("size", [(96, 96), (80, 112)])
def test_batched_geometry_is_the_functional_definition(name, p, size):
    op = OPS[name](p=p)
    batch, elements = _elements(op, 64)
    maps = op.matrix(batch, *size)
    assert maps.shape == (64, 3, 3)
    for i, element in enumerate(elements):
        expected = GEOMETRY[name](element, *size) if element["applied"] else np.eye(3)
        np.testing.assert_allclose(maps[i], expected, rtol=1e-12, atol=1e-12, err_msg=f"{name}, element {i}")


@pytest.fixture(scope="module")
def images():
    return make_batch(16, (64, 80), seed=2, hair=False)[0]


@pytest.mark.parametrize("name", sorted(COLOUR))
@pytest.mark.parametrize("p", [1.0, 0.5])
def test_batched_colour_is_the_functional_definition(name, p, images):
    op = OPS[name](p=p)
    batch, elements = _elements(op, len(images))
    mean, sample = colour_statistics(images)
    maps = op.colour_matrix(batch, mean, sample)
    assert maps.shape == (len(images), 3, 4)
    for i, element in enumerate(elements):
        expected = COLOUR[name](op, element, images[i]) if element["applied"] else F.brightness_matrix(1.0)
        np.testing.assert_allclose(maps[i], expected, rtol=1e-12, atol=1e-12, err_msg=f"{name}, element {i}")


@pytest.mark.parametrize("name", sorted(PIXEL))
def test_pixel_ops_apply_their_functional_definition(name, images):
    op = OPS[name](p=1.0)
    _, elements = _elements(op, 4, seed=3)
    for image, element in zip(images, elements, strict=False):
        np.testing.assert_array_equal(op.apply(image, element), PIXEL[name](op, element, image))


BUILDERS = {  # builder -> strategies for its array arguments (scalars per element)
    "rotation_matrix": lambda h, w, a: F.rotation_matrix(h, w, a[0]),
    "zoom_matrix": lambda h, w, a: F.zoom_matrix(h, w, 0.5 + a[0] / 120.0, 0.5 + a[1] / 120.0),
    "shift_matrix": lambda h, w, a: F.shift_matrix(h, w, a[0], a[1]),
    "crop_matrix": lambda h, w, a: F.crop_matrix(h, w, 0.6 + a[0] / 500.0, 0.7 + a[1] / 500.0, a[2], a[3]),
    "flip_matrix": lambda h, w, a: F.flip_matrix(h, w, horizontal=a[0] > 0, vertical=a[1] > 0),
    "dihedral_matrix": lambda h, w, a: F.dihedral_matrix(h, (np.abs(a[0]) % 8).astype(np.int64)),
    "brightness_matrix": lambda h, w, a: F.brightness_matrix(1.0 + a[0] / 200.0),
    "contrast_matrix": lambda h, w, a: F.contrast_matrix(1.0 + a[0] / 200.0, 0.5 + a[1] / 400.0),
    "saturation_matrix": lambda h, w, a: F.saturation_matrix(1.0 + a[0] / 200.0),
    "hue_matrix": lambda h, w, a: F.hue_matrix(a[0] / 1000.0),
    "shades_of_gray_matrix": lambda h, w, a: F.shades_of_gray_matrix(
        np.stack([1.0 + np.abs(a[0]), 1.0 + np.abs(a[1]), 1.0 + np.abs(a[2])], -1) / 200.0),
}


def test_every_matrix_builder_is_listed():
    public = {name for name in F.__all__ if name.endswith("_matrix") and name != "apply_colour_matrix"}
    assert public == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
@given(values=st.lists(st.lists(st.floats(-100, 100), min_size=4, max_size=4), min_size=1, max_size=6))
def test_builders_take_arrays_of_parameters_as_stacked_scalars(name, values):
    """A builder given arrays (n,) gives the n matrices it gives for each element's numbers alone."""
    columns = np.array(values, dtype=np.float64).T  # 4 arguments, each of shape (n,)
    batched = BUILDERS[name](40, 40, columns)
    assert batched.shape[0] == len(values)
    for i in range(len(values)):
        np.testing.assert_allclose(batched[i], BUILDERS[name](40, 40, columns[:, i]), rtol=1e-12, atol=1e-12)
