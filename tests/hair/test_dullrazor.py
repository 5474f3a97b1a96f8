"""remove_hair / hair_mask: contracts, properties and invalid input."""

from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep import dull_razor_params, hair_mask, remove_hair
from dermprep.synthetic import make_sample

from ._images import (
    hair_along_the_border,
    hair_in_textured_lesion,
    stubs_and_dots_at_the_border,
    thick_band_in_lesion,
)


@pytest.fixture(scope="module")
def sample():
    return make_sample((120, 160), rng=11)


def test_single_image_shape_dtype_and_mask(sample):
    restored, mask = remove_hair(sample.image, return_mask=True)
    assert restored.shape == sample.image.shape and restored.dtype == np.uint8
    assert mask.shape == sample.image.shape[:2] and mask.dtype == bool
    assert mask.any(), "a hairy synthetic image must yield some hair"
    np.testing.assert_array_equal(hair_mask(sample.image), mask)


def test_pixels_far_from_hair_are_unchanged(sample):
    restored, mask = remove_hair(sample.image, return_mask=True)
    from dermprep.hair._kernels import _dilate

    params = dull_razor_params(sample.image.shape)
    near = np.empty_like(mask)
    # the replaced region: the mask dilated, grown along faint edges and tips, plus the smoothing window
    _dilate(mask, params.dilation + params.edge_radius + 1, near, np.zeros(0, np.uint8))
    np.testing.assert_array_equal(restored[~near], sample.image[~near])


def test_batch_equals_images_one_by_one():
    images = np.stack([make_sample((96, 128), rng=i).image for i in range(3)])
    restored, masks = remove_hair(images, return_mask=True)
    for i in range(3):
        single, single_mask = remove_hair(images[i], return_mask=True)
        np.testing.assert_array_equal(restored[i], single)
        np.testing.assert_array_equal(masks[i], single_mask)


def test_batch_on_several_workers_equals_images_one_by_one():
    # a batch runs one image per worker thread, each estimating its own image's lesion
    n = 2 * numba.get_num_threads() + 1
    samples = [make_sample((64, 80), rng=10 + i) for i in range(n)]
    images = np.stack([s.image for s in samples])
    protect = np.stack([s.lesion_mask for s in samples])
    for kwargs in ({}, {"protect": protect}):
        restored, masks = remove_hair(images, return_mask=True, **kwargs)
        for i in range(n):
            single_kwargs = {"protect": protect[i]} if kwargs else {}
            single, single_mask = remove_hair(images[i], return_mask=True, **single_kwargs)
            np.testing.assert_array_equal(restored[i], single)
            np.testing.assert_array_equal(masks[i], single_mask)
    assert masks.any()


def test_a_batch_runs_on_as_many_worker_threads_at_once_as_numba_has_threads(monkeypatch):
    # the guard against a batch silently running on one core: each image's kernel call waits at a barrier
    # for the other workers' to start, which only happens when they run at the same time
    import threading

    from dermprep.hair import _kernels

    threads = numba.get_num_threads()
    if threads < 2:
        pytest.skip("numba has one thread here (NUMBA_NUM_THREADS=1 or one core)")
    images = np.stack([make_sample((48, 64), rng=i).image for i in range(2 * threads)])
    expected = remove_hair(images)
    barrier, callers, real = threading.Barrier(threads, timeout=60), set(), _kernels.process_serial

    def meeting_the_others(*args):  # type: ignore[no-untyped-def]
        callers.add(threading.get_ident())
        barrier.wait()  # BrokenBarrierError after 60 s when the images ran one after the other
        return real(*args)

    monkeypatch.setattr(_kernels, "process_serial", meeting_the_others)
    np.testing.assert_array_equal(remove_hair(images), expected)
    assert len(callers) == threads and threading.get_ident() not in callers
    assert real.targetoptions["nogil"]  # else the workers' kernels would take turns


