"""The one element convention: roles found by layout or key, never guessed from shapes."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from dermprep.tfdata._elements import Elements  # noqa: E402


def spec(*shapes, dtype=tf.uint8):
    return tuple(tf.TensorSpec(s, dtype) for s in shapes)


def test_layouts():
    pair = Elements(spec((8, 8, 3), ()), None, "op")
    assert pair.layout == ("image", "label") and pair.mask_spec is None
    triple = Elements(spec((8, 8, 3), (8, 8), ()), ("image", "mask", "label"), "op")
    assert triple.mask_spec.shape == (8, 8)
    keras_weights = Elements(spec((8, 8, 3), (), ()), ("image", "label", "weight"), "op")
    assert keras_weights.mask_spec is None and keras_weights.label_spec.shape == ()
    inputs = ({"image": tf.TensorSpec((8, 8, 3), tf.uint8), "metadata": tf.TensorSpec((4,), tf.float32)},
              tf.TensorSpec((), tf.int64))
    nested = Elements(inputs, None, "op")
    assert nested.image_spec.shape == (8, 8, 3) and nested.label_spec.shape == ()


def test_replace_keeps_everything_else():
    e = Elements(spec((8, 8, 3), (8, 8), ()), ("image", "mask", "label"), "op")
    element = (np.zeros((8, 8, 3)), np.ones((8, 8)), 3)
    out = e.replace(element, image="I", mask="M")
    assert out[0] == "I" and out[1] == "M" and out[2] == 3


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="name their components with layout="):
        Elements(spec((8, 8, 3), (8, 8), ()), None, "augment()")
    with pytest.raises(ValueError, match="names 2 components"):
        Elements(spec((8, 8, 3), (8, 8), ()), ("image", "label"), "augment()")
    with pytest.raises(ValueError, match="more than once"):
        Elements(spec((8, 8, 3), ()), ("image", "image"), "augment()")
    with pytest.raises(TypeError, match="tuple of component names"):
        Elements(spec((8, 8, 3), ()), "image,label", "augment()")
    with pytest.raises(ValueError, match="layout= is for tuple elements"):
        Elements(tf.TensorSpec((8, 8, 3), tf.uint8), ("image",), "augment()")
    with pytest.raises(ValueError, match="dict with an 'image' key"):
        Elements({"x": tf.TensorSpec((8, 8, 3), tf.uint8)}, None, "augment()")
