"""dermprep in a PyTorch ``DataLoader`` with worker processes: `Preprocessing.load` + an augmentation `Pipeline`.

The pattern (see docs/data.md, "PyTorch"):

- a map-style ``Dataset`` whose ``__getitem__(i)`` is ``preprocessing.load(path, cache=cache)`` (decode
  upright, cached hair removal, frame) then ``pipeline(image, seed=seed, index=i, epoch=epoch)``: the
  augmentation of image ``i`` in epoch ``e`` is the same whichever worker loads it, in whatever order, with
  any number of workers, and the same as tf.data's `dermprep.tfdata.augment` gives;
- a new ``DataLoader`` per epoch after ``dataset.epoch = e`` (workers get a copy of the dataset when they
  start: with ``persistent_workers=True`` they would keep the first epoch);
- ``preprocessing.warm_up()`` in the parent before the loader forks its workers: they inherit the loaded
  hair-removal kernels (numba) and start at once. With a hair cache already filled (a first pass, or
  ``preprocessing.load_many(paths, cache_dir=...)``), a worker never loads numba at all.

Run it (torch is not a dependency of dermprep; ``pip install torch``)::

    python examples/pytorch_dataloader.py --images ../shared/ham10000/images_200x150 --limit 64 --workers 2

``experiments/worker_start.py`` measures the per-worker start cost with and without ``warm_up()``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

try:
    import torch
except ImportError:  # torch is optional: the example says so when run without it
    torch = None


class LesionImages(torch.utils.data.Dataset if torch is not None else object):  # type: ignore[misc]
    """(CHW float32 image in [0, 1], label) pairs, augmented by (seed, index, epoch): module level, so spawned
    workers can unpickle it."""

    def __init__(self, paths: list[str], labels: np.ndarray, *, image_size: int = 64, cache_dir: str | None = None,
                 seed: int = 0) -> None:
        from dermprep.augment import default_pipeline
        from dermprep.preprocess import HairCache, Preprocessing

        self.paths, self.labels, self.seed, self.epoch = paths, labels, seed, 0
        self.preprocessing = Preprocessing(image_size=(image_size, image_size), remove_hair=True)
        self.cache = None if cache_dir is None else HairCache(cache_dir, self.preprocessing.hair_options)
        self.pipeline = default_pipeline()
        self.first_item_seconds: float | None = None  # this process's first item (a worker's start cost)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        started = time.perf_counter()
        image = self.preprocessing.load(self.paths[index], cache=self.cache)
        image = self.pipeline(image, seed=self.seed, index=index, epoch=self.epoch)
        if self.first_item_seconds is None:
            self.first_item_seconds = time.perf_counter() - started
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 255, int(self.labels[index])


def _with_worker_timing(batch: list[Any]) -> tuple[int, float]:
    """A collate function reporting the worker's process id and its first item's time."""
    info = torch.utils.data.get_worker_info()
    return os.getpid(), info.dataset.first_item_seconds


def first_item_seconds(dataset: LesionImages, workers: int, start_method: str) -> list[float]:
    """Each worker's time for its first item (decode, hair removal, augmentation), measured inside the worker."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, num_workers=workers, collate_fn=_with_worker_timing,
                                         multiprocessing_context=start_method)
    first: dict[int, float] = {}
    for pid, seconds in loader:
        first.setdefault(pid, seconds)
    return sorted(first.values())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a folder of images (any depth)")
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    parser.add_argument("--no-warm-up", action="store_true", help="skip preprocessing.warm_up() (to measure it)")
    parser.add_argument("--cache-dir", default=None, help="a HairCache folder (filled by a first pass)")
    args = parser.parse_args(argv)

    if torch is None:
        raise SystemExit("this example needs PyTorch (pip install torch); dermprep itself does not")
    from dermprep.io import find_images

    paths = [os.path.join(args.images, p) for p in find_images(args.images)][: args.limit]
    dataset = LesionImages(paths, np.arange(len(paths)) % 7, cache_dir=args.cache_dir)
    if not args.no_warm_up and hasattr(dataset.preprocessing, "warm_up"):
        dataset.preprocessing.warm_up()  # before the workers fork: they inherit the loaded kernels
    first = first_item_seconds(dataset, args.workers, args.start_method)
    dataset.epoch = 1
    images = torch.cat([x for x, _ in torch.utils.data.DataLoader(dataset, batch_size=8,
                                                                   num_workers=args.workers)])
    single = torch.stack([dataset[i][0] for i in range(len(paths))])  # no workers: the same augmentations
    result = {"images": len(paths), "workers": args.workers, "start_method": args.start_method,
              "warm_up": not args.no_warm_up, "first_item_seconds_per_worker": [round(s, 4) for s in first],
              "same_as_without_workers": bool(torch.equal(images, single))}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