def test_batches_from_many_threads_at_once_share_the_process_workers():
    # a tf.data map runs batches from several threads at once: they share numba's thread count of workers
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from dermprep.hair import _kernels

    batches = [np.stack([make_sample((48, 64), rng=10 * b + i).image for i in range(3)]) for b in range(4)]
    expected = [remove_hair(batch) for batch in batches]
    callers, real = set(), _kernels.process_serial

    def recording(*args):  # type: ignore[no-untyped-def]
        callers.add(threading.current_thread())  # the thread itself: pools of their own would reuse the names
        return real(*args)

    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(max_workers=4) as callers_of_batches:
        patch.setattr(_kernels, "process_serial", recording)
        results = list(callers_of_batches.map(remove_hair, batches))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert 1 <= len(callers) <= numba.config.NUMBA_NUM_THREADS
    assert all(thread.name.startswith("dermprep-hair") for thread in callers)


def test_an_error_in_one_image_stops_its_batch_and_reaches_the_caller(monkeypatch):
    import itertools

    from dermprep.hair import _dullrazor

    images = np.stack([make_sample((48, 64), rng=i).image for i in range(40)])
    calls, real = itertools.count(1), _dullrazor.lesion_grids  # next() on it is atomic
    estimated = []

    def failing_on_the_third(detect, params, protect):  # type: ignore[no-untyped-def]
        call = next(calls)
        estimated.append(call)
        if call == 3:
            raise RuntimeError("lesion estimate failed")
        return real(detect, params, protect)

    monkeypatch.setattr(_dullrazor, "lesion_grids", failing_on_the_third)
    with pytest.raises(RuntimeError, match="lesion estimate failed"):
        remove_hair(images)
    # the call returns once every worker has stopped: each finishes at most the image it is on
    assert 3 <= len(estimated) <= 2 + numba.get_num_threads()
    monkeypatch.setattr(_dullrazor, "lesion_grids", real)
    np.testing.assert_array_equal(remove_hair(images[:2])[1], remove_hair(images[1]))  # and the workers still work


def test_float32_matches_uint8(sample):
    as_float = sample.image.astype(np.float32) / np.float32(255)
    restored_f, mask_f = remove_hair(as_float, return_mask=True)
    restored_u, mask_u = remove_hair(sample.image, return_mask=True)
    assert restored_f.dtype == np.float32
    np.testing.assert_array_equal(mask_f, mask_u)
    assert np.abs(restored_f * 255 - restored_u).max() <= 0.5 + 1e-3
    from dermprep.hair._kernels import _dilate

    params = dull_razor_params(sample.image.shape)
    near = np.empty_like(mask_u)
    _dilate(mask_u, params.dilation + params.edge_radius + 1, near, np.zeros(0, np.uint8))
    np.testing.assert_array_equal(restored_f[~near], as_float[~near])  # bit-identical away from hair


def test_read_only_and_non_contiguous_inputs_are_accepted_and_untouched(sample):
    image = sample.image.copy()
    image.setflags(write=False)
    expected = remove_hair(sample.image)
    np.testing.assert_array_equal(remove_hair(image), expected)
    wide = np.zeros((120, 320, 3), np.uint8)
    wide[:, ::2] = sample.image
    strided = wide[:, ::2]
    assert not strided.flags.c_contiguous
    before = wide.copy()
    np.testing.assert_array_equal(remove_hair(strided), expected)
    np.testing.assert_array_equal(wide, before)


def test_opencv_method_runs_and_keeps_dtype(sample):
    restored, mask = remove_hair(sample.image, method="opencv", return_mask=True)
    assert restored.shape == sample.image.shape and restored.dtype == np.uint8 and mask.dtype == bool
    restored_f = remove_hair(sample.image.astype(np.float32) / 255, method="opencv")
    assert restored_f.dtype == np.float32 and 0 <= restored_f.min() and restored_f.max() <= 1


def test_parameters_scale_with_image_size():
    big, small = dull_razor_params((450, 600)), dull_razor_params((224, 224, 3))
    assert big.line_length == 13 and big.pool == 2
    assert small.line_length == 7 and small.pool == 1
    assert small.min_length < big.min_length
    assert dull_razor_params((2, 450, 600, 3)) == big


