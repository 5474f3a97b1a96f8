"""Balanced iteration vs plain iteration vs tf.data rejection_resample (one run).

The same pipeline on HAM10000's class distribution (10,015 records): records
-> [balancing] -> a per-element "load" map producing a 64x64 image -> batch
32. Throughput is output elements per second.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import RESULTS

tf = pytest.importorskip("tensorflow")

import dermprep.tfdata as T  # noqa: E402
from dermprep.synthetic import HAM10000_CLASS_FREQUENCIES  # noqa: E402

COUNTS = np.array([327, 514, 1099, 115, 1113, 6705, 142])
LABELS = np.repeat(np.arange(7), COUNTS)
OUTPUTS = 10_000


def _load(index, label):
    image = tf.random.stateless_uniform([64, 64, 3], seed=tf.stack([index, index]), maxval=255, dtype=tf.int32)
    return tf.cast(image, tf.uint8), label


def _records():
    return tf.data.Dataset.from_tensor_slices((np.arange(LABELS.size, dtype=np.int64), LABELS))


def _consume(ds) -> tuple[float, int]:
    start, n = time.perf_counter(), 0
    for _, y in ds:
        n += int(y.shape[0])
    return time.perf_counter() - start, n


def _pipeline(ds):
    return ds.map(_load, num_parallel_calls=tf.data.AUTOTUNE).batch(32).prefetch(2)


def test_plain(benchmark):
    ds = _pipeline(_records().shuffle(LABELS.size, seed=0).repeat().take(OUTPUTS))
    seconds, n = benchmark.pedantic(_consume, args=(ds,), rounds=3, warmup_rounds=1)
    if benchmark.stats is not None:
        RESULTS["plain iteration elements/s"] = n / benchmark.stats.stats.min


def test_balanced_oversample(benchmark):
    balanced = _records().apply(T.balance(strategy="oversample", seed=0))
    ds = _pipeline(balanced.repeat().take(OUTPUTS))
    seconds, n = benchmark.pedantic(_consume, args=(ds,), rounds=3, warmup_rounds=1)
    if benchmark.stats is not None:
        RESULTS["dermprep balance elements/s"] = n / benchmark.stats.stats.min


def test_rejection_resample(benchmark):
    resampled = _records().repeat().rejection_resample(
        class_func=lambda i, y: tf.cast(y, tf.int32),
        target_dist=np.full(7, 1 / 7),
        initial_dist=HAM10000_CLASS_FREQUENCIES,
        seed=0,
    ).map(lambda cls, element: element)
    ds = _pipeline(resampled.take(OUTPUTS))
    seconds, n = benchmark.pedantic(_consume, args=(ds,), rounds=2, warmup_rounds=0)
    if benchmark.stats is not None:
        RESULTS["tf rejection_resample elements/s"] = n / benchmark.stats.stats.min
