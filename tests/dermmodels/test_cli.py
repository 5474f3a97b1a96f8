"""dermmodels train / evaluate / predict / export on tiny folders the tests write (HAM10000 CSV, class folders, ISIC one-hot)."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")

import dermmodels.export  # noqa: E402
from dermmodels.cli import main  # noqa: E402
from dermprep import CLASS_NAMES  # noqa: E402
from dermprep.synthetic import make_sample  # noqa: E402

TINY = ["--epochs", "1", "--batch-size", "8", "--image-size", "48", "--alpha", "0.35", "--weights", "none",
        "--no-tta", "--quiet"]


def _write(path, rng, label):
    sample = make_sample((60, 80), rng=rng, label=label)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="module")
def ham_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("ham")
    lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization"]
    for c, dx in enumerate(CLASS_NAMES):
        for k in range(4):
            image_id = f"ISIC_{c}{k}"
            _write(root / "HAM10000_images_part_1" / f"{image_id}.jpg", 10 * c + k, c)
            lines.append(f"HAM_{c}{k},{image_id},{dx},histo,50.0,male,back")
    (root / "HAM10000_metadata.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def trained_run(ham_folder, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "run"
    code = main(["train", "--data", str(ham_folder), "--metadata", str(ham_folder / "HAM10000_metadata.csv"),
                 "--out", str(run), "--preset", "cpu", "--remove-hair", "--val", "0.25", "--test", "0.25", *TINY])
    return code, run


def test_train_with_a_preset_records_every_setting(trained_run):
    code, run = trained_run
    assert code == 0
    for name in ("config.json", "best.keras", "history.json", "split.csv", "calibration.json", "state.json"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "cpu" and config["recipe"]["image_size"] == 48
    assert config["recipe"]["sampling"] == "sqrt" and config["recipe"]["aspect"] == "crop"  # from the preset
    assert config["class_names"] == list(CLASS_NAMES)
    assert config["recipe"]["remove_hair"] is True  # the explicit option over the preset's default (off)
    assert list((run / "hair-cache").glob("*.png"))  # hair removal ran once per image and was cached


def test_distillation_trains_a_student_on_a_teacher_run(trained_run, ham_folder, tmp_path):
    # The teachers' probabilities reach training as soft targets (from_arrays(targets=)); they once went in as
    # the labels and every distillation run failed at its first epoch.
    _, teacher = trained_run
    student = tmp_path / "student"
    code = main(["train", "--data", str(ham_folder), "--metadata", str(ham_folder / "HAM10000_metadata.csv"),
                 "--out", str(student), "--preset", "cpu", "--val", "0.25", "--test", "0.25",
                 "--teachers", str(teacher), "--distill-weight", "0.5", *TINY])
    assert code == 0
    recipe = json.loads((student / "config.json").read_text())["recipe"]
    assert recipe["teachers"] == [str(teacher)] and recipe["distill_weight"] == 0.5
    assert len(json.loads((student / "history.json").read_text())["loss"]) == 1


def test_resume_and_contradictions(trained_run, ham_folder, capsys):
    _, run = trained_run
    base = ["train", "--data", str(ham_folder), "--metadata", str(ham_folder / "HAM10000_metadata.csv"),
            "--out", str(run), "--preset", "cpu", "--remove-hair", "--val", "0.25", "--test", "0.25"]
    capsys.readouterr()
    assert main([*base, *TINY]) == 0  # the same run again: nothing to redo
    before = (run / "config.json").read_text()
    assert main([*base, *TINY[:-2], "--learning-rate", "0.1", "--quiet"]) == 1
    assert "recipe.learning_rate" in capsys.readouterr().err
    assert (run / "config.json").read_text() == before  # refused before anything was overwritten
    assert main([*base, *TINY, "--no-augment", "--augment", "strong"]) == 2
    assert "--no-augment contradicts --augment strong" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--preset", "tpu"])
    assert exit_.value.code == 2


def test_evaluate_own_split_and_external_one_hot_labels(trained_run, tmp_path, capsys):
    _, run = trained_run
    assert main(["evaluate", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    assert metrics["samples"] > 0 and metrics["balanced_accuracy_interval"] is not None
    external = tmp_path / "isic"
    rows = [["image", "MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]]
    for k, name in enumerate(["MEL", "NV", "BCC", "AKIEC"]):
        _write(external / f"ISIC_9{k}.jpg", 500 + k, 0)
        rows.append([f"ISIC_9{k}", *("1.0" if c == name else "0.0" for c in rows[0][1:])])
    with open(tmp_path / "truth.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out = tmp_path / "report"
    assert main(["evaluate", str(run), "--images", str(external), "--labels", str(tmp_path / "truth.csv"),
                 "--out", str(out), "--quiet"]) == 0
    external_metrics = json.loads((out / "metrics.json").read_text())  # valid JSON: absent classes' AUC is null
    assert external_metrics["samples"] == 4 and external_metrics["roc_auc"]["df"] is None
    rows[0].append("SCC")
    rows[1].append("0.0")
    rows[2] = [rows[2][0], *(["0.0"] * 7), "1.0"]
    with open(tmp_path / "scc.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(rows[:3] + [r + ["0.0"] for r in rows[3:]])
    capsys.readouterr()
    assert main(["evaluate", str(run), "--images", str(external), "--labels", str(tmp_path / "scc.csv"), "--quiet"]) == 1
    assert "classes ['scc'] that are not among the classes" in capsys.readouterr().err


def test_predict_folder_csv_isic_and_bad_files(trained_run, tmp_path, capsys):
    _, run = trained_run
    folder = tmp_path / "new"
    for k in range(3):
        _write(folder / f"p{k}.jpg", 700 + k, 1)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), str(folder), "--out", str(out), "--quiet"]) == 1  # one file failed
    assert "broken.jpg" in capsys.readouterr().err
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image"] for r in rows] == ["p0", "p1", "p2"]
    probabilities = np.array([[float(r[f"p_{c}"]) for c in CLASS_NAMES] for r in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert all(r["predicted"] == CLASS_NAMES[int(np.argmax(p))] for r, p in zip(rows, probabilities, strict=True))
    (folder / "broken.jpg").unlink()
    isic = tmp_path / "isic.csv"
    assert main(["predict", str(run), str(folder / "p0.jpg"), "--out", str(isic), "--format", "isic", "--quiet"]) == 0
    assert isic.read_text().splitlines()[0] == "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC"


def test_export_checks_agreement_writes_metadata_and_refuses_a_model_that_disagrees(trained_run, capsys, monkeypatch):
    _, run = trained_run
    assert main(["export", str(run), "--tflite", "--quantize", "dynamic", "--quiet"]) == 0
    exported = json.loads((run / "export.json").read_text())
    assert exported["size_bytes"] > 0 and exported["samples"] == len(_split_rows(run, "test"))
    assert exported["calibrated"] and exported["acceptable"] and exported["problems"] == []
    assert exported["balanced_accuracy_keras"] is not None and exported["seconds_per_image"] > 0
    sidecar = json.loads((run / "model.tflite.json").read_text())
    calibration = json.loads((run / "calibration.json").read_text())
    assert sidecar["class_names"] == list(CLASS_NAMES) and sidecar["input"]["shape"] == [1, 48, 48, 3]
    assert sidecar["calibration"]["temperature"] == calibration["temperature"]
    assert sidecar["calibration"]["tau"] == calibration["tau"] and sidecar["preprocessing"]["image_size"] == [48, 48]
    capsys.readouterr()
    monkeypatch.setattr(dermmodels.export, "AGREEMENT_THRESHOLD", 1.01)  # any agreement counts as too low
    assert main(["export", str(run), "--tflite", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "NOT FINE" in err and "different top-1 class than the Keras model" in err
    assert json.loads((run / "export.json").read_text())["acceptable"] is False
    assert main(["export", str(run), "--quiet"]) == 2


def test_int8_export_chooses_its_float_layers_on_the_validation_split(trained_run, capsys):
    _, run = trained_run
    code = main(["export", str(run), "--tflite", "--quantize", "int8", "--quiet"])
    exported = json.loads((run / "export.json").read_text())
    assert code == (0 if exported["acceptable"] else 1)
    assert exported["quantize"] == "int8" and exported["bias_corrected"] and exported["float_ops"] == ["SOFTMAX"]
    assert exported["selection"] and exported["selection"][0]["float_layers"] == 0
    chosen = [e["float_layers"] for e in exported["selection"] if e["top1_agreement_lower_bound"] >= 0.98
              and e["top1_agreement"] >= 0.98 and e["balanced_accuracy_keras"] - e["balanced_accuracy_tflite"] <= 0.01]
    passing = [e["float_layers"] for e in exported["selection"]
               if e["top1_agreement"] >= 0.98 and e["balanced_accuracy_keras"] - e["balanced_accuracy_tflite"] <= 0.01]
    assert exported["float_layers"] == (chosen or passing or [exported["selection"][-1]["float_layers"]])[0]
    assert exported["float_layers_margin"] == bool(chosen)
    val_labels = [int(row["label"]) for row in _split_rows(run, "val")]
    assert exported["selection"][-1]["balanced_accuracy_keras"] is not None and len(val_labels) > 0
    assert main(["export", str(run), "--tflite", "--quantize", "int8", "--float-layers", "3",
                 "--no-bias-correction", "--quiet"]) in (0, 1)
    exported = json.loads((run / "export.json").read_text())
    assert exported["float_layers"] == 3 and not exported["bias_corrected"] and exported["selection"] == []
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(run), "--tflite", "--quantize", "int8", "--float-layers", "some", "--quiet"])
    assert exit_.value.code == 2
    assert "--float-layers: expected an integer >= 0 or 'auto'; got 'some'" in capsys.readouterr().err


def _split_rows(run, part):
    with open(run / "split.csv") as handle:
        return [row for row in csv.DictReader(handle) if row["part"] == part]


def test_predict_and_evaluate_the_exported_tflite(trained_run, tmp_path, capsys):
    _, run = trained_run
    assert main(["export", str(run), "--tflite", "--quiet"]) == 0  # float32: the same classes as Keras
    folder = tmp_path / "new"
    for k in range(4):
        _write(folder / f"t{k}.jpg", 900 + k, k)
    outs = {}
    for name, extra in (("keras", []), ("tflite", ["--tflite"])):
        outs[name] = tmp_path / f"{name}.csv"
        assert main(["predict", str(run), str(folder), "--out", str(outs[name]), "--quiet", *extra]) == 0
    alone = tmp_path / "alone.csv"  # the .tflite file and its sidecar alone
    assert main(["predict", str(run / "model.tflite"), str(folder), "--out", str(alone), "--quiet"]) == 0
    rows = {name: list(csv.DictReader(path.read_text().splitlines())) for name, path in {**outs, "alone": alone}.items()}
    assert [r["predicted"] for r in rows["tflite"]] == [r["predicted"] for r in rows["keras"]]
    assert rows["alone"] == rows["tflite"]
    for a, b in zip(rows["keras"], rows["tflite"], strict=True):
        assert abs(float(a["p_mel"]) - float(b["p_mel"])) < 1e-3
    assert main(["evaluate", str(run), "--tflite", "--quiet"]) == 0
    assert json.loads((run / "report-tflite" / "metrics.json").read_text())["samples"] > 0
    (run / "model.tflite.json").unlink()
    capsys.readouterr()
    assert main(["predict", str(run / "model.tflite"), str(folder), "--out", str(alone), "--quiet"]) == 1
    assert "model.tflite.json' not found" in capsys.readouterr().err


def test_evaluate_report_has_calibration_and_grad_cam(trained_run):
    _, run = trained_run
    assert main(["evaluate", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    assert 0.0 <= metrics["ece"] <= 1.0 and 0.0 <= metrics["ece_before_temperature"] <= 1.0
    assert set(metrics["reliability"]) == {"before_temperature", "after_temperature"}
    assert sum(metrics["reliability"]["after_temperature"]["count"]) == metrics["samples"]
    page = (run / "report" / "report.html").read_text()
    assert "reliability diagram" in page and "where the model looked" in page
    assert (run / "report" / "where_the_model_looked.png").stat().st_size > 0


def test_explain_writes_a_grad_cam_png(trained_run, tmp_path, capsys):
    _, run = trained_run
    _write(tmp_path / "one.jpg", 950, 4)
    out = tmp_path / "cam.png"
    assert main(["explain", str(run), str(tmp_path / "one.jpg"), "--out", str(out), "--class", "mel"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Grad-CAM for mel" in capsys.readouterr().out
    assert main(["explain", str(run), str(tmp_path / "one.jpg"), "--out", str(out), "--class", "scc"]) == 2
    assert "--class must be one of" in capsys.readouterr().err
    assert main(["explain", str(run), str(tmp_path / "missing.jpg"), "--out", str(out), "--quiet"]) == 1


def test_train_on_a_class_per_subfolder_tree(tmp_path):
    root = tmp_path / "tree"
    for c, name in enumerate(["benign", "malignant"]):
        for k in range(8):
            _write(root / name / f"{name}{k}.png", 100 * c + k, c)
    run = tmp_path / "run"
    assert main(["train", "--data", str(root), "--out", str(run), "--preset", "cpu", "--no-remove-hair",
                 "--val", "0.25", "--test", "0.25", *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["class_names"] == ["benign", "malignant"]


def test_errors_are_reported(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "not a dermmodels run folder" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--metadata", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "r")]) == 1
    assert "label file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", "x", "--out", "y", "--batch-size", "0"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert "dermmodels" in capsys.readouterr().out


def test_missing_tensorflow_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import dermprep.runtime

    real = dermprep.runtime.available
    monkeypatch.setattr(dermprep.runtime, "available", lambda name: name != "tensorflow" and real(name))
    assert main(["evaluate", str(tmp_path)]) == 2  # before any work (a subprocess test hides the package itself)
    assert capsys.readouterr().err.strip() == ('dermmodels evaluate: error: dermmodels evaluate (evaluation) needs '
                                               'TensorFlow, which is not installed: pip install "dermprep[tf]"')


def test_train_on_an_isic_2019_one_hot_csv_with_lesion_groups(tmp_path):
    rows = ["image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK"]
    meta = ["image,age_approx,anatom_site_general,lesion_id,sex"]
    for i in range(24):
        k = [0, 1, 2][i % 3]
        _write(tmp_path / "ISIC_2019_Training_Input" / f"ISIC_{i:07d}.jpg", 900 + i, k)
        rows.append(f"ISIC_{i:07d}," + ",".join("1.0" if j == k else "0.0" for j in range(9)))
        meta.append(f"ISIC_{i:07d},50,anterior torso,{f'BCN_{i // 2}' if i % 4 else ''},male")
    (tmp_path / "truth.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "meta.csv").write_text("\n".join(meta) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "ISIC_2019_Training_Input"), "--labels", str(tmp_path / "truth.csv"),
                 "--groups-from", str(tmp_path / "meta.csv"), "--out", str(run), "--preset", "cpu",
                 "--no-remove-hair", "--val", "0.25", "--test", "0.25", *TINY]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["class_names"] == ["bcc", "mel", "nv"] and config["data"]["layout"] == "isic-onehot"
    split = (run / "split.csv").read_text().splitlines()
    assert len(split) == 25  # every image in one part: none dropped for a missing lesion_id


def test_train_split_on_class_folders_says_what_it_did_and_takes_a_given_validation_tree(tmp_path):
    """Issue 22 item 6: a pre-split train/ val/ tree (--val-data), and the log saying the split is by image."""
    from dermmodels.cli import UsageError, _parser, _split

    for part, n in (("train", 4), ("val", 2)):
        for c, name in enumerate(("mel", "nv")):
            for k in range(n):
                _write(tmp_path / part / name / f"{part}_{c}{k}.png", 100 * c + k + (50 if part == "val" else 0), c)
    lines = []
    args = _parser().parse_args(["train", "--data", str(tmp_path / "train"), "--val-data", str(tmp_path / "val"),
                                 "--test", "0.25", "--out", str(tmp_path / "run")])
    _, train, val, test = _split(args, lines.append)
    assert sorted(val["path"].map(lambda p: p.split("/")[-1])) == sorted(
        f"val_{c}{k}.png" for c in range(2) for k in range(2))
    assert len(train) + len(test) == 8 and not set(train["path"]) & set(val["path"])
    assert "validation from" in lines[0] and "split by image" in lines[0] and "both sides" in lines[0]
    assert "split by group" not in lines[0]
    plain = _parser().parse_args(["train", "--data", str(tmp_path / "train"), "--out", str(tmp_path / "run")])
    _split(plain, lines.append)
    assert "validation split off --data; split by image" in lines[1]
    with pytest.raises(UsageError, match="--val-labels goes with --val-data"):
        _split(_parser().parse_args(["train", "--data", str(tmp_path / "train"), "--val-labels", "x.csv",
                                     "--out", str(tmp_path / "run")]), lines.append)


def test_evaluate_takes_a_class_per_subfolder_tree(trained_run, tmp_path):
    """Issue 22 item 6: `evaluate RUN --images DIR` on the same kind of tree `train --data` accepts."""
    _, run = trained_run
    tree = tmp_path / "test"
    for k, name in enumerate(["mel", "nv", "nv", "bcc"]):
        _write(tree / name / f"ISIC_8{k}.jpg", 700 + k, CLASS_NAMES.index(name))
    out = tmp_path / "report"
    assert main(["evaluate", str(run), "--images", str(tree), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["samples"] == 4