@given(
    height=st.integers(16, 48),
    width=st.integers(16, 48),
    batch=st.sampled_from([None, 1, 2]),
    dtype=st.sampled_from([np.uint8, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_property_shape_dtype_kept_input_untouched_deterministic(height, width, batch, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (height, width, 3) if batch is None else (batch, height, width, 3)
    image = rng.integers(0, 256, shape).astype(np.uint8)
    if dtype == np.float32:
        image = (image / 255.0).astype(np.float32)
    before = image.copy()
    first, mask = remove_hair(image, return_mask=True)
    second = remove_hair(image)
    assert first.shape == image.shape and first.dtype == image.dtype
    assert mask.shape == image.shape[:-1] and mask.dtype == bool
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(first, second)
    if dtype == np.float32:
        assert np.isfinite(first).all() and first.min() >= 0 and first.max() <= 1


@given(
    color=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    height=st.integers(16, 64),
    width=st.integers(16, 64),
)
def test_property_flat_hair_free_image_is_unchanged(color, height, width):
    image = np.empty((height, width, 3), np.uint8)
    image[...] = color
    restored, mask = remove_hair(image, return_mask=True)
    assert not mask.any()
    np.testing.assert_array_equal(restored, image)


@pytest.mark.parametrize("fn", [remove_hair, hair_mask])
class TestInvalidInput:
    def test_wrong_ndim_names_argument_and_shape(self, fn):
        with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\) or \(N, H, W, 3\); got \(224, 224\)"):
            fn(np.zeros((224, 224), np.uint8))

    @pytest.mark.parametrize("channels, hint", [(1, "repeat"), (4, "alpha")])
    def test_wrong_channel_count_says_what_to_do(self, fn, channels, hint):
        with pytest.raises(ValueError, match=f"3 channels.*{hint}"):
            fn(np.zeros((32, 32, channels), np.uint8))

    @pytest.mark.parametrize("dtype", [np.float64, np.int32, np.uint16, bool])
    def test_unsupported_dtype(self, fn, dtype):
        with pytest.raises(TypeError, match="uint8.*float32"):
            fn(np.zeros((32, 32, 3), dtype))

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_non_finite_float(self, fn, bad):
        image = np.zeros((32, 32, 3), np.float32)
        image[3, 4, 1] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            fn(image)

    def test_float_out_of_range(self, fn):
        with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
            fn(np.full((32, 32, 3), 255.0, np.float32))

    @pytest.mark.parametrize("shape", [(8, 32, 3), (0, 32, 32, 3), (32, 0, 3)])
    def test_empty_or_tiny(self, fn, shape):
        with pytest.raises(ValueError, match="image"):
            fn(np.zeros(shape, np.uint8))

    def test_not_an_array(self, fn):
        with pytest.raises(TypeError, match="numpy.ndarray"):
            fn("image.jpg")

    def test_unknown_method_and_option(self, fn):
        image = np.zeros((32, 32, 3), np.uint8)
        with pytest.raises(ValueError, match="method must be one of"):
            fn(image, method="razor")
        with pytest.raises(TypeError, match="unknown Dull Razor option"):
            fn(image, treshold=3)
        with pytest.raises(ValueError, match="threshold must be an integer grey level"):
            fn(image, threshold=300)
        with pytest.raises(ValueError, match="line_length must be an odd integer"):
            fn(image, line_length=8)


def test_dull_razor_params_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape must be"):
        dull_razor_params((3,))


@pytest.mark.parametrize("fn", [remove_hair, hair_mask])
def test_opencv_method_takes_no_options_and_no_protect_mask(fn):
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(TypeError, match="method='opencv' takes no options; got \\['threshold'\\]"):
        fn(image, method="opencv", threshold=20)
    with pytest.raises(TypeError, match="method='opencv' takes no protect mask"):
        fn(image, method="opencv", protect=np.zeros((32, 32), bool))


def test_kernel_record_carries_every_parameter_by_name_in_its_own_type():
    from dataclasses import fields

    from dermprep.hair._dullrazor import DullRazorParams, kernel_params

    params = dull_razor_params((450, 600), threshold=np.int64(20), smooth=np.bool_(False))
    record = kernel_params(params, replace_hair=True, rounding=0.5)
    for field in fields(DullRazorParams):
        value = getattr(record, field.name)
        assert value == getattr(params, field.name)
        assert type(value) is type(field.default), field.name  # NumPy scalars would compile a second signature
    assert record.replace is True and record.rounding == 0.5
    assert record.threshold == 20 and record.smooth is False


def test_a_thicket_is_removed_and_a_pen_dot_under_it_stays_whole():
    from dermprep.hair.evaluation import dark_texture
    from dermprep.synthetic import simulate_hair

    sample = make_sample((450, 600), rng=21, hair=False)
    clean = sample.clean.copy()
    dot = np.zeros(clean.shape[:2], bool)
    dot[100:124, 450:476] = True
    ink = np.array([110, 50, 160], np.uint8)  # purple: red and green darkened, blue not
    clean[dot] = ink
    hairy, truth = simulate_hair(clean, rng=4, density="dense")  # the hair lies over the dot
    # the lesion given (the estimate, a guess, takes a dark dot in a thicket for part of the lesion)
    restored = remove_hair(hairy, protect=sample.lesion_mask)
    error_before = np.abs(hairy.astype(int) - clean)[truth & ~dot].mean()
    error_after = np.abs(restored.astype(int) - clean)[truth & ~dot].mean()
    assert error_after < 0.4 * error_before
    inky = (np.abs(restored[dot].astype(int) - ink).max(axis=-1) <= 40).mean()
    assert inky > 0.8, f"only {inky:.0%} of the pen dot kept its colour"
    ours = dark_texture(hairy, restored, sample.lesion_mask)
    recipe = dark_texture(hairy, remove_hair(hairy, method="opencv"), sample.lesion_mask)
    assert ours.residual < recipe.residual and ours.new_dark < recipe.new_dark


def test_thicket_options_are_checked():
    image = np.zeros((32, 32, 3), np.uint8)
    for bad in (0, 0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="thicket_density"):
            remove_hair(image, thicket_density=bad)
    with pytest.raises(TypeError, match="detect_thickets"):
        remove_hair(image, detect_thickets="yes")
    with pytest.raises(ValueError, match="lesion_threshold"):
        hair_mask(image, lesion_threshold=255)


def test_a_hair_inside_a_textured_lesion_is_not_grown_into_the_texture():
    # Grown at the low threshold (10), the hair joined the lesion's dots into one mesh, which lesion safety then
    # left as the lesion's own; grown at the lesion's low threshold (15) it stays a line and goes.
    image, lesion, hair = hair_in_textured_lesion()
    found = hair_mask(image, protect=lesion)
    assert found[hair].mean() > 0.95
    assert (found & ~hair & lesion).sum() < 0.5 * hair.sum()  # the hair's edges, not the dots
    # grown at 10, the mesh of hair and dots is either dropped whole (the thinness test alone) ...
    assert not hair_mask(image, protect=lesion, lesion_low_threshold=10, thick_hair_threshold=254)[hair].any()
    # ... or, dark enough on average for the thick-hair test, kept with the dots it grew into
    grown = hair_mask(image, protect=lesion, lesion_low_threshold=10)
    assert (grown & ~hair & lesion).sum() > 0.5 * hair.sum()


def test_a_thick_dark_hair_inside_a_lesion_goes_and_a_faint_band_of_the_same_shape_stays():
    # Both are wider than a thin line at the pooled level; without a protected lesion both would be hair.
    hair_image, lesion, band = thick_band_in_lesion(0.3)
    pigment_image, _, _ = thick_band_in_lesion(0.85)  # 24 grey levels darker than the lesion: its network's depth
    assert hair_mask(pigment_image, lesion_safety=False)[band].mean() > 0.95
    assert hair_mask(hair_image, protect=lesion)[band].mean() > 0.95
    assert not hair_mask(pigment_image, protect=lesion).any()
    # the mean-residue test is what finds it: at the threshold's top nothing is
    assert not hair_mask(hair_image, protect=lesion, thick_hair_threshold=254).any()
    restored = remove_hair(hair_image, protect=lesion)
    assert np.abs(restored[band].astype(int) - hair_image[lesion & ~band][0]).max() <= 3  # filled with the lesion


def test_hair_along_the_border_goes_and_the_dark_corners_of_the_field_stay():
    # The closing is that of the image extended along each line by its last pixel inside: skin beyond a hair
    # that runs along the edge; dark beyond the corners of a round dermoscope field, which darken towards the
    # border (a slope, not a valley), and beyond a 1 px frame line on the edge. Padding each pass of the
    # closing separately (cv2.morphologyEx with BORDER_REPLICATE) took both for hair.
    image, hair, dark = hair_along_the_border()
    found = hair_mask(image)
    assert found[hair].mean() > 0.95
    assert not found[dark].any()
    restored = remove_hair(image)
    assert (restored[dark] != image[dark]).any(axis=-1).mean() < 0.002
    skin = image[420:440, 150:450].reshape(-1, 3).mean(axis=0)
    assert np.abs(restored[hair].mean(axis=0) - skin).max() < 12  # filled with the skin beside it


def test_hair_cut_by_the_border_goes_and_dots_at_the_border_stay():
    # A run that leaves the image counts from edge_min_length (10 px here, not min_length's 30) when it is
    # thin along all of it: the stub of a hair that goes on beyond the border, not a dot cut by it (whose rim
    # alone is thin).
    image, stubs, dots = stubs_and_dots_at_the_border()
    found = hair_mask(image)
    assert found[stubs].mean() > 0.9
    assert not found[dots].any()
    restored = remove_hair(image)
    assert (restored[dots] != image[dots]).any(axis=-1).mean() < 0.01
    assert (restored[stubs].astype(int) - image[stubs]).mean() > 30  # lightened towards the skin
    # As any other end of a run, the border needs min_length with edge_min_length = min_length.
    assert hair_mask(image, edge_min_length=30)[stubs].mean() < 0.5


def test_edge_min_length_is_checked():
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="edge_min_length must be an integer >= 1; got 0"):
        remove_hair(image, edge_min_length=0)
    with pytest.raises(TypeError, match="edge_min_length must be an integer >= 1; got 2.5 \\(float\\)"):
        hair_mask(image, edge_min_length=2.5)


def test_thick_hair_threshold_is_checked():
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="thick_hair_threshold must be an integer grey level in \\[0, 254\\]; got -1"):
        remove_hair(image, thick_hair_threshold=-1)
    with pytest.raises(TypeError, match="thick_hair_threshold must be an integer grey level"):
        hair_mask(image, thick_hair_threshold="50")


def test_lesion_low_threshold_is_checked():
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="lesion_low_threshold must be an integer grey level in \\[0, 254\\]; got 300"):
        remove_hair(image, lesion_low_threshold=300)
    with pytest.raises(TypeError, match="lesion_low_threshold must be an integer grey level"):
        hair_mask(image, lesion_low_threshold=12.5)


