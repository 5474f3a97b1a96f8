"""dermprep in worker processes (issue 22 item 8): forked workers augment after the parent used OpenCV and
numba (they hung), a worker reading a filled hair cache never loads numba, and the PyTorch DataLoader example
gives the same augmentations with workers as without."""

from __future__ import annotations

import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dermprep.preprocess import HairCache, Preprocessing
from dermprep.synthetic import make_sample

FORKED_AUGMENT = """
import multiprocessing, numpy as np, cv2, dermprep
from dermprep.augment import default_pipeline
IMAGE = np.full((450, 600, 3), 128, np.uint8)
def child(queue):
    queue.put(default_pipeline()(IMAGE[:48, :48], seed=0, index=0).shape)
if __name__ == "__main__":
    dermprep.remove_hair(IMAGE)  # starts OpenCV's thread pool in the parent
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=child, args=(queue,))
    worker.start()
    worker.join(60)
    if worker.is_alive():
        worker.kill()
        raise SystemExit("the forked child hung augmenting an image")
    print(queue.get(timeout=5))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
def test_a_forked_worker_augments_after_the_parent_removed_hair(tmp_path):
    """OpenCV's thread pool, started by the parent's hair removal, made cv2.setNumThreads hang in the child
    (in a fresh process: the test runner's own OpenCV state must not decide it)."""
    script = tmp_path / "forked_augment.py"
    script.write_text(FORKED_AUGMENT)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "(48, 48, 3)"


def test_a_worker_reading_a_filled_hair_cache_never_loads_numba(tmp_path):
    path = tmp_path / "ISIC_1.png"
    cv2.imwrite(str(path), cv2.cvtColor(make_sample((120, 160), rng=1).image, cv2.COLOR_RGB2BGR))
    preprocessing = Preprocessing(image_size=64, remove_hair=True)
    expected = preprocessing.load(path, cache=HairCache(tmp_path / "cache", preprocessing.hair_options))
    state = tmp_path / "state.pickle"
    state.write_bytes(pickle.dumps((preprocessing, str(path), str(tmp_path / "cache"))))
    code = ("import pickle, sys, numpy as np; from dermprep.preprocess import HairCache\n"
            f"p, path, folder = pickle.loads(open({str(state)!r}, 'rb').read())\n"
            "out = p.load(path, cache=HairCache(folder, p.hair_options))\n"
            f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
            "print('numba' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert run.stdout.strip() == "False"  # a spawned DataLoader worker starts without numba's ~1-2 s
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_pytorch_dataloader_example(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not a dependency of dermprep; the example needs it")
    import importlib.util
    from pathlib import Path

    for i in range(6):
        cv2.imwrite(str(tmp_path / f"ISIC_{i}.jpg"), cv2.cvtColor(make_sample((75, 100), rng=i).image,
                                                                  cv2.COLOR_RGB2BGR))
    spec = importlib.util.spec_from_file_location(
        "pytorch_dataloader", Path(__file__).resolve().parents[1] / "examples" / "pytorch_dataloader.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--images", str(tmp_path), "--limit", "6", "--workers", "2"])  # with warm_up()
    assert result["same_as_without_workers"] and len(result["first_item_seconds_per_worker"]) == 2
