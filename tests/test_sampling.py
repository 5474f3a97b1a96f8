"""Exact-quota class balancing (NumPy core): quotas, even repetition, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep.sampling import (
    class_counts,
    class_weights,
    epoch_indices,
    format_distribution,
    plot_class_distribution,
    target_counts,
)

label_lists = st.lists(st.integers(0, 6), min_size=1, max_size=300)


@given(labels=label_lists, strategy=st.sampled_from(["oversample", "undersample"]), seed=st.integers(0, 1000),
       epoch=st.integers(0, 5))
def test_property_exact_quotas_and_even_repetition(labels, strategy, seed, epoch):
    labels = np.array(labels)
    counts = class_counts(labels, 7)
    targets = target_counts(counts, strategy)
    idx = epoch_indices(labels, targets, seed=seed, epoch=epoch)
    np.testing.assert_array_equal(np.bincount(labels[idx], minlength=7), targets)
    for c in range(7):
        members = np.flatnonzero(labels == c)
        if members.size == 0:
            continue
        uses = np.bincount(idx[labels[idx] == c], minlength=labels.size)[members]
        assert uses.max() - uses.min() <= 1  # every element used before any is used twice
    np.testing.assert_array_equal(idx, epoch_indices(labels, targets, seed=seed, epoch=epoch))


def test_epochs_differ_and_seeds_differ():
    labels = np.array([0] * 50 + [1] * 5)
    targets = target_counts(class_counts(labels), "oversample")
    a = epoch_indices(labels, targets, seed=0, epoch=0)
    assert not np.array_equal(a, epoch_indices(labels, targets, seed=0, epoch=1))
    assert not np.array_equal(a, epoch_indices(labels, targets, seed=1, epoch=0))


def test_single_element_class_and_one_hot_labels():
    labels = np.eye(3)[[0, 0, 0, 0, 1, 2, 2]]
    targets = target_counts(class_counts(labels), "oversample")
    assert targets.tolist() == [4, 4, 4]
    idx = epoch_indices(labels, targets, seed=3)
    assert (idx == 4).sum() == 4  # the only class-1 element, four times


def test_empty_classes_are_skipped_by_over_and_undersampling_and_refused_by_targets():
    counts = class_counts([0, 0, 2], num_classes=3)
    assert target_counts(counts, "oversample").tolist() == [2, 0, 2]
    assert target_counts(counts, "undersample").tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"classes \[1\] have no elements"):
        target_counts(counts, "target", target=[1, 1, 1])


def test_explicit_targets():
    counts = np.array([10, 4, 1])
    assert target_counts(counts, "target", target={0: 3, 2: 2}).tolist() == [3, 0, 2]
    assert target_counts(counts, "target", target=[0.5, 0.3, 0.2], size=10).tolist() == [5, 3, 2]
    assert target_counts(counts, "oversample", count=20).tolist() == [20, 20, 20]


def test_class_weights_match_the_balanced_formula():
    labels = [0, 0, 0, 1, 2, 2]
    w = class_weights(labels, num_classes=4)
    assert w[0] == pytest.approx(6 / (3 * 3)) and w[1] == pytest.approx(6 / (3 * 1)) and w[3] == 0.0


def test_distribution_table_and_plot(tmp_path):
    text = format_distribution({"before": [5, 1], "after": [5, 5]}, ["a", "b"])
    assert "before" in text and "total" in text and text.splitlines()[-1].split()[1:] == ["6", "10"]
    plot_class_distribution({"before": [5, 1], "after": [5, 5]}, ["a", "b"], tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 1000


def test_invalid_input():
    with pytest.raises(ValueError, match="labels must not be empty"):
        class_counts([])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\]"):  # one message with tfdata
        class_counts([0, 3], num_classes=3)
    with pytest.raises(TypeError, match="integer class indices"):
        class_counts([0.5, 1.0])
    with pytest.raises(ValueError, match="strategy must be one of"):
        target_counts([1, 2], "smote")
    with pytest.raises(ValueError, match="needs at least 5 elements"):
        target_counts([5, 2], "undersample", count=5)
    with pytest.raises(ValueError, match="must sum to 1"):
        target_counts([5, 2], "target", target=[0.5, 0.2])
    with pytest.raises(ValueError, match="needs target="):
        target_counts([5, 2], "target")
    with pytest.raises(ValueError, match="seed must be"):
        epoch_indices([0, 1], [1, 1], seed=-1)
    with pytest.raises(ValueError, match="one-hot labels have 2 columns"):
        class_weights(np.eye(2), num_classes=3)
