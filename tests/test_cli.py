"""The dermprep command line: folder hair removal, bench and demo."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

import dermprep.batch
from dermprep import remove_hair
from dermprep.cli import main
from dermprep.synthetic import make_sample


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def image_tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "part_1").mkdir(parents=True)
    (root / "part_2" / "deep").mkdir(parents=True)
    for i, rel in enumerate(["part_1/a.jpg", "part_1/b.png", "part_2/deep/c.jpg", "top.png"]):
        image = make_sample((64, 80), rng=i).image
        assert cv2.imwrite(str(root / rel), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (root / "part_2" / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_run_keeps_structure_reports_corrupt_file_and_never_touches_inputs(image_tree, tmp_path, capsys):
    before = _digest(image_tree)
    out, masks = tmp_path / "out", tmp_path / "masks"
    code = main(["remove-hair", str(image_tree), str(out), "--masks", str(masks), "--workers", "1", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert "part_2/broken.jpg" in captured.err and "processed 4" in captured.out
    assert _digest(image_tree) == before
    for rel in ["part_1/a.jpg", "part_1/b.png", "part_2/deep/c.jpg", "top.png"]:
        assert (out / rel).is_file() and (masks / (rel + ".mask.png")).is_file()
    assert not (out / "part_2" / "broken.jpg").exists()
    # PNG output is lossless: exactly what remove_hair gives on the decoded input.
    source = cv2.cvtColor(cv2.imread(str(image_tree / "top.png")), cv2.COLOR_BGR2RGB)
    written = cv2.cvtColor(cv2.imread(str(out / "top.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, remove_hair(source))
    assert not [p for p in out.rglob("*") if "partial" in p.name]


def test_shards_split_an_archive_between_jobs_exactly_once(image_tree, tmp_path, capsys):
    whole = tmp_path / "whole"
    main(["remove-hair", str(image_tree), str(whole), "--workers", "1", "--quiet"])
    sharded = tmp_path / "sharded"
    seen = []
    for index in range(3):
        main(["remove-hair", str(image_tree), str(sharded / str(index)), "--shard", f"{index}/3", "--workers", "1",
              "--quiet"])
        seen += [str(p.relative_to(sharded / str(index))) for p in (sharded / str(index)).rglob("*.*")]
    expected = sorted(str(p.relative_to(whole)) for p in whole.rglob("*.*"))
    assert sorted(seen) == expected  # together every file once (the broken one in no shard's output)
    with pytest.raises(SystemExit):
        main(["remove-hair", str(image_tree), str(sharded), "--shard", "3/3"])
    assert "0 <= I < N" in capsys.readouterr().err
    from dermprep.batch import remove_hair_folder

    with pytest.raises(ValueError, match="shard must be"):
        remove_hair_folder(image_tree, tmp_path / "x", shard=(1, 1))


def test_interrupted_run_resumes_to_the_same_result(image_tree, tmp_path, monkeypatch, capsys):
    (image_tree / "part_2" / "broken.jpg").unlink()
    reference = tmp_path / "reference"
    assert main(["remove-hair", str(image_tree), str(reference), "--workers", "1", "--quiet"]) == 0

    out = tmp_path / "out"
    real_write = dermprep.batch.write_image
    writes = {"n": 0}

    def interrupted_write(path, image, **options):
        if writes["n"] == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the third write
        writes["n"] += 1
        real_write(path, image, **options)

    monkeypatch.setattr(dermprep.batch, "write_image", interrupted_write)
    assert main(["remove-hair", str(image_tree), str(out), "--workers", "1", "--quiet"]) == 130  # 128 + SIGINT
    assert capsys.readouterr().err.strip() == "dermprep remove-hair: interrupted"  # one line, no traceback
    assert len([p for p in out.rglob("*") if p.is_file()]) == 2  # two complete files, no partial one

    monkeypatch.setattr(dermprep.batch, "write_image", real_write)
    capsys.readouterr()
    assert main(["remove-hair", str(image_tree), str(out), "--workers", "1", "--quiet"]) == 0
    assert "processed 2, skipped 2" in capsys.readouterr().out
    assert _digest(out) == _digest(reference)


def test_unwritable_output_folder_is_reported_with_nonzero_exit(image_tree, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    out.mkdir()
    if os.geteuid() != 0:
        out.chmod(0o555)
    else:  # root ignores permission bits: make the folder refuse writes the way a read-only one does

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(out))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        code = main(["remove-hair", str(image_tree), str(out), "--workers", "1", "--quiet"])
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot write output" in err and "Permission denied" in err
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_output_inside_input_is_refused(image_tree, capsys):
    assert main(["remove-hair", str(image_tree), str(image_tree / "out"), "--quiet"]) == 2
    assert "must not be input_dir or inside it" in capsys.readouterr().err
    assert main(["remove-hair", str(image_tree / "missing"), "/tmp/x", "--quiet"]) == 2


def test_console_script_with_a_spawned_worker_pool(image_tree, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "dermprep.cli", "remove-hair", str(image_tree), str(out), "--workers", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "broken.jpg" in result.stderr
    assert len(list(out.rglob("*.jpg"))) + len(list(out.rglob("*.png"))) == 4


def test_bench_prints_both_methods(capsys):
    assert main(["bench", "--images", "2", "--size", "128x96", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "dermprep dullrazor" in out and "opencv, 1 process" in out and "mask Dice" in out


def test_demo_writes_panels_and_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--images", "2", "--size", "160x120",
                 "--workers", "1"]) == 0
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert (tmp_path / "demo" / "hair_removal_synthetic.png").stat().st_size > 10_000
    assert np.isfinite(summary["quality"]["dullrazor"]["dice"])
    assert all(v > 0 for v in summary["throughput_images_per_second"].values())


def test_bad_arguments_exit_with_usage_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["remove-hair", "a", "b", "--workers", "0"])
    assert excinfo.value.code == 2
    assert "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--size", "big"])


def test_read_rgb_reads_and_names_bad_files(image_tree, tmp_path):
    from dermprep.io import read_rgb

    rgb = read_rgb(image_tree / "top.png")
    expected = cv2.cvtColor(cv2.imread(str(image_tree / "top.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(rgb, expected)
    with pytest.raises(ValueError, match="broken.jpg' is not a readable image"):
        read_rgb(image_tree / "part_2" / "broken.jpg")
    with pytest.raises(FileNotFoundError):
        read_rgb(tmp_path / "missing.jpg")


def test_tensorflow_import_notices_are_filtered_and_other_lines_kept():
    """The command lines import TensorFlow without its C++ start-up notices; other stderr lines survive."""
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    plain = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, env=env,
                           check=True)
    quiet = subprocess.run(
        [sys.executable, "-c",
         "import os; from dermprep.runtime import import_tensorflow_quietly as q; tf = q(); "
         "print(tf.__name__, os.environ['TF_CPP_MIN_LOG_LEVEL']); os.write(2, b'still here\\n')"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert quiet.stdout.split() == ["tensorflow", "2"]
    assert "still here" in quiet.stderr  # stderr is restored after the import
    for notice in ("oneDNN custom operations", "absl::InitializeLog"):
        if notice in plain.stderr:  # builds without oneDNN (e.g. macOS) print no such notice
            assert notice not in quiet.stderr


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_kill_9_mid_run_leaves_no_workers_and_resumes_to_the_same_result(tmp_path):
    import time

    root = tmp_path / "in"
    root.mkdir()
    for i in range(24):
        image = make_sample((225, 300), rng=i).image
        cv2.imwrite(str(root / f"{i:02d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    reference = tmp_path / "reference"
    assert main(["remove-hair", str(root), str(reference), "--workers", "1", "--quiet"]) == 0
    out = tmp_path / "out"
    command = [sys.executable, "-m", "dermprep.cli", "remove-hair", str(root), str(out), "--workers", "2", "--quiet"]
    process = subprocess.Popen(command)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and not (out.is_dir() and len(list(out.glob("*.png"))) >= 3):
        workers = _children(process.pid) or workers
        time.sleep(0.02)
    workers = _children(process.pid) or workers
    process.kill()  # SIGKILL: no cleanup runs in the parent
    process.wait()
    time.sleep(2.0)
    assert workers, "no worker processes were seen"
    assert not [pid for pid in workers if _alive(pid)]  # the workers died with their parent
    # A killed worker may leave its hidden temporary file (nothing can clean up after SIGKILL), but never a
    # half-written output under the real name; the resumed run removes those temporaries.
    planted = out / ".07.abcd_123.dermprep-partial.png"  # as if killed while writing 07.png
    planted.write_bytes(b"half an image")
    unrelated = out / ".notes.abcd_123.dermprep-partial.txt"  # not an output of this run: left alone
    unrelated.write_bytes(b"x")
    (out / "07.png").unlink(missing_ok=True)
    assert main(["remove-hair", str(root), str(out), "--workers", "2", "--quiet"]) == 0
    assert [p.name for p in out.rglob("*") if "partial" in p.name] == [unrelated.name]
    unrelated.unlink()
    assert _digest(out) == _digest(reference)


def test_workers_are_capped_at_cores_and_files(image_tree, tmp_path, capsys):
    (image_tree / "part_2" / "broken.jpg").unlink()
    assert main(["remove-hair", str(image_tree), str(tmp_path / "o"), "--workers", "1000", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "not 1000" in err and "worker process" in err


def test_sixteen_bit_and_alpha_are_kept_and_masks_never_collide(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    image = make_sample((64, 80), rng=1).image
    deep = (image.astype(np.uint16) * 257)[..., ::-1]
    cv2.imwrite(str(root / "deep.png"), np.dstack([deep, np.full(image.shape[:2], 40000, np.uint16)]))
    cv2.imwrite(str(root / "twin.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "twin.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out, masks = tmp_path / "out", tmp_path / "masks"
    assert main(["remove-hair", str(root), str(out), "--masks", str(masks), "--workers", "1", "--quiet"]) == 0
    written = cv2.imread(str(out / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.shape == (64, 80, 4) and (written[..., 3] == 40000).all()
    assert sorted(p.name for p in masks.iterdir()) == ["deep.png.mask.png", "twin.jpg.mask.png", "twin.png.mask.png"]
    assert main(["remove-hair", str(root), str(out), "--masks", str(out / "m"), "--quiet"]) == 2  # inside the output


def test_bombs_are_refused_not_processed(tmp_path, capsys):
    from PIL import Image

    root = tmp_path / "in"
    root.mkdir()
    Image.new("L", (5000, 5000)).save(root / "bomb.png")
    assert main(["remove-hair", str(root), str(tmp_path / "o"), "--max-pixels", "1000000", "--quiet"]) == 1
    assert "more than max_pixels" in capsys.readouterr().err