def test_a_thin_hair_between_two_of_sixteen_orientations_is_found(monkeypatch):
    # A 1 px strand at 28.125 degrees lies halfway between two of 16 orientations: its run drifts off both
    # digital lines before 30 px, and 16 orientations found less than half of it. 32 find all of it.
    import dermprep.hair._dullrazor as dullrazor

    image = make_sample((450, 600), rng=3, hair=False).image.copy()
    angle = np.deg2rad(28.125)
    start, end = (40, 60), (40 + int(260 * np.cos(angle)), 60 + int(260 * np.sin(angle)))
    cv2.line(image, start, end, (120, 100, 95), 1, cv2.LINE_AA)
    strand = np.zeros(image.shape[:2], np.uint8)
    cv2.line(strand, start, end, 1, 1, cv2.LINE_8)
    strand = strand.astype(bool)
    assert (hair_mask(image) & strand).sum() / strand.sum() > 0.99
    monkeypatch.setattr(dullrazor, "orientations", lambda params: 16)
    assert (hair_mask(image) & strand).sum() / strand.sum() < 0.6


def test_leftovers_in_the_workspace_change_nothing():
    # The kernels take their working arrays from workspaces lent by a pool (`dermprep.hair._workspace`):
    # whatever an earlier image left there must not reach the next one. A 600x450 image (the 2x2 pooled level,
    # thickets), then the same image with every kept workspace filled with 0, 255 and noise; and a batch after a
    # batch of other images (the workers' workspaces hold the first batch's leftovers), against single calls.
    from dermprep.hair import _dullrazor, _workspace
    from dermprep.synthetic import simulate_hair

    image, _ = simulate_hair(make_sample((450, 600), rng=3, hair=False).image, rng=3, density="dense")
    expected, expected_mask = remove_hair(image, return_mask=True)
    assert max(work.size for work in _dullrazor._WORKSPACES) > 4 << 20  # grown to what the image needed
    for leftovers in (0, 255, "noise"):
        for work in _dullrazor._WORKSPACES:
            work[_workspace.HEADER :] = (np.random.default_rng(0).integers(0, 256, work.size - _workspace.HEADER)
                                         if leftovers == "noise" else leftovers)
        restored, mask = remove_hair(image, return_mask=True)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(restored, expected)
    others = np.stack([make_sample((450, 600), rng=seed, num_hairs=(10, 20)).image for seed in range(4)])
    batch = np.stack([image, others[0], image, others[1]])
    remove_hair(others)
    restored, mask = remove_hair(batch, return_mask=True)
    for n, single in enumerate(batch):
        single_restored, single_mask = remove_hair(single, return_mask=True)
        np.testing.assert_array_equal(mask[n], single_mask)
        np.testing.assert_array_equal(restored[n], single_restored)


