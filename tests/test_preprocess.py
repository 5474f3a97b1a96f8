"""dermprep.preprocess: framing, the hair cache, and Preprocessing as the NumPy twin of from_records."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dermprep import remove_hair
from dermprep.preprocess import HairCache, Preprocessing, frame
from dermprep.synthetic import make_sample


@given(h=st.integers(16, 120), w=st.integers(16, 120), th=st.integers(16, 80), tw=st.integers(16, 80),
       aspect=st.sampled_from(["stretch", "crop", "pad"]), as_float=st.booleans())
def test_property_frame_gives_the_size_and_dtype(h, w, th, tw, aspect, as_float):
    image = np.random.default_rng(h * w).integers(0, 255, (h, w, 3)).astype(np.uint8)
    if as_float:
        image = (image / 255.0).astype(np.float32)
    before = image.copy()
    out = frame(image, (th, tw), aspect)
    assert out.shape == (th, tw, 3) and out.dtype == image.dtype
    np.testing.assert_array_equal(image, before)


def test_crop_keeps_the_centre_and_pad_letterboxes():
    image = np.zeros((150, 200, 3), np.uint8)
    image[:, :25] = 255  # a bright band at the left edge
    assert frame(image, (150, 150), "crop").max() == 0  # cropped away
    padded = frame(image, (200, 200), "pad")
    assert padded[:20].max() == 0 and padded[100, 0].max() == 255  # black bars above, the image inside


def test_load_is_decode_hair_frame_and_the_cache_is_used(tmp_path):
    sample = make_sample((150, 200), rng=2)
    path = tmp_path / "ISIC_h.png"
    cv2.imwrite(str(path), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
    p = Preprocessing(image_size=(150, 200), remove_hair=True)
    cache = HairCache(tmp_path / "cache", p.hair_options)
    first = p.load(path, cache=cache)
    np.testing.assert_array_equal(first, remove_hair(sample.image))
    entry = cache.path_for(path)
    assert entry.is_file()
    cv2.imwrite(str(entry), np.zeros((150, 200, 3), np.uint8))  # prove the second load reads the cache
    assert p.load(path, cache=cache).max() == 0
    many = p.load_many([path, path], cache_dir=tmp_path / "cache2", workers=2)
    assert many.shape == (2, 150, 200, 3) and np.array_equal(many[0], first)


def test_round_trip_and_errors(tmp_path):
    p = Preprocessing(image_size=(96, 128), aspect="pad", remove_hair=True, hair_options={"threshold": 20},
                      shades_of_gray=True)
    assert Preprocessing.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="unknown preprocessing setting"):
        Preprocessing.from_dict({"size": 3})
    with pytest.raises(ValueError, match="hair_options are only used with remove_hair=True"):
        Preprocessing(hair_options={"threshold": 20})
    with pytest.raises(ValueError, match="paths must hold at least one"):
        p.load_many([])
    (tmp_path / "tiny.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    with pytest.raises(ValueError, match="tiny.png.*too small"):
        p.load(tmp_path / "tiny.png")
