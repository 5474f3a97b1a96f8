"""The numba kernels agree with the slow NumPy reference of the same algorithm."""

from __future__ import annotations

import numpy as np
import pytest

from dermprep import dull_razor_params, remove_hair
from dermprep.hair._dullrazor import lesion_grids
from dermprep.hair._reference import reference_remove_hair
from dermprep.synthetic import make_sample

from ._images import hair_along_the_border, hair_in_textured_lesion, thick_band_in_lesion


def hair_like(candidate: np.ndarray, darkened: tuple[int, int, int] = (110, 90, 90)) -> tuple[np.ndarray, np.ndarray]:
    """Backgrounds for `_verify()` on bare candidate masks: skin (200, 170, 160) everywhere, candidates
    min-pooled to ``darkened`` (hair by default: every channel darker)."""
    closed = np.empty((3, *candidate.shape), np.uint8)
    low = np.empty_like(closed)
    for c, (skin, value) in enumerate(zip((200, 170, 160), darkened, strict=True)):
        closed[c] = skin
        low[c] = np.where(candidate, value, skin)
    return closed, low


def verification(shape: tuple[int, int], **overrides: int) -> tuple[np.ndarray, int, int, int]:
    """The offsets and pooled lengths `_verify()` gets for images of ``shape`` (and parameter ``overrides``):
    offsets, min_length, edge_min_length, max_width."""
    from dermprep.hair import _kernels
    from dermprep.hair._dullrazor import kernel_params, line_offsets, orientations

    params = dull_razor_params(shape, **overrides)
    p = kernel_params(params, replace_hair=True, rounding=0.5)
    offsets = line_offsets(orientations(params), max(params.min_length, params.max_width) + 2)
    return (offsets, _kernels._pooled_min_length(p), _kernels._pooled_edge_min_length(p),
            _kernels._pooled_max_width(p))