def test_a_workspace_outlives_the_thread_that_used_it(monkeypatch):
    # tf.data calls Python from threads whose thread-local state Python drops after every call: the workspace
    # goes back to the process' pool, and the next call, from another thread, gets the same one.
    import threading

    from dermprep.hair import _dullrazor

    monkeypatch.setattr(_dullrazor, "_WORKSPACES", [])
    image = make_sample((450, 600), rng=5).image

    def in_a_thread_of_its_own() -> None:
        thread = threading.Thread(target=remove_hair, args=(image,))
        thread.start()
        thread.join()

    in_a_thread_of_its_own()
    (kept,) = _dullrazor._WORKSPACES
    assert kept.size > 4 << 20
    in_a_thread_of_its_own()
    assert len(_dullrazor._WORKSPACES) == 1 and _dullrazor._WORKSPACES[0] is kept


def test_stages_free_their_working_arrays(monkeypatch):
    # Each stage's working arrays are freed when it ends (`_workspace.mark()` / `release()`), so the next stage
    # reuses them: a dense 600x450 image needs under 6 MB (4.6 MB; 10.8 MB when every array lived to the end of the
    # image). That no freed array is still read was checked by hashing the output against the code before
    # (docs/hair-removal.md, Speed); the leftovers test above checks that nothing left in a workspace leaks.
    from dermprep.hair import _dullrazor
    from dermprep.synthetic import simulate_hair

    monkeypatch.setattr(_dullrazor, "_WORKSPACES", [])
    image, _ = simulate_hair(make_sample((450, 600), rng=3, hair=False).image, rng=3, density="dense")
    remove_hair(image)
    (kept,) = _dullrazor._WORKSPACES
    assert 1 << 20 < kept.size < 6_000_000


