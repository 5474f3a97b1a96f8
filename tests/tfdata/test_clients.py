"""Issue 22's reproducers: what two ported client scripts hit, each now a right result or a clear error.

Each test failed on the code before the fix (a silent wrong result, a cryptic TensorFlow error or a hang)."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import dermprep.tfdata as T  # noqa: E402
from dermprep.preprocess import HairCache, Preprocessing  # noqa: E402


def _write(folder, n, *, size=(24, 32), prefix="ISIC"):
    paths = []
    for i in range(n):
        path = folder / f"{prefix}_{i}.png"
        cv2.imwrite(str(path), np.full((*size, 3), 10 * i, np.uint8))
        paths.append(str(path))
    return paths


def test_item2_one_hot_width_follows_the_records_classes(tmp_path):
    paths = _write(tmp_path, 4)
    ds = T.from_records(paths, [0, 1, 1, 0], image_size=16, one_hot=True)
    assert ds.element_spec[1].shape == (2,)  # was 7 wide: HAM10000's count, whatever the data
    assert [y.tolist() for _, y in ds.as_numpy_iterator()][:2] == [[1.0, 0.0], [0.0, 1.0]]
    wide = T.from_records(paths, [0, 1, 1, 0], image_size=16, one_hot=True, num_classes=7)
    assert wide.element_spec[1].shape == (7,)  # a split lacking the last classes keeps the model's width
    with pytest.raises(ValueError, match="num_classes"):
        T.from_records(paths, [0, 0, 0, 0], image_size=16)  # one class: nothing to infer a width from


def test_item3_balance_counts_the_records_classes_and_an_absent_class_gets_the_fix(tmp_path):
    paths = _write(tmp_path, 6)
    labels = [0, 1, 2, 3, 4, 5]  # class 6 absent from this training split
    ds = T.from_records(paths, labels, image_size=16, num_classes=7, one_hot=True,
                        balance=T.balance(strategy="target", target=[1, 1, 1, 1, 1, 1, 0], seed=0))
    out = [int(np.argmax(y)) for _, y in ds.as_numpy_iterator()]
    assert sorted(out) == [0, 1, 2, 3, 4, 5]  # was: "target must have one entry per class (6); got 7"
    with pytest.raises(ValueError, match=r"classes \[6\] have no elements but a positive target; set their target "
                                         r"to 0"):
        T.from_records(paths, labels, image_size=16, num_classes=7,
                       balance=T.balance(strategy="target", target=[1] * 7, seed=0))
    with pytest.raises(ValueError, match="balance counts 3 classes and the records 7"):
        T.from_records(paths, labels, image_size=16, num_classes=7, balance=T.balance(num_classes=3))


def test_item4_one_int_is_a_square_size_everywhere(tmp_path):
    paths = _write(tmp_path, 2)
    ds = T.from_records(paths, [0, 1], image_size=64)  # was: TypeError: 'int' object is not iterable
    assert ds.element_spec[0].shape == (64, 64, 3)
    assert Preprocessing(image_size=64).image_size == (64, 64)
    for bad, message in [((64,), "image_size"), (8, "image_size"), ("64", "image_size"), (64.0, "image_size")]:
        with pytest.raises((TypeError, ValueError), match=message):
            T.from_records(paths, [0, 1], image_size=bad)


def test_item5_augmenting_after_preprocess_input_names_the_real_fix_before_the_graph_runs():
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)  # preprocess_input's range
    ds = tf.data.Dataset.from_tensor_slices((images, [0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"before preprocess_input, or pass value_range=\(-1, 1\)") as caught:
        ds.apply(T.augment(seed=0))  # raised at apply time, a plain ValueError, not a TF InvalidArgumentError
    assert "value_range=(0, 255)" not in str(caught.value)  # the old, wrong fix
    out = np.stack([x for x, _ in ds.apply(T.augment(seed=0, value_range=(-1, 1))).as_numpy_iterator()])
    assert out.shape == images.shape and -1 <= out.min() and out.max() <= 1 and out.min() < 0
    batched = ds.batch(2).apply(T.remove_hair(value_range=(-1, 1)))
    assert next(iter(batched))[0].shape == (2, 32, 32, 3)


@pytest.mark.parametrize("costly", ["shuffle", "cache", "filter"])
def test_item5_the_early_range_check_never_reads_through_a_costly_dataset(costly):
    """The early check reads one element; through a shuffle that would fill the whole buffer at construction
    (every image decoded before training starts), through a cache it would leave a partial cache."""
    reads = []

    def load(i):
        reads.append(int(i))
        return np.full((8, 8, 3), -0.5, np.float32)  # preprocess_input's range: the check must still catch it

    ds = tf.data.Dataset.range(64).map(lambda i: (tf.numpy_function(load, [i], tf.float32), i % 2))
    ds = ds.map(lambda x, y: (tf.ensure_shape(x, (8, 8, 3)), y))
    ds = {"shuffle": lambda d: d.shuffle(64, seed=0), "cache": lambda d: d.cache(),
          "filter": lambda d: d.filter(lambda x, y: y >= 0)}[costly](ds)
    augmented = ds.apply(T.augment(seed=0))
    assert reads == []  # nothing read when the pipeline is built
    with pytest.raises(tf.errors.InvalidArgumentError, match="before preprocess_input"):
        next(iter(augmented))  # the same message, at run time


def test_item5_the_early_range_check_reads_one_element_of_a_cheap_dataset():
    reads = []

    def load(i):
        reads.append(int(i))
        return np.full((8, 8, 3), -0.5, np.float32)

    ds = tf.data.Dataset.range(64).map(lambda i: (tf.numpy_function(load, [i], tf.float32), i % 2))
    ds = ds.map(lambda x, y: (tf.ensure_shape(x, (8, 8, 3)), y)).prefetch(1)
    with pytest.raises(ValueError, match="before preprocess_input"):
        ds.apply(T.augment(seed=0))
    assert 1 <= len(reads) < 16  # the first element and what prefetch ran ahead, not the 64 of the dataset


def test_item7_an_epoch_without_an_order_is_refused_not_ignored(tmp_path):
    paths = _write(tmp_path, 3)
    with pytest.raises(ValueError, match="epoch chooses the order of shuffle_seed= or balance="):
        T.from_records(paths, [0, 1, 0], image_size=16, epoch=3)
    shuffled = [T.from_records(paths, [0, 1, 0], image_size=16, shuffle_seed=1, epoch=e) for e in (0, 3)]
    assert all(len(list(d)) == 3 for d in shuffled)
    balanced = T.from_records(paths, [0, 1, 0], image_size=16, balance=T.balance(seed=0), epoch=3)
    assert sorted(int(y) for _, y in balanced.as_numpy_iterator()) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="the epoch is given twice"):
        T.from_records(paths, [0, 1, 0], image_size=16, balance=T.balance(seed=0, epoch=1), epoch=3)


def test_item7_balance_on_batches_says_apply_it_before_batch():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((6, 8, 8, 3), np.uint8), [0, 1, 1, 0, 1, 1])).batch(2)
    with pytest.raises(ValueError, match=r"apply balance\(\) before \.batch\(\)"):
        ds.apply(T.balance(seed=0))


def test_item7_the_augmentation_docs_no_longer_say_batches_are_refused():
    from pathlib import Path

    text = " ".join((Path(__file__).parents[2] / "docs" / "augmentation.md").read_text().split())
    assert "a batched dataset, or a missing static size raises" not in text
    assert "batched datasets are augmented" in text


def test_item9_balance_refuses_unknown_length_within_a_second():
    ds = tf.data.Dataset.range(10).map(lambda x: (x, x % 2)).repeat().filter(lambda x, y: True)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"take\(n\)"):
        ds.apply(T.balance(seed=0))
    assert time.perf_counter() - started < 1.0


def test_item9_a_replaced_source_or_cache_entry_is_never_served_as_the_cached_result(tmp_path):
    source = tmp_path / "ISIC_1.png"
    cv2.imwrite(str(source), np.full((40, 40, 3), 30, np.uint8))
    cache = HairCache(tmp_path / "cache", {})
    cache.put(source, np.full((40, 40, 3), 30, np.uint8))
    stat = os.stat(source)
    cv2.imwrite(str(source), np.full((40, 40, 3), 200, np.uint8))  # another image, same size and mtime
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(source).st_size == stat.st_size
    assert cache.get(source) is None  # was: the first image's entry
    cache.put(source, np.full((40, 40, 3), 200, np.uint8))
    assert cache.get(source).max() == 200
    cv2.imwrite(str(cache.path_for(source)), np.zeros((20, 30, 3), np.uint8))  # an entry of another shape
    assert cache.get(source) is None


def test_item9_missing_none_and_truncated_files_are_named_before_the_dataset_runs(tmp_path):
    paths = _write(tmp_path, 2)
    jpeg = tmp_path / "ISIC_t.jpg"
    cv2.imwrite(str(jpeg), np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"ISIC_t\.jpg.*truncated"):
        T.from_records([*paths, str(jpeg)], [0, 1, 0], image_size=16)
    with pytest.raises(TypeError, match=r"paths\[1\] must be a file path.*None"):
        T.from_records([paths[0], None], [0, 1], image_size=16)
    with pytest.raises(FileNotFoundError, match=r"1 of the 2 paths do not exist.*nowhere\.png"):
        T.from_records([paths[0], str(tmp_path / "nowhere.png")], [0, 1], image_size=16)


def test_item9_a_three_tuple_without_layout_names_the_layout_to_pass():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 16, 16, 3), np.uint8), np.zeros((2, 16, 16), np.uint8),
                                             [0, 1]))
    with pytest.raises(ValueError, match=r"layout=\('image', 'mask', 'label'\)"):
        ds.apply(T.augment(seed=0))


def test_item9_slightly_negative_float_images_are_refused():
    images = np.full((2, 16, 16, 3), 0.5, np.float32)
    images[1, 0, 0, 0] = -1e-3
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=r"values in \[0, 1\]"):
        list(tf.data.Dataset.from_tensor_slices(images).apply(T.augment(seed=0, group=1)))
