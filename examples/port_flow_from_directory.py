"""A public HAM10000 Keras script ported to dermprep: class folders + ``ImageDataGenerator.flow_from_directory``.

Follows **jayeb57/Thesis**, files ``ham10k_2.py`` and ``ham10k_3.py`` (the code here is our own; the facts
of their pipeline carry over). Their pipeline, step by step, and what replaces it:

================================================  ==========================================================
theirs (ham10k_2.py, ham10k_3.py)                 here
================================================  ==========================================================
copy every image named in HAM10000_metadata.csv   nothing written: `from_records()` reads the files where
into ``reorganized/<dx>/`` (a second copy of      they are (``files_written`` below is 0; theirs writes one
the data set on disk, ~10,000 files)              file per image)
class index = the folders' alphabetical order     `CLASS_NAMES`' order from `read_metadata()`, the same in
                                                  every run, split and exported model
one generator over every image: no held-out       `lesion_split()`: train / val / test by lesion, no lesion
data (``validation_split=`` would split by        in two parts (``lesions_on_both_sides`` below: theirs
image, so images of one lesion sit on both sides) with a by-image 80/20 split, and ours)
``ImageDataGenerator()`` shuffles with hidden     ``shuffle_seed=`` and ``epoch=``: every epoch's order
state; ``target_size=(32, 32)``, categorical      reproducible; ``image_size=32``, ``one_hot=True``,
labels, batches of 16                             ``batch(16)``
``model.fit`` on the generator                    ``model.fit`` on `tfdata.epochs()`: one dermprep epoch per
                                                  Keras epoch (``steps_per_epoch`` from `epoch_lengths()`)
================================================  ==========================================================

Run small on the real data (a few minutes on a CPU)::

    python examples/port_flow_from_directory.py --images ../shared/ham10000/images_200x150 \\
        --metadata ../shared/ham10000/HAM10000_metadata.csv --limit 600 --epochs 2

``tests/test_examples.py`` runs it on a synthetic set in HAM10000's layout.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from _ham10000_subset import data_parser, read_and_split  # this folder's shared data arguments


def by_image_leak(metadata: pd.DataFrame, val: float = 0.2, seed: int = 0) -> int:
    """Lesions with images on both sides of a by-image split (what ``validation_split=`` does to HAM10000)."""
    order = np.random.default_rng(seed).permutation(len(metadata))
    held_out = metadata.iloc[order[: int(round(val * len(metadata)))]]["lesion_id"]
    kept = metadata.iloc[order[int(round(val * len(metadata))):]]["lesion_id"]
    return len(set(held_out) & set(kept))


def small_cnn(num_classes: int, size: int) -> Any:
    """A small Keras CNN on uint8 images (the script leaves the model to the user: any Keras model fits here)."""
    import keras

    return keras.Sequential([
        keras.Input((size, size, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = data_parser(__doc__.splitlines()[0], image_size=32)
    args = parser.parse_args(argv)

    import keras

    import dermprep.tfdata as T
    from dermprep import CLASS_NAMES

    metadata, split = read_and_split(args)

    def records(part: pd.DataFrame, **order: Any) -> Any:
        return T.from_records(part["path"].tolist(), part["label"].to_numpy(), image_size=args.image_size,
                              one_hot=True, num_classes=len(CLASS_NAMES), **order)

    stream = T.epochs(lambda e: records(split.train, shuffle_seed=0, epoch=e).batch(16), stop=args.epochs)
    model = small_cnn(len(CLASS_NAMES), args.image_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(stream, validation_data=records(split.val).batch(16), epochs=args.epochs,
                        steps_per_epoch=T.epoch_lengths(stream)[0], shuffle=False, verbose=0)  # shuffled above
    result = {
        "images": len(metadata), "files_written": 0, "their_files_written": len(metadata),
        "lesions_on_both_sides": {"theirs_by_image_80_20": by_image_leak(metadata),
                                  "ours": len(set(split.train["lesion_id"]) & set(split.val["lesion_id"]))},
        "epochs_trained": len(history.history["loss"]),
        "val_accuracy": [round(float(v), 4) for v in history.history["val_accuracy"]],
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