def at_each_edge(mask: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """A square mask drawn at its top edge, turned so that it lies at each of the four edges (contiguous)."""
    turned = {"top": mask, "left": mask.T, "right": mask.T[:, ::-1], "bottom": mask[::-1]}
    return [(edge, np.ascontiguousarray(m)) for edge, m in turned.items()]


def verify_both(candidate: np.ndarray, settings: tuple[np.ndarray, int, int, int],
                darkened: tuple[int, int, int] = (110, 90, 90), max_width: int | None = None) -> tuple[np.ndarray, ...]:
    """`_verify()` of the kernels and of the reference on one candidate mask (hair-like backgrounds, least
    darkening 20); asserts they agree and returns the kernel's kept pixels and orientations."""
    from dermprep.hair import _kernels, _workspace
    from dermprep.hair._reference import _verify as reference_verify

    offsets, min_length, edge_min_length, default_width = settings
    width = default_width if max_width is None else max_width
    backgrounds = hair_like(candidate, darkened)
    keep = np.empty_like(candidate)
    along = np.full(candidate.shape, -1, np.int8)
    # a workspace of leftovers: the kernel must not read what it has not written
    work = np.random.default_rng(candidate.size).integers(0, 256, 4 << 20).astype(np.uint8)
    _workspace.start_image(work)
    _kernels._verify(candidate, offsets, min_length, edge_min_length, width, *backgrounds, 20, keep, along, work)
    expected_keep, expected_along = reference_verify(candidate, offsets, min_length, edge_min_length, width,
                                                     *backgrounds, 20)
    np.testing.assert_array_equal(keep, expected_keep)
    np.testing.assert_array_equal(along, expected_along)
    return keep, along


@pytest.mark.parametrize(
    "shape, seed",
    [((40, 56), 1), ((64, 80), 2), ((97, 83), 3), ((300, 310), 4)],  # the last uses the 2x2 pyramid level
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_kernel_matches_reference(shape, seed, dtype):
    sample = make_sample(shape, rng=seed, num_hairs=(4, 10))
    image = sample.image if dtype == np.uint8 else (sample.image / 255.0).astype(np.float32)
    params = dull_razor_params(image.shape)
    detect = sample.image  # the uint8 view detection and the lesion estimate work on
    expected, expected_mask = reference_remove_hair(image, params, lesion_grids(detect[None], params, None)[0])
    restored, mask = remove_hair(image, return_mask=True)
    assert mask.any()
    np.testing.assert_array_equal(mask, expected_mask)
    scale = 255.0 if dtype == np.float32 else 1.0
    # float32 sums in a different order; at most one grey level apart after rounding
    assert np.abs(restored.astype(np.float64) - expected.astype(np.float64)).max() * scale <= 1.0


def test_kernel_matches_reference_with_32_orientations():
    # Runs of 12 pooled cells or more (600x450 images: 15) walk 32 orientations; 300x310 by default has 10.
    from dermprep.hair._dullrazor import orientations

    sample = make_sample((300, 310), rng=7, num_hairs=(4, 10))
    params = dull_razor_params(sample.image.shape, min_length=26)
    assert orientations(params) == 32 and orientations(dull_razor_params(sample.image.shape)) == 16
    expected, expected_mask = reference_remove_hair(sample.image, params, lesion_grids(sample.image[None], params,
                                                                                        None)[0])
    restored, mask = remove_hair(sample.image, return_mask=True, min_length=26)
    assert mask.any()
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_orientations_follow_the_run_length():
    from dermprep.hair._dullrazor import orientations

    assert orientations(dull_razor_params((450, 600))) == 32  # HAM10000 originals: runs of 15 cells
    assert orientations(dull_razor_params((150, 200))) == 16  # the 200x150 copies: runs of 10 pixels
    assert orientations(dull_razor_params((224, 224))) == 16  # full resolution (runs of 15): not measured, kept
    assert orientations(dull_razor_params((1024, 1536))) == 32


def test_kernel_matches_reference_without_light_detection_or_smoothing():
    sample = make_sample((64, 64), rng=9)
    params = dull_razor_params(sample.image.shape, detect_light=False, smooth=False, dilation=0)
    expected, expected_mask = reference_remove_hair(sample.image, params, lesion_grids(sample.image[None], params,
                                                                                        None)[0])
    restored, mask = remove_hair(sample.image, return_mask=True, detect_light=False, smooth=False, dilation=0)
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_kernel_matches_reference_with_a_protected_lesion_and_without_lesion_safety():
    sample = make_sample((120, 160), rng=5, num_hairs=(8, 12))
    protect = sample.lesion_mask
    params = dull_razor_params(sample.image.shape)
    expected, expected_mask = reference_remove_hair(sample.image, params,
                                                    lesion_grids(sample.image[None], params, protect[None])[0])
    restored, mask = remove_hair(sample.image, return_mask=True, protect=protect)
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1
    off = dull_razor_params(sample.image.shape, lesion_safety=False)
    expected, expected_mask = reference_remove_hair(sample.image, off)
    restored, mask = remove_hair(sample.image, return_mask=True, lesion_safety=False)
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_kernel_matches_reference_in_a_thicket_and_a_mat_with_an_ink_dot(dtype):
    from dermprep.hair._reference import _detect as reference_detect
    from dermprep.synthetic import simulate_hair

    clean = make_sample((300, 310), rng=6, hair=False).image
    hairy, _ = simulate_hair(clean, rng=2, density="dense")
    hairy[40:60, 200:222] = (120, 60, 170)  # a purple pen dot under the hair
    image = hairy if dtype == np.uint8 else (hairy / 255.0).astype(np.float32)
    params = dull_razor_params(image.shape)
    lesion = lesion_grids(hairy[None], params, None)[0]
    *_, thicket = reference_detect(hairy, params, lesion)
    assert all((thicket == code).any() for code in (1, 2, 3)), "the image must exercise thickets, ink and mats"
    expected, expected_mask = reference_remove_hair(image, params, lesion)
    restored, mask = remove_hair(image, return_mask=True)
    np.testing.assert_array_equal(mask, expected_mask)
    scale = 255.0 if dtype == np.float32 else 1.0
    assert np.abs(restored.astype(np.float64) - expected.astype(np.float64)).max() * scale <= 1.0


def test_kernel_matches_reference_with_smoothing_and_thickets_off():
    sample = make_sample((120, 160), rng=8, num_hairs=(10, 14))
    params = dull_razor_params(sample.image.shape, smooth=True, detect_thickets=False)
    lesion = lesion_grids(sample.image[None], params, None)[0]
    expected, expected_mask = reference_remove_hair(sample.image, params, lesion)
    restored, mask = remove_hair(sample.image, return_mask=True, smooth=True, detect_thickets=False)
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_kernel_matches_reference_with_a_hair_in_a_textured_lesion():
    # The lesion's own low threshold decides here (tests/hair/test_dullrazor.py has the behaviour).
    image, lesion, _ = hair_in_textured_lesion()
    params = dull_razor_params(image.shape)
    expected, expected_mask = reference_remove_hair(image, params, lesion_grids(image[None], params, lesion[None])[0])
    restored, mask = remove_hair(image, return_mask=True, protect=lesion)
    assert mask.any()
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("shape, overrides", [
    ((450, 600), {}), ((150, 200), {}),  # 32 orientations on the pooled level; 16
    # short runs (2-6 cells on the pooled level): the orientations skipped for lack of their first steps
    # (_kernels._first_steps) look at fewer steps than 3 there
    *[((150, 200), {"min_length": length}) for length in (2, 3, 4, 5, 6)], ((450, 600), {"min_length": 9}),
])
def test_every_shortest_straight_run_is_verified(shape, overrides):
    # Verification skips candidate components too small to hold a run of min_length pixels
    # (_kernels._shortest_run_extent) and orientations without the first steps such a run has
    # (_kernels._first_steps); a run of exactly min_length, in every orientation and split around
    # its pixel, must still keep that pixel, and the whole result must be the reference's.
    settings = verification(shape, **overrides)
    offsets, min_length = settings[:2]
    size = 2 * min_length + 5
    for j in range(offsets.shape[0]):
        for forward in range(min_length):
            candidate = np.zeros((size, size), bool)
            centre = size // 2
            for t in range(forward + 1):
                candidate[centre + offsets[j, t, 0], centre + offsets[j, t, 1]] = True
            for t in range(min_length - forward):
                candidate[centre - offsets[j, t, 0], centre - offsets[j, t, 1]] = True
            keep, _ = verify_both(candidate, settings)
            assert keep[centre, centre], f"orientation {j}, {forward} forward"


@pytest.mark.parametrize("shape", [(450, 600), (150, 200)])
def test_stubs_cut_by_the_border_are_verified_and_rings_are_not(shape):
    # A component too small to hold a run of min_length that touches the border is kept whole when it is a
    # stub of hair cut by it: at least edge_min_length long in one orientation (measured along it, so a
    # digital line of edge_min_length + 1 steps in any orientation that leaves through the top edge at 22.5
    # degrees or more is kept; one of half as many steps is not), at most half as wide. A ring (the
    # candidates of a dot cut by the border) is not. The kernel's result must be the reference's each time.
    import cv2

    settings = verification(shape)
    offsets, min_length, edge_min_length = settings[:3]
    assert 2 <= edge_min_length < min_length

    def verify(candidate, darkened=(110, 90, 90)):
        return verify_both(candidate, settings, darkened)[0]

    size = 2 * min_length + 5
    for j in range(offsets.shape[0]):
        if np.sin(j * np.pi / offsets.shape[0]) < np.sin(np.pi / 8):  # along the top edge, not out of it
            continue
        for length, kept in ((edge_min_length + 1, True), ((edge_min_length + 1) // 2, False)):
            candidate = np.zeros((size, size), bool)
            for t in range(length):  # from the top row into the image
                candidate[offsets[j, t, 0], size // 2 + offsets[j, t, 1]] = True
            for edge, mask in at_each_edge(candidate):
                assert verify(mask).any() == kept, f"{edge}, orientation {j}, length {length}"
    for radius in range(2, 6):  # rings centred on the top edge and inside it
        for centre in (0, radius // 2):
            ring = np.zeros((size, size), np.uint8)
            cv2.circle(ring, (size // 2, centre), radius, 1, 1)
            assert not verify(ring > 0).any(), f"ring of radius {radius} at row {centre}"
    # A stub that darkens the skin as a red vessel (red stays bright) or purple ink (blue stays bright) does
    # is not hair; as hair does (every channel darker), it is.
    stub = np.zeros((size, size), bool)
    stub[: edge_min_length + 3, size // 2] = True
    assert verify(stub)[stub].all()
    for colour in ((195, 100, 90), (120, 90, 150)):
        assert not verify(stub, colour).any(), colour
    # Lighter than the skin, or darker by under 20 grey levels on average, it is not dark hair.
    for colour in ((230, 200, 190), (190, 160, 150)):
        assert not verify(stub, colour).any(), colour
    # Lying along an edge it touches (narrowest under 11.25 degrees off it, as the rim of a bubble cut by the
    # border) it is not a stub, though thin enough in steeper orientations too.
    along_edge = np.zeros((size, size), bool)
    along_edge[0, 5 : 5 + min_length - 3] = True
    for edge, mask in at_each_edge(along_edge):
        assert not verify(mask).any(), edge
    # At most max_width wide, even where half its length is more: 3 cells wide, 6 long, with max_width 2 and 3
    # (18 cells, within min_length x max_width for both).
    wide = np.zeros((size, size), bool)
    wide[:6, 10:13] = True
    for max_width_here, kept in ((2, False), (3, True)):
        assert verify_both(wide, settings, max_width=max_width_here)[0].any() == kept, max_width_here


@pytest.mark.parametrize("shape", [(450, 600), (150, 200)])
def test_verification_matches_reference_on_random_candidates(shape):
    # Noise blobs (skipped as too small) beside lines (verified), stubs, dots and rings cut by the border, in
    # one mask, half of the masks transposed (stubs at the left and right edges): the kernel must keep the
    # reference's pixels, each along the reference's orientation (which `_extend_along` follows).
    import cv2

    rng = np.random.default_rng(1)
    settings = verification(shape)
    for _ in range(30):
        mask = (rng.random((48, 64)) < rng.uniform(0.02, 0.3)).astype(np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            start, end = rng.integers(0, [64, 48], size=(2, 2))
            cv2.line(mask, tuple(map(int, start)), tuple(map(int, end)), 1, int(rng.integers(1, 3)))
        for _ in range(int(rng.integers(0, 4))):  # stubs and dots cut by the border
            edge = (int(rng.integers(0, 64)), int(rng.choice([0, 47])))
            inside = (edge[0] + int(rng.integers(-8, 9)), edge[1] + int(rng.integers(3, 12)) * (1 if edge[1] == 0 else -1))
            if rng.random() < 0.7:
                cv2.line(mask, edge, inside, 1, int(rng.integers(1, 4)))
            else:
                cv2.circle(mask, edge, int(rng.integers(2, 7)), 1, int(rng.choice([1, -1])))
        candidate = np.ascontiguousarray(mask.T if rng.random() < 0.5 else mask) > 0
        verify_both(candidate, settings)


@pytest.mark.parametrize("factor", [0.3, 0.85])
def test_kernel_matches_reference_with_a_thick_band_in_a_lesion(factor):
    # The mean-residue test for thick hair decides here (tests/hair/test_dullrazor.py has the behaviour).
    image, lesion, _ = thick_band_in_lesion(factor)
    params = dull_razor_params(image.shape)
    expected, expected_mask = reference_remove_hair(image, params, lesion_grids(image[None], params, lesion[None])[0])
    restored, mask = remove_hair(image, return_mask=True, protect=lesion)
    assert mask.any() == (factor < 0.5)
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_kernel_matches_reference_with_hair_along_the_border_and_dark_corners():
    # Both close the image extended along each line by its last pixel (tests/hair/test_dullrazor.py has the behaviour).
    image, hair, _ = hair_along_the_border()
    params = dull_razor_params(image.shape)
    expected, expected_mask = reference_remove_hair(image, params, lesion_grids(image[None], params, None)[0])
    restored, mask = remove_hair(image, return_mask=True)
    assert mask[hair].all()
    np.testing.assert_array_equal(mask, expected_mask)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_generalized_closing_and_opening_match_reference_whatever_the_padding_holds():
    # The kernel's planes come from np.empty: their padding must be written before it is read. Random padding
    # and scratch contents, three draws each, must give the same interior, equal to the reference's closing
    # (opening) of the image extended along each line; a closing is never below the image.
    from dermprep.hair._kernels import _generalized
    from dermprep.hair._reference import _generalized as reference_generalized

    rng = np.random.default_rng(0)
    for trial in range(120):
        # windows of 3, 9 and 27 samples, and two or three of them (k = 3, 9-12), or one (k = 1, 4, 13)
        k = int(rng.integers(1, 15)) if trial % 5 else 3
        hc, wc = int(rng.integers(1, 14)), int(rng.integers(1, 14))
        image = rng.integers(0, 256, (hc, wc)).astype(np.uint8)
        if trial % 3 == 0:
            image = (rng.random((hc, wc)) < 0.5).astype(np.uint8) * 200 + 20
        pad = 2 * k + 1
        hp, wp = hc + 2 * pad, wc + 2 * pad
        for closing in (True, False):
            expected = reference_generalized(image, k, closing)
            assert (expected >= image).all() if closing else (expected <= image).all()
            for _ in range(3):
                plane, first, second, out = (rng.integers(0, 256, hp * wp).astype(np.uint8) for _ in range(4))
                plane.reshape(hp, wp)[pad : pad + hc, pad : pad + wc] = image
                scratch = rng.integers(0, 256, (2, hp * wp)).astype(np.uint8)
                _generalized(plane, hp, wp, pad, k, closing, first, second, out, scratch)
                np.testing.assert_array_equal(out.reshape(hp, wp)[pad : pad + hc, pad : pad + wc], expected)


@pytest.mark.parametrize("pool", [1, 2, 3])
def test_pooling_gives_block_minima_and_maxima_with_partial_blocks(pool):
    # `_pool()` (and its pool-2 path, `_pool_by_2()`) against NumPy block minima and maxima per channel; a
    # partial block at the bottom or right edge pools the pixels it has. The padding is left as it was.
    from dermprep.hair._kernels import _pool

    rng = np.random.default_rng(pool)
    for height, width in [(1, 1), (2, 3), (3, 2), (5, 7), (8, 6), (31, 45), (300, 401), (301, 400)]:
        image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
        hc, wc, pad = -(-height // pool), -(-width // pool), 3
        hp, wp = hc + 2 * pad, wc + 2 * pad
        low, high = (rng.integers(0, 256, (3, hp * wp)).astype(np.uint8) for _ in range(2))
        before_low, before_high = low.copy(), high.copy()
        _pool(image, pool, hp, wp, pad, low, high)
        blocks = np.full((hc * pool, wc * pool, 3), 255, np.uint8)
        blocks[:height, :width] = image
        expected_low = blocks.reshape(hc, pool, wc, pool, 3).min(axis=(1, 3)).transpose(2, 0, 1)
        blocks[height:] = 0
        blocks[:, width:] = 0
        expected_high = blocks.reshape(hc, pool, wc, pool, 3).max(axis=(1, 3)).transpose(2, 0, 1)
        interior = np.zeros((hp, wp), bool)
        interior[pad : pad + hc, pad : pad + wc] = True
        for got, expected, before in ((low, expected_low, before_low), (high, expected_high, before_high)):
            planes = got.reshape(3, hp, wp)
            np.testing.assert_array_equal(planes[:, pad : pad + hc, pad : pad + wc], expected)
            np.testing.assert_array_equal(planes[:, ~interior], before.reshape(3, hp, wp)[:, ~interior])


def test_thicket_cells_match_reference_on_random_masks_of_any_size():
    # `_thickets()` splits each row into the columns whose window lies whole inside the image and those at its
    # edges; images narrower or shorter than a window (down to 1 cell) have no inner columns at all.
    from dermprep.hair._kernels import _thickets
    from dermprep.hair._reference import _thickets as reference_thickets

    rng = np.random.default_rng(5)
    for _ in range(200):
        height, width = int(rng.integers(1, 50)), int(rng.integers(1, 50))
        radius, density = int(rng.integers(1, 20)), float(rng.choice([0.1, 0.25, 0.4]))
        candidate = rng.random((height, width)) < rng.random()
        lesion = rng.random((height, width)) < 0.2
        thicket = rng.integers(0, 256, (height, width)).astype(np.uint8)  # every cell must be written
        found = _thickets(candidate, lesion, radius, density, thicket, np.zeros(0, np.uint8))
        expected = reference_thickets(candidate, lesion, radius, density)
        np.testing.assert_array_equal(thicket, expected)
        assert found == bool(expected.any())


def reference_lesion_grid(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`estimate_lesion()`'s definition, stated plainly: every statistic over the whole small frame's field
    (medians by `np.median`), the score for every pixel, then the field selected."""
    import cv2

    from dermprep.hair._lesion import _CLOSE, LESION_MARGIN

    height, width = image.shape[:2]
    scale = 64.0 / min(height, width)
    small = cv2.resize(image, (max(8, round(width * scale)), max(8, round(height * scale))),
                       interpolation=cv2.INTER_LINEAR)
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, _CLOSE)
    lab8 = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2LAB)
    lab = lab8.astype(np.float32)
    h, w = lab.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.sqrt(((yy - (h - 1) / 2) / (0.5 * h)) ** 2 + ((xx - (w - 1) / 2) / (0.5 * w)) ** 2)
    field, rim = radius <= 0.95, (radius > 0.75) & (radius <= 0.95)
    standard = [(sign * lab[..., c] - sign * float(np.median(lab8[..., c][field])))
                / (float((sign * lab[..., c])[field].std()) + 1e-6) for c, sign in ((0, -1.0), (2, 1.0))]
    score = standard[0] + 0.5 * standard[1]
    low, high = float(score[field].min()), float(score[field].max())
    if high - low < 1e-3:
        return np.zeros(size, bool)
    scaled = np.clip((score - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    threshold, _ = cv2.threshold(scaled[field].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(((scaled > threshold) & field).astype(np.uint8),
                                                                connectivity=8)
    if count <= 1:
        return np.zeros(size, bool)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    central = np.array([(labels[rim] == c).sum() for c in range(1, count)]) / areas <= 0.6
    if central.any():
        areas = np.where(central, areas, 0.0)
    kept = np.isin(labels, 1 + np.flatnonzero((areas >= 0.02 * field.sum()) | (areas == areas.max())))
    contours, _ = cv2.findContours(kept.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    region = np.zeros((h, w), np.uint8)
    cv2.drawContours(region, [cv2.convexHull(c) for c in contours], -1, 1, thickness=cv2.FILLED)
    grow = max(1, round(LESION_MARGIN * 64))
    region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return cv2.resize(region, (size[1], size[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


@pytest.mark.parametrize("shape", [(150, 200), (450, 600), (97, 83), (64, 64), (300, 1300)])
def test_lesion_estimate_matches_its_plain_statement(shape):
    # The estimate scores only the field's pixels, gathered once, with medians from histograms; the plain
    # statement above scores the whole frame. Lesions with and without hair, a flat image, noise.
    from dermprep.hair._lesion import lesion_grid

    rng = np.random.default_rng(shape[0])
    images = [make_sample(shape, rng=seed).image for seed in range(3)]
    images += [make_sample(shape, rng=9, hair=False).image, np.full((*shape, 3), 128, np.uint8),
               rng.integers(0, 256, (*shape, 3)).astype(np.uint8)]
    for image in images:
        for size in (shape, (-(-shape[0] // 2), -(-shape[1] // 2))):
            np.testing.assert_array_equal(lesion_grid(image, size), reference_lesion_grid(image, size))


def test_lesion_score_sums_round_as_numpy_sums():
    # The lesion score's means and spreads are float32 sums in NumPy's pairwise order (`_pairwise_sum()`, walked
    # with a stack), so the score, and the estimate, equal NumPy's to the last bit: every length from 1 to 300
    # (the block of 128 and its splits), longer ones up to several levels of halving, values of mixed scale.
    from dermprep.hair._lesion import _pairwise_sum

    rng = np.random.default_rng(5)
    lengths = [*range(1, 301), *rng.integers(300, 70_000, 60).tolist()]
    for n in lengths:
        values = (rng.standard_normal(n) * rng.choice([1.0, 1e3, 1e5])).astype(np.float32)
        assert np.float32(_pairwise_sum(values)) == np.add.reduce(values), n


def test_lesion_scores_and_components_equal_their_numpy_statements():
    # The estimate's score (each field pixel's standardised darkness plus half its brownness, rescaled to bytes)
    # and its choice of components, against the NumPy statements they replaced, to the last bit: random L*a*b*
    # bytes of narrow and wide spread, fields below and above NumPy's 8192-element buffer, flat fields; and
    # random labellings with components lying on the field's rim, all of them, or none.
    from dermprep.hair._lesion import _field_scores, _kept_components

    rng = np.random.default_rng(17)
    for n in [1, 2, 7, 100, 129, 4000, 8191, 8192, 8193, 20_000]:
        for spread in (0, 3, 40, 255):
            lab = np.clip(128 + rng.integers(-spread, spread + 1, 3 * (n + 5)), 0, 255).astype(np.uint8)
            field = np.sort(rng.choice(n + 5, n, replace=False)).astype(np.int64)
            got = np.zeros(n, np.uint8)
            flat = not _field_scores(lab, field, np.empty(2 * n, np.float32), got)
            inside8 = lab.reshape(-1, 3)[field]

            def standard(channel, sign, inside8=inside8):
                values = sign * inside8[:, channel].astype(np.float32)
                return (values - sign * float(np.median(inside8[:, channel]))) / (float(values.std()) + 1e-6)

            inside = standard(0, -1.0) + 0.5 * standard(2, 1.0)
            low, high = float(inside.min()), float(inside.max())
            assert flat == (high - low < 1e-3), (n, spread)
            if not flat:
                expected = np.clip((inside - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
                np.testing.assert_array_equal(got, expected, err_msg=f"{n} {spread}")
    for _ in range(300):
        count = int(rng.integers(2, 12))
        size = count + int(rng.integers(0, 400))
        # every label present (as OpenCV's components are), 0 the background
        labels = rng.permutation(np.concatenate([np.arange(count), rng.integers(0, count, size - count)]))
        labels = labels.astype(np.int32)
        areas = np.bincount(labels, minlength=count).astype(np.int32)
        rim = np.flatnonzero(rng.random(size) < rng.choice([0.0, 0.3, 0.9, 1.0]))
        field_size = int(rng.integers(1, 2 * size))
        area = areas[1:].astype(np.float64)
        central = np.bincount(labels[rim], minlength=count)[1:] / area <= 0.6
        if central.any():
            area = np.where(central, area, 0.0)
        kept = np.zeros(count, np.uint8)
        kept[1 + np.flatnonzero((area >= 0.02 * field_size) | (area == area.max()))] = 1
        np.testing.assert_array_equal(_kept_components(labels, areas, rim, field_size), kept[labels])


def test_local_peaks_are_the_3x3_maxima_over_kept_pixels_on_masks_of_any_size():
    # `_local_peaks()` filters every cell (rows, then columns, through slices); stated plainly: each cell takes
    # the largest residue of the kept pixels in its 3x3 window, 0 where none is kept. Down to 1 x 1.
    from dermprep.hair._kernels import _local_peaks

    rng = np.random.default_rng(23)
    work = np.zeros(1 << 20, np.uint8)
    for _ in range(200):
        height, width = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        dark, bright = (rng.integers(0, 256, (height, width)).astype(np.uint8) for _ in range(2))
        keep = rng.random((height, width)) < rng.choice([0.0, 0.1, 0.5, 1.0])
        dark_peak, light_peak = np.full((height, width), 7, np.uint8), np.full((height, width), 7, np.uint8)
        _local_peaks(dark, bright, keep, dark_peak, light_peak, work)
        for values, got in ((dark, dark_peak), (bright, light_peak)):
            padded = np.zeros((height + 2, width + 2), np.uint8)
            padded[1:-1, 1:-1] = np.where(keep, values, 0)
            expected = np.max([padded[dy: dy + height, dx: dx + width] for dy in range(3) for dx in range(3)], axis=0)
            np.testing.assert_array_equal(got, expected)


def test_lesion_estimate_steps_equal_opencv_in_the_calling_thread():
    # The estimate's blur, component labelling and nearest resize run in numba (OpenCV runs them in parallel and
    # woke its thread pool for every image): each against the OpenCV call it replaced, to the last bit, on
    # random and two-valued images down to 3 x 3, and resizes between the sizes an estimate meets.
    import cv2

    from dermprep.hair._lesion import _gaussian_blur_5x5, _label_components, _nearest_resize

    rng = np.random.default_rng(29)
    for _ in range(150):
        height, width = int(rng.integers(3, 70)), int(rng.integers(3, 90))
        image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
        if rng.random() < 0.3:
            image = np.where(rng.random((height, width, 3)) < 0.5, 255, 0).astype(np.uint8)
        np.testing.assert_array_equal(_gaussian_blur_5x5(image), cv2.GaussianBlur(image, (5, 5), 0))
        dark = (rng.random((height, width)) < rng.choice([0.0, 0.2, 0.5, 0.9])).astype(np.uint8)
        labels = np.empty(height * width, np.int32)
        areas = _label_components(dark.reshape(-1), height, width, labels)
        count, expected, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
        # the same components, the same areas (labels may be numbered otherwise)
        assert areas.size == count
        pairs = np.unique(np.stack([labels, expected.reshape(-1)]), axis=1)
        assert pairs.shape[1] == np.unique(labels).size == np.unique(expected).size
        np.testing.assert_array_equal(areas[pairs[0]], stats[pairs[1], cv2.CC_STAT_AREA])
        size = (int(rng.integers(1, 700)), int(rng.integers(1, 700)))
        grid = np.empty(size, bool)
        _nearest_resize(dark, grid)
        np.testing.assert_array_equal(grid, cv2.resize(dark, size[::-1], interpolation=cv2.INTER_NEAREST) > 0)


def test_set_pixels_are_found_in_raster_order_on_masks_of_any_size():
    # `set_coords()` writes all 8 pixels of a 64-bit word within one row and counts only the set ones; a word
    # across a row's end (widths not a multiple of 8, and under 8 across several) is visited by its set bytes'
    # positions (`trailing_zeros()`); sizes that are not a multiple of 8 leave a last partial word.
    from dermprep.hair._bits import set_coords

    rng = np.random.default_rng(11)
    work = np.zeros(1 << 16, np.uint8)
    for _ in range(300):
        height, width = int(rng.integers(1, 40)), int(rng.integers(1, 90))
        mask = rng.random((height, width)) < rng.choice([0.0, 0.05, 0.5, 1.0])
        rows, cols = set_coords(mask, work)
        expected_rows, expected_cols = np.nonzero(mask)
        np.testing.assert_array_equal(rows, expected_rows)
        np.testing.assert_array_equal(cols, expected_cols)


def plain_grow_faint(region, image, closed, opened, pool, light, edge, steps, lesion, thicket):
    """`_grow_faint()`'s definition, stated plainly: the faint test on every pixel, then ``steps`` times the
    region's 3x3 dilation kept where the test holds."""
    import cv2

    from dermprep.hair._kernels import _neutral_pixel

    height, width = region.shape
    cy, cx = np.arange(height) // pool, np.arange(width) // pool
    pixels = image.astype(np.int32).transpose(2, 0, 1)
    darker = (closed[:, cy][:, :, cx].astype(np.int32) - pixels).max(axis=0) > edge
    lighter = (pixels - opened[:, cy][:, :, cx].astype(np.int32)).max(axis=0) > edge
    faint = (darker | (light & lighter)) & ~lesion[cy][:, cx]
    for y, x in zip(*np.nonzero(faint & (thicket[cy][:, cx] != 0)), strict=True):
        faint[y, x] = _neutral_pixel(closed, cy[y], cx[x], image, y, x)
    region = region.copy()
    for _ in range(steps):
        region |= cv2.dilate(region.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & faint
    return region


def test_faint_growth_matches_its_plain_statement():
    # The kernel tests only the pixels each step's dilation reaches (found 8 at a time); sizes that are not a
    # multiple of 8, pools 1-3, light hair on and off, lesion cells and thicket cells (the ink test).
    from dermprep.hair._kernels import _grow_faint

    rng = np.random.default_rng(12)
    for _ in range(150):
        height, width, pool = int(rng.integers(1, 40)), int(rng.integers(1, 40)), int(rng.integers(1, 4))
        hc, wc = -(-height // pool), -(-width // pool)
        image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
        closed = rng.integers(0, 256, (3, hc, wc)).astype(np.uint8)
        opened = rng.integers(0, 256, (3, hc, wc)).astype(np.uint8)
        lesion = rng.random((hc, wc)) < 0.2
        thicket = (rng.random((hc, wc)) < 0.2).astype(np.uint8) * rng.integers(1, 4, (hc, wc)).astype(np.uint8)
        region = rng.random((height, width)) < rng.choice([0.0, 0.05, 0.3])
        light, edge, steps = bool(rng.integers(0, 2)), int(rng.integers(0, 60)), int(rng.integers(1, 4))
        expected = plain_grow_faint(region, image, closed, opened, pool, light, edge, steps, lesion, thicket)
        got = region.copy()
        _grow_faint(got, image, closed, opened, pool, light, edge, steps, lesion, thicket, np.zeros(0, np.uint8))
        np.testing.assert_array_equal(got, expected)


def test_enclosed_pixels_join_the_region_as_stated_plainly():
    # `_fill_enclosed()` visits only thicket cells, in the rows that have some, with a snapshot of those rows:
    # the same as counting every pixel's 8 neighbours in the whole region, `steps` times, all at once. Sizes
    # down to 1 pixel (the border's neighbours are missing), pools 1-3, regions sparse to dense, a workspace of
    # leftovers (the snapshot must be written before it is read).
    from dermprep.hair import _workspace
    from dermprep.hair._kernels import _ENCLOSED, _fill_enclosed

    rng = np.random.default_rng(13)
    for _ in range(300):
        height, width, pool = int(rng.integers(1, 40)), int(rng.integers(1, 40)), int(rng.integers(1, 4))
        hc, wc = -(-height // pool), -(-width // pool)
        thicket = (rng.random((hc, wc)) < rng.choice([0.0, 0.1, 0.5, 1.0])).astype(np.uint8)
        thicket *= rng.integers(1, 4, (hc, wc)).astype(np.uint8)
        region = rng.random((height, width)) < rng.choice([0.2, 0.5, 0.8])
        steps = int(rng.integers(1, 4))
        expected = region.copy()
        inside = np.repeat(np.repeat(thicket != 0, pool, 0), pool, 1)[:height, :width]
        for _ in range(steps):
            count = sum(np.pad(expected, 1)[dy : dy + height, dx : dx + width].astype(int)
                        for dy in range(3) for dx in range(3))
            expected = expected | ((count >= _ENCLOSED) & inside)
        work = rng.integers(0, 2, 1 << 14).astype(np.uint8)
        _workspace.start_image(work)
        got = region.copy()
        _fill_enclosed(got, thicket, pool, steps, work)
        np.testing.assert_array_equal(got, expected)
