"""dermprep.io: one upright decoder with a pixel limit, lossless 16-bit/alpha reading, atomic writes that respect
the umask and never follow planted links, image search that follows linked folders."""

from __future__ import annotations

import io as _io
import os
import stat

import cv2
import numpy as np
import pytest
from PIL import Image

from dermprep.io import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    find_images,
    image_info,
    read_image,
    read_rgb,
    remove_partial_files,
    write_image,
)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_exif_orientation_is_applied_the_same_way_by_both_readers(tmp_path, orientation, suffix):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :10] = 255
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{suffix}"
    image.save(path, exif=exif.tobytes(), **({"quality": 100} if suffix == ".jpg" else {}))
    upright = read_rgb(path)
    assert upright.shape == ((40, 20, 3) if orientation >= 5 else (20, 40, 3))
    kept, _, _ = read_image(path)
    np.testing.assert_array_equal(kept, upright)


def test_pixel_limit_refuses_a_bomb_before_decoding(tmp_path):
    buffer = _io.BytesIO()
    Image.new("L", (4000, 3000)).save(buffer, "PNG")  # 12 Mpx of zeros: a few kB on disk
    path = tmp_path / "bomb.png"
    path.write_bytes(buffer.getvalue())
    assert image_info(buffer.getvalue()).width == 4000
    with pytest.raises(ValueError, match="more than max_pixels=1,000,000"):
        read_rgb(path, max_pixels=1_000_000)
    with pytest.raises(ValueError, match="max_pixels"):
        read_image(path, max_pixels=1_000_000)
    assert read_rgb(path).shape == (3000, 4000, 3)


def test_sixteen_bits_and_alpha_survive_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    deep = rng.integers(0, 65535, (10, 12, 3), dtype=np.uint16)
    alpha = rng.integers(0, 65535, (10, 12), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), np.dstack([deep[..., ::-1], alpha]))
    rgb, got_alpha, depth = read_image(tmp_path / "d.png")
    assert depth == 16 and rgb.dtype == np.float32
    np.testing.assert_array_equal(np.rint(rgb * 65535).astype(np.uint16), deep)
    write_image(tmp_path / "out.png", rgb, alpha=got_alpha, depth=16)
    back = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back[..., :3][..., ::-1], deep)
    np.testing.assert_array_equal(back[..., 3], alpha)


def test_atomic_writes_respect_the_umask_and_never_follow_a_planted_link(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    for name in (".b.json.partial", ".b.json.dermprep-partial", "b.json.partial"):
        (tmp_path / name).symlink_to(victim)  # the old predictable names
    atomic_write_json(tmp_path / "b.json", {"nan": float("nan"), "x": np.float32(1.5)})
    assert victim.read_text() == "keep me"
    assert (tmp_path / "b.json").read_text().count("null") == 1  # valid JSON: NaN is null


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "c.bin") as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_temporaries_left_by_a_killed_writer_are_found_for_their_targets_only(tmp_path):
    import multiprocessing  # noqa: PLC0415

    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_write_forever, args=(str(tmp_path / ("y" * 200 + ".tar.gz")),))
    process.start()
    while not list(tmp_path.iterdir()):
        process.join(0.01)
    process.kill()
    process.join()
    (tmp_path / ".other.abcdefgh.dermprep-partial.tar.gz").write_bytes(b"another target's")
    assert remove_partial_files([tmp_path / "z.tar.gz"]) == 0
    assert remove_partial_files([tmp_path / ("y" * 200 + ".tar.gz"), tmp_path / "missing" / "a.png"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == [".other.abcdefgh.dermprep-partial.tar.gz"]


def _write_forever(path: str) -> None:
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        while True:
            handle.write(b"x" * 1024)
            handle.flush()


def test_long_file_names_fit_the_temporary_name(tmp_path):
    name = "x" * 240 + ".png"
    write_image(tmp_path / name, np.zeros((4, 4, 3), np.uint8))
    assert (tmp_path / name).is_file()


def test_find_images_follows_linked_folders_once(tmp_path):
    (tmp_path / "real").mkdir()
    cv2.imwrite(str(tmp_path / "real" / "a.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real", target_is_directory=True)
    assert [str(p) for p in find_images(tmp_path / "root")] == ["linked/a.png"]


def test_errors_name_the_file(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="bad.jpg"):
        read_rgb(tmp_path / "bad.jpg")
    with pytest.raises(ValueError, match="empty.png.*empty file"):
        read_rgb(tmp_path / "empty.png")
    with pytest.raises(FileNotFoundError):
        read_rgb(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="depth must be 8 or 16"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8), depth=12)
    with pytest.raises(ValueError, match="16-bit images can be written as PNG or TIFF only"):
        write_image(tmp_path / "x.jpg", np.zeros((4, 4, 3), np.float32), depth=16)
