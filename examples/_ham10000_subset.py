"""What the two ported HAM10000 scripts share: their data arguments and a lesion-grouped split of (a random
subset of) the metadata. Not an example itself."""

from __future__ import annotations

import argparse
from typing import Any


def data_parser(description: str, *, image_size: int) -> argparse.ArgumentParser:
    """The arguments both scripts take: images, metadata, a subset size, epochs and the image size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--images", required=True, help="folder with <image_id>.jpg (any depth)")
    parser.add_argument("--metadata", required=True, help="HAM10000_metadata.csv")
    parser.add_argument("--limit", type=int, default=None, help="use this many images (a random subset)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=image_size)
    return parser


def read_and_split(args: argparse.Namespace) -> tuple[Any, Any]:
    """The metadata (with image paths; a random ``--limit`` subset) and its train / val split by lesion."""
    from dermprep.ham10000 import lesion_split, read_metadata

    metadata = read_metadata(args.metadata, images_dir=args.images, missing_images="drop")
    if args.limit is not None and args.limit < len(metadata):
        metadata = metadata.sample(args.limit, random_state=0).reset_index(drop=True)
    return metadata, lesion_split(metadata, val=0.2, test=0.0, seed=0)
