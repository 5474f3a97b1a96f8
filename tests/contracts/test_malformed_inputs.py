"""Every public function against one shared table of malformed inputs (as albumentations runs every transform
through one suite): each must raise TypeError or ValueError naming the argument, never crash deep inside
NumPy, numba or TensorFlow and never return silently; NumPy scalars pass wherever Python numbers do."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dermprep
from dermprep import augment, io, preprocess, sampling, synthetic
from dermprep.datasets import group_split
from dermprep.ham10000 import lesion_kfold, lesion_split

IMAGE = np.zeros((32, 32, 3), np.uint8)
_FILE = Path(tempfile.mkdtemp()) / "a-file.txt"  # an existing file where a folder is expected
_FILE.write_text("not a folder")
FRAME = pd.DataFrame({"lesion_id": [f"L{i}" for i in range(12)], "label": np.arange(12) % 3,
                      "group": [f"L{i}" for i in range(12)]})

# The shared table: (argument name, bad value) per kind of argument.
BAD_IMAGES = [np.zeros((32, 32)), np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 3)),
              np.full((32, 32, 3), 255.0, np.float32), np.full((32, 32, 3), np.nan, np.float32), "image.jpg", None]
BAD_SEEDS = [-1, 2**63, 2**64, 1.5, "1", True, None, np.float32(3)]
BAD_FLAGS = ["no", "yes", 1, 0, None]
BAD_PROBABILITIES = [-0.1, 1.5, "0.5", True, None, float("nan")]
BAD_FRACTIONS = [-0.1, 1.0, "0.2", True, None, float("inf")]
BAD_COUNTS = [0, -3, 2.5, "4", True, None]

CASES: list[tuple[str, Callable[[Any], Any], list[Any], str]] = [
    ("remove_hair(image)", lambda v: dermprep.remove_hair(v), BAD_IMAGES, "image"),
    ("hair_mask(image)", lambda v: dermprep.hair_mask(v), BAD_IMAGES, "image"),
    ("remove_hair(detect_light)", lambda v: dermprep.remove_hair(IMAGE, detect_light=v), BAD_FLAGS, "detect_light"),
    ("remove_hair(return_mask)", lambda v: dermprep.remove_hair(IMAGE, return_mask=v), BAD_FLAGS, "return_mask"),
    ("remove_hair(threshold)", lambda v: dermprep.remove_hair(IMAGE, threshold=v), [-1, 300, 2.5, "9", True, None],
     "threshold"),
    ("remove_hair(method)", lambda v: dermprep.remove_hair(IMAGE, method=v), ["razor", None, 1, True], "method"),
    ("dull_razor_params(shape)", lambda v: dermprep.dull_razor_params(v), [None, (0, 0), (3,), "450x600", (8, 8)],
     "shape"),
    ("pipeline(image)", lambda v: augment.default_pipeline()(v), BAD_IMAGES, "image"),
    ("pipeline(seed)", lambda v: augment.default_pipeline()(IMAGE, seed=v), BAD_SEEDS, "seed"),
    ("pipeline(index)", lambda v: augment.default_pipeline()(IMAGE, index=v), BAD_SEEDS, "index"),
    ("pipeline(epoch)", lambda v: augment.default_pipeline().sample(epoch=v), BAD_SEEDS, "epoch"),
    ("pipeline(mask)", lambda v: augment.default_pipeline()(IMAGE, mask=v),
     [np.zeros((3, 3), np.uint8), np.full((32, 32), 0.5), IMAGE, "mask"], "mask"),
    ("Pipeline(ops)", lambda v: augment.Pipeline(v), [None, "flip", 3, [None], [{"op": "blur"}]], "ops"),
    ("Flip(horizontal)", lambda v: augment.Flip(horizontal=v), BAD_FLAGS, "flip.horizontal"),
    ("Rotate(p)", lambda v: augment.Rotate(p=v), BAD_PROBABILITIES, "rotate.p"),
    ("Rotate(angle_range)", lambda v: augment.Rotate(angle_range=v), [(10, -10), (0, 360), 30, None, ("a", "b")],
     "rotate.angle_range"),
    ("Shift(fraction)", lambda v: augment.Shift(fraction=v), [None, "0.1", -0.1, 0.5, float("nan")], "shift.fraction"),
    ("Hair(num_hairs)", lambda v: augment.Hair(num_hairs=v), [(1.5, 3), (5, 1), 3, None], "hair.num_hairs"),
    ("class_counts(labels)", lambda v: sampling.class_counts(v), [[], [[0.5, 0.5]], ["nv"], [0.5], [-1]], "labels"),
    ("class_counts(num_classes)", lambda v: sampling.class_counts([0, 1], v), [0, -1, 1.5, "7", 10**12], "num_classes"),
    ("target_counts(counts)", lambda v: sampling.target_counts(v), [[], [0, 0], [-1, 3], [2.7, 1], "12"], "counts"),
    ("epoch_indices(targets)", lambda v: sampling.epoch_indices([0, 1, 1], v), [[3, -1], [2.7, 1], [], "33"],
     "targets"),
    ("epoch_indices(seed)", lambda v: sampling.epoch_indices([0, 1], [1, 1], seed=v), BAD_SEEDS, "seed"),
    ("class_weights(labels)", lambda v: sampling.class_weights(v), [[], ["a"], [[0.2, 0.8]]], "labels"),
    ("lesion_split(val)", lambda v: lesion_split(FRAME, val=v), BAD_FRACTIONS, "val"),
    ("lesion_split(seed)", lambda v: lesion_split(FRAME, seed=v), BAD_SEEDS, "seed"),
    ("lesion_kfold(k)", lambda v: lesion_kfold(FRAME, v), [1, 0, 2.5, "3", True, None], "k"),
    ("group_split(test)", lambda v: group_split(FRAME, test=v), BAD_FRACTIONS, "test"),
    ("make_sample(label)", lambda v: synthetic.make_sample((32, 32), label=v), [2.5, 7, -1, "nv", True], "label"),
    ("make_sample(rng)", lambda v: synthetic.make_sample((32, 32), rng=v), [-1, "seed", 1.5, True], "rng"),
    ("make_batch(n)", lambda v: synthetic.make_batch(v, (32, 32)), BAD_COUNTS, "n"),
    ("make_batch(seed)", lambda v: synthetic.make_batch(1, (32, 32), seed=v), BAD_SEEDS, "seed"),
    ("read_rgb(path)", lambda v: io.read_rgb(v), [None, 3, b"\x00"], "path"),
    ("remove_partial_files(targets)", lambda v: io.remove_partial_files(v), ["out.png", b"out.png", None, 3],
     "targets"),
    ("read_rgb(max_pixels)", lambda v: io.read_rgb("x.png", max_pixels=v), BAD_COUNTS, "max_pixels"),
    ("frame(image_size)", lambda v: preprocess.frame(IMAGE, v), [(8, 8), 8, (224.0, 224), None, ("a", 1), 224.0,
                                                                   True, (224, 224, 3)],
     "image_size"),
    ("frame(aspect)", lambda v: preprocess.frame(IMAGE, (32, 32), v), ["fit", None, 1], "aspect"),
    ("Preprocessing(remove_hair)", lambda v: preprocess.Preprocessing(remove_hair=v), BAD_FLAGS, "remove_hair"),
    # issue 22 item 9's classes: the synthetic generators' argument types, checked before any image is drawn
    ("make_sample(light_fraction)", lambda v: synthetic.make_sample((32, 32), rng=0, light_fraction=v),
     ["0.2", -0.1, 1.5, None], "light_fraction"),
    ("make_sample(num_hairs)", lambda v: synthetic.make_sample((32, 32), rng=0, num_hairs=v),
     [[3, 5, 7], "10", 2.5, (5, 2), -1], "num_hairs"),
    ("write_ham10000_like(jpeg_quality)", lambda v: synthetic.write_ham10000_like(_FILE.parent / "w", 14,
                                                                                 jpeg_quality=v),
     ["high", 0, 101, 2.5], "jpeg_quality"),
    ("write_ham10000_like(folder)", lambda v: synthetic.write_ham10000_like(v, 14), [_FILE, None, 3], "folder"),
    ("Preprocessing(hair_options)", lambda v: preprocess.Preprocessing(remove_hair=True, hair_options=v),
     [{"thresh": 3}, {"threshold": "9"}, "threshold=9"], "hair_options|thresh"),
]


def _cases():
    for name, call, values, argument in CASES:
        for k, value in enumerate(values):
            yield pytest.param(call, value, argument, id=f"{name}-{k}")


@pytest.mark.parametrize(("call", "value", "argument"), list(_cases()))
def test_malformed_input_gets_a_clear_error(call, value, argument):
    with pytest.raises((TypeError, ValueError, FileNotFoundError, NotADirectoryError)) as caught:  # path errors: OSError
        call(value)
    message = str(caught.value)
    assert any(a in message for a in argument.split("|")), f"the message does not name {argument!r}: {message}"
    assert "got" in message or "unknown" in message or "must" in message, message


@pytest.mark.parametrize("call", [
    lambda: augment.Shift(fraction=np.float32(0.1)),
    lambda: augment.Rotate(p=np.float64(0.5), angle_range=(np.int64(-10), np.int64(10))),
    lambda: augment.default_pipeline()(IMAGE, seed=np.int64(3), index=np.uint32(2), epoch=np.int16(1)),
    lambda: sampling.epoch_indices(np.array([0, 1, 1]), np.array([2, 2], np.int32), seed=np.int64(1)),
    lambda: lesion_split(FRAME, val=np.float32(0.2), test=np.float64(0.2), seed=np.int64(1)),
    lambda: synthetic.make_sample((np.int64(32), np.int64(32)), label=np.int64(2), rng=np.int64(5)),
    lambda: preprocess.frame(IMAGE, (np.int64(40), np.int32(48)), "crop"),
    lambda: dermprep.remove_hair(IMAGE, threshold=np.int64(20), detect_light=np.bool_(False)),
])
def test_numpy_scalars_pass_where_python_numbers_do(call):
    call()


tf = pytest.importorskip("tensorflow")
import dermprep.tfdata as T  # noqa: E402
from dermmodels import build_mobilenetv2_classifier, recipe_from, report_from_predictions  # noqa: E402

TF_CASES: list[tuple[str, Callable[[Any], Any], list[Any], str]] = [
    ("augment(seed)", lambda v: T.augment(seed=v), BAD_SEEDS, "seed"),
    ("augment(epoch)", lambda v: T.augment(epoch=v), BAD_SEEDS[:-1], "epoch"),
    ("augment(layout)", lambda v: tf.data.Dataset.from_tensor_slices((np.zeros((2, 16, 16, 3), np.uint8), [0, 1]))
     .apply(T.augment(layout=v)), ["image,label", ("label", "label"), ("mask", "label"), 3], "layout"),
    ("augment(num_parallel_calls)", lambda v: T.augment(num_parallel_calls=v), [0, -5, 1.5, "4"],
     "num_parallel_calls"),
    ("balance(strategy)", lambda v: T.balance(strategy=v), ["smote", None, 1], "strategy"),
    ("balance(seed)", lambda v: T.balance(seed=v), BAD_SEEDS, "seed"),
    ("balance(num_classes)", lambda v: T.balance(num_classes=v), [0, 1, 2.5, "7"], "num_classes"),
    ("remove_hair(value_range)", lambda v: tf.data.Dataset.from_tensor_slices(np.zeros((2, 16, 16, 3), np.float32))
     .apply(T.remove_hair(value_range=v)), [(0, 100), 255, "0-255"], "value_range"),
    ("from_records(num_classes)", lambda v: T.from_records(["a.png"], [0], num_classes=v), [0, 1, 2.5], "num_classes"),
    ("from_records(labels)", lambda v: T.from_records(["a.png", "b.png"], v), [["nv", "mel"], [0.5, 1], [0], [-1, 0]],
     "labels"),
    # issue 22 item 9's classes: files checked before the dataset is built, element structures named
    ("from_records(paths)", lambda v: T.from_records(v, [0, 1]), [[None, str(_FILE)], [str(_FILE), 3],
     [str(_FILE.parent / "missing.png"), str(_FILE)], "a.png", [[str(_FILE)], [str(_FILE)]]], "paths"),
    ("augment(3-tuple without layout)", lambda v: tf.data.Dataset.from_tensor_slices(v).apply(T.augment()),
     [(np.zeros((2, 16, 16, 3), np.uint8), np.zeros((2, 16, 16), np.uint8), [0, 1])], "layout=('image', 'mask', "
     "'label')"),
    ("balance(dataset)", lambda v: v.apply(T.balance()), [
        tf.data.Dataset.range(10).map(lambda x: (x, x % 2)).repeat().filter(lambda x, y: True),
        tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 3), np.uint8), [0, 1, 0, 1])).batch(2),
        tf.data.Dataset.range(4).map(lambda x: (x, x % 2)).repeat()], "balance()"),
    ("augment(value_range after preprocess_input)", lambda v: tf.data.Dataset.from_tensor_slices(v).apply(
        T.augment()), [np.full((2, 16, 16, 3), -0.5, np.float32), np.full((2, 16, 16, 3), 200.0, np.float32)],
     "value_range="),
    ("from_arrays(batch_size)", lambda v: T.from_arrays(np.zeros((4, 16, 16, 3), np.uint8), [0, 1, 0, 1],
                                                        batch_size=v), BAD_COUNTS, "batch_size"),
    ("epochs(stop)", lambda v: T.epochs(lambda e: tf.data.Dataset.range(1), v), [0, -1, 1.5, "3"], "stop"),
    ("recipe_from(preset)", lambda v: recipe_from(v), ["tpu", 1, ""], "preset"),
    ("recipe_from(epochs)", lambda v: recipe_from("cpu", epochs=v), [-1, 2.5, "10", True], "epochs"),
    ("recipe_from(alpha)", lambda v: recipe_from("cpu", alpha=v), [0.9, "0.5", True, None], "alpha"),
    ("recipe_from(sampling)", lambda v: recipe_from("cpu", sampling=v), ["smote", None], "sampling"),
    ("recipe_from(tta)", lambda v: recipe_from("cpu", tta=v), BAD_FLAGS, "tta"),
    ("recipe_from(learning_rate)", lambda v: recipe_from("cpu", learning_rate=v), [0, -1e-3, float("inf"), "1e-3"],
     "learning_rate"),
    ("build_mobilenetv2_classifier(num_classes)", lambda v: build_mobilenetv2_classifier(v, weights=None),
     [1, 0, 2.5, "7", True], "num_classes"),
    ("build_mobilenetv2_classifier(pixel_range)", lambda v: build_mobilenetv2_classifier(
        7, weights=None, pixel_range=v), [0, float("inf"), -1, "255"], "pixel_range"),
    ("build_mobilenetv2_classifier(input_shape)", lambda v: build_mobilenetv2_classifier(
        7, weights=None, input_shape=v), [(16, 16, 3), (64, 64, 1), (64.0, 64, 3), None], "input_shape"),
    ("report_from_predictions(probabilities)", lambda v: report_from_predictions([0, 1], v, ["a", "b"]),
     [np.zeros((3, 2)), np.zeros((2, 3)), np.zeros(2)], "probabilities|class_names"),
]


def _tf_cases():
    for name, call, values, argument in TF_CASES:
        for k, value in enumerate(values):
            yield pytest.param(call, value, argument, id=f"{name}-{k}")


@pytest.mark.parametrize(("call", "value", "argument"), list(_tf_cases()))
def test_malformed_input_to_the_tensorflow_face_gets_a_clear_error(call, value, argument):
    with pytest.raises((TypeError, ValueError, FileNotFoundError, NotADirectoryError)) as caught:  # path errors: OSError
        call(value)
    message = str(caught.value)
    assert any(a in message for a in argument.split("|")), f"the message does not name {argument!r}: {message}"
