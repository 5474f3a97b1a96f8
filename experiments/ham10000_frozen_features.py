"""Real transfer learning on HAM10000 (CPU-feasible): frozen ImageNet MobileNetV2 features + the paper's head.

Usage (from the repository root, after `make test` installed everything):

    .venv/bin/python experiments/ham10000_frozen_features.py \
        --metadata ../shared/ham10000/HAM10000_metadata.csv \
        --images ../shared/ham10000/images_200x150 \
        --weights ../shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5 \
        --alpha 0.35 --out experiments/out

Lesion-grouped split (70/15/15, seed 0); images resized to 224x224; the base
runs once per image (features cached in memory); the head (dropout, ReLU
dense, softmax) trains with Adam, early stopping and class weights; metrics
on the test split. HAM10000: Tschandl et al. 2018, CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metadata", required=True)
    parser.add_argument("--images", required=True)
    parser.add_argument("--weights", default="imagenet")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="experiments/out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true",
                        help="also train with oversampling and undersampling (the paper's Section V-C)")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    import dermprep.tfdata as T
    from dermmodels import build_mobilenetv2_classifier
    from dermmodels.evaluation import report_from_predictions, write_report
    from dermprep import CLASS_NAMES
    from dermprep.ham10000 import lesion_split, read_metadata
    from dermprep.sampling import class_counts, class_weights, epoch_indices, target_counts

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    metadata = read_metadata(args.metadata, images_dir=args.images)
    split = lesion_split(metadata, val=0.15, test=0.15, seed=args.seed)
    print(split.summary(), flush=True)
    model = build_mobilenetv2_classifier(7, input_shape=(args.size, args.size, 3), weights=args.weights, alpha=args.alpha)
    features_of = keras.Model(model.inputs, model.get_layer("gap").output)

    def features(part):
        ds = T.from_records(part["path"], part["label"], image_size=(args.size, args.size)).batch(64)
        return features_of.predict(ds.map(lambda x, y: x), verbose=0), part["label"].to_numpy()

    (xtr, ytr), (xva, yva), (xte, yte) = (features(p) for p in split)
    extracted = time.perf_counter()
    print(f"features: {xtr.shape} train, {time.perf_counter() - started:.0f} s", flush=True)

    def make_head():
        head = keras.Sequential([
            keras.Input(shape=(xtr.shape[1],)),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(7, activation="softmax"),
        ])
        head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                     metrics=["accuracy"])
        return head

    def fit(strategy):
        """Train the head with class weights, or on exactly balanced epochs (dermprep.sampling)."""
        keras.utils.set_random_seed(args.seed)
        head = make_head()
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=6, restore_best_weights=True)
        if strategy == "class_weight":
            history = head.fit(xtr, ytr, validation_data=(xva, yva), epochs=args.epochs, batch_size=32,
                               verbose=0, class_weight=class_weights(ytr, 7), callbacks=[stop])
            return head, history.history
        targets = target_counts(class_counts(ytr, 7), strategy)
        merged: dict[str, list[float]] = {}
        stop.set_model(head)
        stop.on_train_begin()
        for epoch in range(args.epochs):  # a fresh exactly-balanced epoch each time
            idx = epoch_indices(ytr, targets, seed=args.seed, epoch=epoch)
            h = head.fit(xtr[idx], ytr[idx], validation_data=(xva, yva), epochs=1, batch_size=32, verbose=0)
            for k, v in h.history.items():
                merged.setdefault(k, []).append(float(v[0]))
            stop.on_epoch_end(epoch, {k: v[-1] for k, v in merged.items()})
            if head.stop_training:
                break
        stop.on_train_end()
        return head, merged

    results = {}
    for strategy in (["class_weight", "oversample", "undersample"] if args.compare else ["class_weight"]):
        head, hist = fit(strategy)
        rep = report_from_predictions(yte, head.predict(xte, verbose=0), CLASS_NAMES)
        results[strategy] = (rep, hist)
        print(f"{strategy:13s} accuracy {rep.accuracy:.3f}  balanced accuracy {rep.balanced_accuracy:.3f}  "
              f"macro F1 {rep.macro_f1:.3f}  epochs {len(hist['loss'])}", flush=True)
    report, history_dict = results["class_weight"]
    out = Path(args.out)
    write_report(report, out, history={k: [float(v) for v in vs] for k, vs in history_dict.items()})
    summary = {
        "command": "experiments/ham10000_frozen_features.py",
        "alpha": args.alpha, "size": args.size, "weights": str(args.weights), "seed": args.seed,
        "split_images": [len(p) for p in split], "epochs_run": len(history_dict["loss"]),
        "feature_seconds": extracted - started, "total_seconds": time.perf_counter() - started,
        "test": {"accuracy": report.accuracy, "balanced_accuracy": report.balanced_accuracy,
                 "macro_f1": report.macro_f1, "weighted_f1": report.weighted_f1},
        "tf": tf.__version__,
        "sampling_comparison": {
            name: {"accuracy": r.accuracy, "balanced_accuracy": r.balanced_accuracy, "macro_f1": r.macro_f1,
                   "epochs": len(h["loss"])}
            for name, (r, h) in results.items()
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(report.summary())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
