"""A public HAM10000 manual-oversampling script ported to dermprep: balance per epoch, after a lesion split.

Follows **Senthu10/skincancer**, files ``create_balanced_dataset.py``, ``train.py`` and ``model.py`` (the code
here is our own; the facts of their pipeline carry over). Their pipeline, step by step, and what replaces it:

==================================================  ========================================================
theirs                                              here
==================================================  ========================================================
``create_balanced_dataset.py``: every class         `lesion_split()` first (by lesion), then
resampled to 300 rows of the metadata, with         ``balance=tfdata.balance(strategy="target", ...)`` in
replacement below 300 (each ``df`` image ~2.6       `from_records()`: each epoch draws exactly its per-class
times), without above (96% of ``nv`` dropped for    counts from the training split only, a new draw every
good), written to ``balanced_metadata.csv``         epoch (over the epochs most ``nv`` images are seen)
``train.py``: every row decoded into memory at      one decoded image per file per epoch, read as it is
224x224, copies included                            needed; no copy held (``copies_held`` below)
``train_test_split(test_size=0.2)`` over the        validation is the lesion split's own ``val`` part,
oversampled rows: copies of one image on both       unbalanced, as the clinic sees it: no image and no
sides, and images of one lesion (the validation     lesion on both sides (``images_on_both_sides``,
accuracy measures memory)                           ``lesions_on_both_sides``)
class index = order of first appearance in the      `CLASS_NAMES`' order from `read_metadata()`
balanced CSV (changes with the random draw)
metadata: age / 100 (missing 0), sex male = 1       `encode_metadata()`: age, a missing-age flag, sex and
                                                    site one-hot; ``({"image", "metadata"}, label)``
frozen EfficientNetB0 + metadata branch, Adam       frozen MobileNetV2 + metadata branch (dermmodels'
1e-4, categorical cross-entropy, EarlyStopping      factory), Adam 1e-4, the same loss, patience 3
patience 3, batch 16                                (`dermmodels.train`), batch 16
==================================================  ========================================================

Run small on the real data (a few minutes on a CPU)::

    python examples/port_manual_oversampling.py --images ../shared/ham10000/images_200x150 \\
        --metadata ../shared/ham10000/HAM10000_metadata.csv --limit 1000 --per-class 30 --epochs 2

``tests/test_examples.py`` runs it on a synthetic set in HAM10000's layout.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from _ham10000_subset import data_parser, read_and_split  # this folder's shared data arguments


def their_leak(metadata: pd.DataFrame, per_class: int, seed: int = 0) -> dict[str, int]:
    """What resampling the metadata to ``per_class`` rows per class, then an 80/20 split by row, leaves."""
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(metadata["label"] == c), per_class, replace=(metadata["label"] == c).sum()
                       < per_class) for c in sorted(metadata["label"].unique())]
    balanced = metadata.iloc[rng.permutation(np.concatenate(rows))]
    cut = int(round(0.8 * len(balanced)))
    train, val = balanced.iloc[:cut], balanced.iloc[cut:]
    return {"copies_held": int(len(balanced) - balanced["image_id"].nunique()),
            "images_on_both_sides": len(set(train["image_id"]) & set(val["image_id"])),
            "lesions_on_both_sides": len(set(train["lesion_id"]) & set(val["lesion_id"]))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = data_parser(__doc__.splitlines()[0], image_size=64)
    parser.add_argument("--per-class", type=int, default=300, help="images of each class per epoch")
    args = parser.parse_args(argv)

    import dermprep.tfdata as T
    from dermmodels import build_mobilenetv2_classifier, train
    from dermprep import CLASS_NAMES
    from dermprep.ham10000 import encode_metadata

    metadata, split = read_and_split(args)  # split first, balance the training part only
    present = np.bincount(split.train["label"], minlength=len(CLASS_NAMES)) > 0
    target = [args.per_class if p else 0 for p in present]  # a class absent from the split: target 0, said so

    def records(part: pd.DataFrame, **order: Any) -> Any:
        return T.from_records(part["path"].tolist(), part["label"].to_numpy(), image_size=args.image_size,
                              one_hot=True, num_classes=len(CLASS_NAMES), metadata=encode_metadata(part), **order)

    def epoch(e: Any) -> Any:
        return records(split.train, balance=T.balance(strategy="target", target=target, seed=0), epoch=e).batch(16)

    model = build_mobilenetv2_classifier(len(CLASS_NAMES), input_shape=(args.image_size, args.image_size, 3),
                                         weights=None, alpha=0.35, metadata_features=encode_metadata(split.train)
                                         .shape[1])
    history = train(model, T.epochs(epoch, stop=args.epochs), records(split.val).batch(16), epochs=args.epochs,
                    learning_rate=1e-4, patience=3, verbose=0)
    first = np.concatenate([np.argmax(y, 1) for _, y in epoch(0).as_numpy_iterator()])
    result = {
        "images": len(metadata),
        "theirs": their_leak(metadata, args.per_class),
        "ours": {"copies_held": 0, "images_on_both_sides": len(set(split.train["image_id"]) &
                                                                  set(split.val["image_id"])),
                 "lesions_on_both_sides": len(set(split.train["lesion_id"]) & set(split.val["lesion_id"]))},
        "epoch_0_class_counts": np.bincount(first, minlength=len(CLASS_NAMES)).tolist(),
        "target": target,
        "epochs_trained": len(history["loss"]),
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
