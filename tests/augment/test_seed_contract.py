"""The seed contract, pinned: the same (seed, index, epoch) gives these numbers on every platform and release.

A change here changes every augmented data set users have trained on; make it on purpose, with a note.
"""

from __future__ import annotations

import numpy as np
import pytest

from dermprep.augment import default_pipeline
from dermprep.augment._random import uniforms


def test_uniforms_are_pinned():
    np.testing.assert_array_equal(uniforms(0, 0, [0, 1, 2], 3), [
        [0.24769210487292526, 0.3612485859015683, 0.3658840920104405],
        [0.28575299806401344, 0.3876489481576214, 0.4653593030434353],
        [0.10267159867036568, 0.2516118207983381, 0.03613901438108946],
    ])
    np.testing.assert_array_equal(uniforms(12345, 7, [31, 32], 2), [
        [0.8719606135082072, 0.1700716391288415], [0.5563523150694678, 0.5618643769675471]])


def test_default_pipeline_parameters_are_pinned():
    params = default_pipeline().sample(seed=0, index=5, epoch=1)
    assert params["dihedral"] == {"applied": True, "k": 7}
    assert params["flip"] == {"applied": True, "horizontal": True, "vertical": True}
    assert params["rotate"]["applied"] and params["rotate"]["angle"] == pytest.approx(7.204247315837613, abs=1e-12)
    assert not params["zoom"]["applied"]
    assert params["shift"]["dx"] == pytest.approx(0.0054587408865307, abs=1e-15)
    assert params["contrast"]["factor"] == pytest.approx(0.8689159689171505, abs=1e-15)
    assert [name for name, p in params.items() if p["applied"]] == ["dihedral", "flip", "rotate", "shift", "contrast"]


def test_an_element_depends_only_on_seed_index_and_epoch():
    u = uniforms(3, 2, np.arange(100), 5)
    np.testing.assert_array_equal(u[[7, 42]], uniforms(3, 2, [7, 42], 5))  # not on batching or order
    np.testing.assert_array_equal(u[:, :3], uniforms(3, 2, np.arange(100), 3))  # not on draws asked after
    assert not np.array_equal(u, uniforms(3, 3, np.arange(100), 5))
    assert not np.array_equal(u, uniforms(4, 2, np.arange(100), 5))
    assert 0.0 <= u.min() and u.max() < 1.0
