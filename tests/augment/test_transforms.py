"""Contracts every operation meets, found by introspection (OPS), on both dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from dermprep.augment import OPS, ColourOp, Flip, GeometryOp, Pipeline, Rotate, Shift
from dermprep.augment._random import uniforms
from dermprep.synthetic import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample((96, 96), rng=4, hair=False)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_contract_every_op(name, dtype, sample):
    image = sample.image if dtype == np.uint8 else (sample.image / 255.0).astype(np.float32)
    before = image.copy()
    on = Pipeline([OPS[name](p=1.0)])
    outs = [on(image, seed=s, index=i) for s in range(2) for i in range(3)]
    for out in outs:
        assert out.shape == image.shape and out.dtype == image.dtype
        if dtype == np.float32:
            assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(image, before)  # input untouched
    np.testing.assert_array_equal(on(image, seed=1, index=2), outs[5])  # replayable
    off = Pipeline([OPS[name](p=0.0)])
    np.testing.assert_array_equal(off(image, seed=3, index=7), image)  # p=0: exact identity


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_samples_its_own_draws_and_rebuilds_from_config(name):
    op = OPS[name](p=1.0)
    u = uniforms(0, 0, np.arange(16), op.draws)
    params = op.sample(u)
    assert "applied" in params and all(len(v) == 16 for v in params.values())
    assert type(op)(**{k: v for k, v in op.config().items() if k != "op"}) == op


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_works_alone(name, sample):
    op = OPS[name](p=1.0)
    np.testing.assert_array_equal(op(sample.image, seed=4, index=1), Pipeline([op])(sample.image, seed=4, index=1))


def test_geometry_ops_give_matrices_and_colour_ops_colour_matrices():
    for op in (cls(p=1.0) for cls in OPS.values()):
        params = op.sample(uniforms(1, 0, np.arange(4), op.draws))
        if isinstance(op, GeometryOp):
            assert op.matrix(params, 32, 32).shape == (4, 3, 3)
        if isinstance(op, ColourOp):
            sample = np.full((4, 10, 3), 0.5)
            assert op.colour_matrix(params, sample.mean(axis=1), sample).shape == (4, 3, 4)


@pytest.mark.parametrize("make, message", [
    (lambda: Flip(horizontal="no"), "flip.horizontal must be True or False"),
    (lambda: Shift(fraction="0.1"), "shift.fraction must be a number"),
    (lambda: Shift(fraction=None), "shift.fraction must be a number"),
    (lambda: Shift(fraction=float("nan")), "finite"),
    (lambda: Rotate(p="1"), "rotate.p must be a number"),
    (lambda: Rotate(angle_range=(0, np.inf)), "finite"),
])
def test_bad_parameters_fail_when_the_op_is_built(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_numpy_scalars_are_accepted():
    assert Shift(fraction=np.float32(0.1)).fraction == pytest.approx(0.1)
    assert Rotate(p=np.float64(0.5), angle_range=(np.int64(-10), np.int64(10))).p == 0.5