def test_a_workspace_too_small_allocates_and_measures_what_it_lacked(monkeypatch):
    # `take()` past the end of the workspace allocates afresh and records the image's need (from its start:
    # a larger earlier image does not count); an image whose need is over the limit kept leaves the workspace
    # as it was, with the same result. Before `start_image()` the counters are never handed out.
    from dermprep.hair import _dullrazor, _workspace

    work = np.zeros(_workspace.HEADER + 100, np.uint8)
    first = _workspace.take_u8(work, 8)  # before start_image(): past the counters all the same
    assert np.shares_memory(first, work) and first.__array_interface__["data"][0] - work.ctypes.data >= 64
    _workspace.start_image(work)
    inside = _workspace.take_u8(work, 100)
    assert np.shares_memory(inside, work)
    outside = _workspace.take_f32(work, 10)
    assert not np.shares_memory(outside, work) and outside.shape == (10,) and outside.dtype == np.float32
    assert _workspace.needed(work) == _workspace.HEADER + 128 + 40  # the second array starts at a 64-byte boundary
    _workspace.start_image(work)
    _workspace.take_u8(work, 10)
    assert _workspace.needed(work) == _workspace.HEADER + 10
    sample = make_sample((150, 200), rng=4)
    expected = remove_hair(sample.image)
    monkeypatch.setattr(_dullrazor, "_WORKSPACES", [])
    monkeypatch.setattr(_dullrazor, "_WORKSPACE_LIMIT", 1000)
    np.testing.assert_array_equal(remove_hair(sample.image), expected)
    assert [work.size for work in _dullrazor._WORKSPACES] == [_workspace.HEADER]  # not grown: over the limit
    monkeypatch.setattr(_dullrazor, "_WORKSPACE_LIMIT", 64 << 20)
    remove_hair(sample.image)
    assert _dullrazor._WORKSPACES[0].size > 1 << 20  # an image over the limit did not stop the next from growing it
