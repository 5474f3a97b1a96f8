"""Every public dataset builder and tf.data op against the element structures users pass (issue 22).

Tuples, dicts, nested input dicts, Keras' (x, y, sample_weight), bare images; batched and unbatched; uint8,
float32 in [0, 1] and Keras' float32 in [0, 255]; int and one-hot labels of 2 to 9 classes, with one class
missing from the split; and `keras.utils.image_dataset_from_directory` output as it comes. Each result is
right (structure, shapes, dtypes, labels and pixel range kept; balanced counts equal) or the error names the
fix: never a TensorFlow error text, never a silent wrong result.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")
import dermprep.tfdata as T  # noqa: E402

SIZE = 24
STRUCTURES = ("pair", "dict", "nested", "keras_weights", "image_only")
PIXELS = {"uint8": (np.uint8, None), "unit": (np.float32, None), "keras": (np.float32, (0, 255))}


def _arrays(num_classes: int, missing: int, pixels: str, seed: int):
    """Images and labels with class ``c`` held ``c + 1`` times (unequal counts), class ``missing`` absent."""
    labels = np.array([c for c in range(num_classes) if c != missing for _ in range(c % 3 + 1)], np.int64)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (labels.size, SIZE, SIZE, 3)).astype(PIXELS[pixels][0])
    if pixels == "unit":
        images /= 255.0
    return images, labels


def _dataset(structure: str, images, labels, one_hot: bool, num_classes: int, batched: bool):
    """The dataset a user would build, and the layout they would pass."""
    y = np.eye(num_classes, dtype=np.float32)[labels] if one_hot else labels
    layout = None
    if structure == "pair":
        ds = tf.data.Dataset.from_tensor_slices((images, y))
    elif structure == "dict":
        ds = tf.data.Dataset.from_tensor_slices({"image": images, "label": y})
    elif structure == "nested":
        ds = tf.data.Dataset.from_tensor_slices(({"image": images, "metadata": np.ones((labels.size, 4), np.float32)},
                                                 y))
    elif structure == "keras_weights":
        ds = tf.data.Dataset.from_tensor_slices((images, y, np.ones(labels.size, np.float32)))
        layout = ("image", "label", "weight")
    else:
        ds = tf.data.Dataset.from_tensor_slices(images)
    return (ds.batch(4) if batched else ds), layout


def _parts(element, structure: str):
    """(images, labels or None) of one element, whatever its structure."""
    if structure == "dict":
        return element["image"], element["label"]
    if structure == "nested":
        return element[0]["image"], element[1]
    if structure == "image_only":
        return element, None
    return element[0], element[1]


def _collect(ds, structure: str):
    images, labels = [], []
    for element in ds.as_numpy_iterator():
        image, label = _parts(element, structure)
        images.append(image.reshape(-1, SIZE, SIZE, 3))
        if label is not None:
            labels.append(np.reshape(label, (images[-1].shape[0], -1)))
    return np.concatenate(images), (np.concatenate(labels) if labels else None)


def _check_kept(out, ds, structure, pixels, labels_in):
    """A per-image op's output: same structure and count, labels untouched, pixels in the input's range."""
    assert out.element_spec == ds.element_spec
    images, labels = _collect(out, structure)
    assert images.shape[0] == labels_in.shape[0]
    top = 1.0 if pixels == "unit" else 255.0
    assert images.min() >= 0 and images.max() <= top
    if pixels == "keras":
        assert images.max() > 1.0  # still [0, 255]: not squeezed into [0, 1]
    if labels is not None:
        np.testing.assert_array_equal(labels, labels_in.reshape(labels.shape))


@settings(max_examples=30)
@given(num_classes=st.integers(2, 9), missing=st.integers(0, 8), structure=st.sampled_from(STRUCTURES),
       batched=st.booleans(), one_hot=st.booleans(), pixels=st.sampled_from(tuple(PIXELS)),
       operation=st.sampled_from(("augment", "remove_hair", "balance", "mix")))
def test_every_op_gives_the_right_result_or_names_the_fix(num_classes, missing, structure, batched, one_hot,
                                                          pixels, operation):
    missing %= num_classes
    images, labels = _arrays(num_classes, missing, pixels, seed=num_classes)
    ds, layout = _dataset(structure, images, labels, one_hot, num_classes, batched)
    y_in = np.eye(num_classes, dtype=np.float32)[labels] if one_hot else labels[:, None]
    value_range = PIXELS[pixels][1]
    if operation in ("augment", "remove_hair"):
        op = T.augment(seed=1, value_range=value_range, layout=layout) if operation == "augment" else \
            T.remove_hair(value_range=value_range, layout=layout)
        _check_kept(ds.apply(op), ds, structure, pixels, y_in)
        if pixels == "keras":  # the same call without value_range: refused before it runs, with the fix
            with pytest.raises(ValueError, match=r"value_range=\(0, 255\)"):
                ds.apply(T.augment(seed=1, layout=layout) if operation == "augment" else T.remove_hair(layout=layout))
    elif operation == "balance":
        _check_balance(ds, layout, structure, batched, one_hot, num_classes, missing)
    else:
        _check_mix(ds, layout, structure, batched, one_hot, y_in, value_range)


def _check_balance(ds, layout, structure, batched, one_hot, num_classes, missing):
    op = T.balance(seed=3, layout=layout)
    if structure == "image_only":
        with pytest.raises(ValueError, match="needs elements with a label"):
            ds.apply(op)
        return
    if batched:
        with pytest.raises(ValueError, match=r"apply balance\(\) before \.batch\(\)"):
            ds.apply(op)
        return
    counted = num_classes if one_hot else (num_classes if missing != num_classes - 1 else num_classes - 1)
    if missing < counted:  # an absent class the count includes, with a positive target: the error names the fix
        with pytest.raises(ValueError, match=rf"classes \[{missing}\] have no elements but a positive target; "
                                             r"set their target to 0"):
            ds.apply(T.balance(strategy="target", target=[1] * counted, seed=3, layout=layout))
    _, labels = _collect(ds.apply(op), structure)
    counts = np.bincount(labels.argmax(1) if one_hot else labels.ravel(), minlength=num_classes)
    present = [c for c in range(num_classes) if c != missing]  # oversampled to the largest; the absent one stays 0
    assert counts[missing] == 0 and len(set(counts[present].tolist())) == 1  # every present class equally often


def _check_mix(ds, layout, structure, batched, one_hot, y_in, value_range):
    op = T.mix(mixup=0.4, seed=2, layout=layout, value_range=value_range)
    if not batched:
        with pytest.raises(ValueError, match=r"apply it after \.batch\(\)"):
            ds.apply(op)
    elif not one_hot or structure == "image_only":  # int labels, or none: the fix is one-hot labels
        with pytest.raises(ValueError, match=r"one_hot=True\), or tf\.one_hot"):
            ds.apply(op)
    else:
        out = ds.apply(op)
        assert out.element_spec == ds.element_spec
        images, labels = _collect(out, structure)
        assert labels.shape == y_in.shape
        np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-5)
        assert images.min() >= 0 and images.max() <= (1.0 if images.dtype == np.float32 and value_range is None
                                                       else 255.0)
        if value_range == (0, 255):  # Keras' [0, 255] floats: mixed as they are, refused without value_range
            assert images.max() > 1.0
            with pytest.raises(ValueError, match=r"value_range=\(0, 255\)"):
                ds.apply(T.mix(mixup=0.4, seed=2, layout=layout))


@settings(max_examples=12)
@given(num_classes=st.integers(2, 9), missing=st.integers(0, 8), one_hot=st.booleans())
def test_from_arrays_keeps_the_model_width_when_a_class_is_missing(num_classes, missing, one_hot):
    missing %= num_classes
    images, labels = _arrays(num_classes, missing, "uint8", seed=0)
    ds = T.from_arrays(images, labels, batch_size=4, num_classes=num_classes, one_hot=one_hot, sampling="shuffle")
    out = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    if one_hot:
        assert out.shape == (labels.size, num_classes)  # the model's width, not the split's
        assert sorted(out.argmax(1).tolist()) == sorted(labels.tolist())
    else:
        assert sorted(out.tolist()) == sorted(labels.tolist())


@pytest.fixture(scope="module", params=[2, 9])
def class_folders(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"folders{request.param}")
    rng = np.random.default_rng(request.param)
    for c in range(request.param):
        (root / f"class{c}").mkdir()
        for i in range(c % 2 + 1):
            cv2.imwrite(str(root / f"class{c}" / f"{i}.png"), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    return root, request.param


@pytest.mark.parametrize("label_mode", ["int", "categorical"])
def test_keras_image_dataset_from_directory_output_as_it_comes(class_folders, label_mode):
    import keras

    root, num_classes = class_folders
    ds = keras.utils.image_dataset_from_directory(root, image_size=(SIZE, SIZE), batch_size=4, shuffle=False,
                                                  label_mode=label_mode, verbose=False)
    n = sum(c % 2 + 1 for c in range(num_classes))
    for op in (T.augment(seed=0, value_range=(0, 255)), T.remove_hair(value_range=(0, 255))):
        images, _ = _collect(ds.apply(op), "pair")
        assert images.shape == (n, SIZE, SIZE, 3) and images.max() > 1.0
    with pytest.raises(ValueError, match=r"value_range=\(0, 255\)"):
        ds.apply(T.augment(seed=0))
    with pytest.raises(ValueError, match=r"apply balance\(\) before \.batch\(\)"):
        ds.apply(T.balance(seed=0))
    with pytest.raises(ValueError, match=r"take\(n\).*assert_cardinality\(n\)"):
        ds.unbatch().apply(T.balance(seed=0))  # unbatch() hides the length: the fix is named
    records = ds.unbatch().apply(tf.data.experimental.assert_cardinality(n))
    _, labels = _collect(records.apply(T.balance(seed=0)), "pair")
    counts = np.bincount(labels.argmax(1) if label_mode == "categorical" else labels.ravel())
    assert counts.tolist() == [2] * num_classes
    if label_mode == "categorical":
        mixed = ds.apply(T.mix(cutmix=1.0, seed=0, value_range=(0, 255)))
        assert _collect(mixed, "pair")[0].max() > 1.0
    else:
        with pytest.raises(ValueError, match="tf.one_hot"):
            ds.apply(T.mix(mixup=0.2, seed=0))
