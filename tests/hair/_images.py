"""Constructed images shared by the hair tests."""

from __future__ import annotations

import cv2
import numpy as np


def hair_in_textured_lesion() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 600x450 image with a 3 px dark hair lying wholly inside a lesion whose texture (dots 13 grey levels
    darker than the lesion's ground) is over the low threshold (10) but not the lesion's low threshold (15).

    Returns the uint8 image, the lesion mask and the hair's pixels.
    """
    rng = np.random.default_rng(0)
    height, width = 450, 600
    image = np.full((height, width, 3), (200, 150, 130), np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    lesion = (yy - 225) ** 2 + (xx - 300) ** 2 <= 150**2
    cells = (rng.random((height // 6 + 1, width // 6 + 1)) < 0.5).astype(np.uint8)
    dots = cv2.resize(cells, (width + 6, height + 6), interpolation=cv2.INTER_NEAREST)[:height, :width] > 0
    image[lesion & dots] -= 13
    hair = np.zeros((height, width), np.uint8)
    cv2.line(hair, (200, 180), (420, 260), 1, 3)  # inside the lesion from end to end
    image[hair > 0] *= 0.55
    return image.astype(np.uint8), lesion, hair > 0


def thick_band_in_lesion(factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 600x450 image with a 9 px wide straight dark band lying wholly inside a lesion, its colour the
    lesion's times ``factor``: 0.3 is a thick dark hair, 0.85 a band of the lesion's own pigment as dark as
    its network (both wider than a thin line: area over 0.6 ``max_width`` x their length at the pooled level).

    Returns the uint8 image, the lesion mask and the band's pixels.
    """
    height, width = 450, 600
    image = np.full((height, width, 3), (200, 150, 130), np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    lesion = (yy - 225) ** 2 + (xx - 300) ** 2 <= 150**2
    image[lesion] *= 0.8
    band = np.zeros((height, width), np.uint8)
    cv2.line(band, (200, 180), (420, 260), 1, 9)
    image[band > 0] *= factor
    return image.astype(np.uint8), lesion, band > 0


def hair_along_the_border() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 600x450 hair-free synthetic skin image with a 3 px dark hair running along its bottom edge, 4 px from
    it, the corners of a round dermoscope field darkening over 40 px towards the border (outside a circle of
    radius 330 about the centre) and a 1 px dark frame line along the top row.

    Returns the uint8 image, the hair's pixels and the pixels that must stay (the dark corners and the frame).
    """
    from dermprep.synthetic import make_sample

    image = make_sample((450, 600), rng=5, hair=False).image.astype(np.float64)
    yy, xx = np.mgrid[0:450, 0:600]
    radius = np.sqrt((yy - 225.0) ** 2 + (xx - 300.0) ** 2)
    image *= np.clip(1 - (radius - 330) / 40, 0.1, 1)[..., None]
    image[0, 100:500] *= 0.4
    dark = radius > 330
    dark[0, 100:500] = True
    hair = np.zeros((450, 600), np.uint8)
    cv2.line(hair, (150, 445), (450, 445), 1, 3)
    image[hair > 0] *= 0.45
    return image.astype(np.uint8), hair > 0, dark


def stubs_and_dots_at_the_border() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 600x450 hair-free synthetic skin image with six hair stubs cut by its border (3 px wide, 12-24 px of
    them inside the image, at 0-70 degrees to the edge's normal, on all four edges) and four dark round dots
    of 12-16 px touching or crossing the border (a half-dot on the edge, a comedone, a freckle).

    Returns the uint8 image, the stubs' pixels and the dots' pixels.
    """
    from dermprep.synthetic import make_sample

    image = make_sample((450, 600), rng=7, hair=False).image.astype(np.float64)
    stubs = np.zeros((450, 600), np.uint8)
    for start, end in (((120, 0), (126, 20)), ((300, 0), (285, 14)), ((599, 90), (578, 100)),
                       ((599, 330), (584, 346)), ((200, 449), (214, 429)), ((460, 449), (470, 425))):
        cv2.line(stubs, start, end, 1, 3)
    image[stubs > 0] *= 0.45
    dots = np.zeros((450, 600), np.uint8)
    for centre, radius in (((450, 0), 8), ((0, 220), 7), ((40, 445), 6), ((599, 200), 8)):
        cv2.circle(dots, centre, radius, 1, -1)
    image[dots > 0] *= 0.5
    return image.astype(np.uint8), stubs > 0, dots > 0
