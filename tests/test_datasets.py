"""dermprep.datasets: every layout read into one table, recognised by its columns, nothing dropped silently."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dermprep import CLASS_NAMES
from dermprep.datasets import detect_layout, group_split, read_records


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((20, 20, 3), 128, np.uint8))


def test_ham10000_layout(tmp_path):
    lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization"]
    for i, dx in enumerate(["nv", "mel", "nv", "bcc"]):
        _image(tmp_path / "part_1" / f"ISIC_{i}.jpg")
        lines.append(f"HAM_{i // 2},ISIC_{i},{dx},histo,40,male,back")
    (tmp_path / "m.csv").write_text("\n".join(lines))
    records = read_records(tmp_path, tmp_path / "m.csv")
    assert records.layout == "ham10000" and records.class_names == tuple(CLASS_NAMES)
    assert records.frame["label"].tolist() == [CLASS_NAMES.index(d) for d in ["nv", "mel", "nv", "bcc"]]
    assert records.frame["group"].tolist() == ["HAM_0", "HAM_0", "HAM_1", "HAM_1"]


def test_isic_2019_one_hot_with_lesion_groups_and_images_without(tmp_path):
    rows = ["image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK"]
    for i, k in enumerate([0, 1, 3, 7, 1]):
        _image(tmp_path / "img" / f"ISIC_{i}.jpg")
        rows.append(f"ISIC_{i}," + ",".join("1.0" if j == k else "0.0" for j in range(9)))
    (tmp_path / "gt.csv").write_text("\n".join(rows))
    (tmp_path / "meta.csv").write_text("image,age_approx,lesion_id\nISIC_0,50,L1\nISIC_1,40,L1\nISIC_2,30,\n")
    records = read_records(tmp_path / "img", tmp_path / "gt.csv", metadata=tmp_path / "meta.csv")
    assert records.layout == "isic-onehot"
    assert records.class_names == ("akiec", "mel", "nv", "scc")  # HAM10000 order first, then the others
    assert [records.class_names[i] for i in records.frame["label"]] == ["mel", "nv", "akiec", "scc", "nv"]
    assert records.frame["group"].tolist() == ["L1", "L1", "image:ISIC_2", "image:ISIC_3", "image:ISIC_4"]
    fixed = read_records(tmp_path / "img", tmp_path / "gt.csv", class_names=list(CLASS_NAMES) + ["scc"])
    assert fixed.class_names[-1] == "scc"
    with pytest.raises(ValueError, match=r"classes \['scc'\] that are not among the classes"):
        read_records(tmp_path / "img", tmp_path / "gt.csv", class_names=CLASS_NAMES)


def test_isic_2020_patients_class_folders_and_generic_csv(tmp_path):
    lines = ["image_name,patient_id,sex,age_approx,anatom_site_general_challenge,diagnosis,benign_malignant,target"]
    for i in range(4):
        _image(tmp_path / "i2020" / f"ISIC_{i}.jpg")
        lines.append(f"ISIC_{i},IP_{i % 2},male,40,torso,nevus,benign,{i % 2}")
    (tmp_path / "train.csv").write_text("\n".join(lines))
    r2020 = read_records(tmp_path / "i2020", tmp_path / "train.csv")
    assert r2020.class_names == ("benign", "malignant") and r2020.frame["group"].tolist() == ["IP_0", "IP_1"] * 2
    for name in ("cat", "dog"):
        for k in range(2):
            _image(tmp_path / "tree" / name / f"{k}.png")
    tree = read_records(tmp_path / "tree")
    assert tree.layout == "folders" and tree.class_names == ("cat", "dog") and len(tree) == 4
    (tmp_path / "generic.csv").write_text("path,label\ntree/cat/0.png,Benign\ntree/dog/1.png,Malignant\n")
    generic = read_records(None, tmp_path / "generic.csv")
    assert generic.class_names == ("Benign", "Malignant") and generic.frame["path"].map(len).min() > 0


def test_nothing_is_dropped_silently(tmp_path):
    (tmp_path / "m.csv").write_text("lesion_id,image_id,dx\nHAM_1,ISIC_1,nv\nHAM_2,ISIC_2,mel\n")
    _image(tmp_path / "ISIC_1.jpg")
    with pytest.raises(FileNotFoundError, match=r"1 of 2 images .* are not in .*ISIC_2"):
        read_records(tmp_path, tmp_path / "m.csv")
    (tmp_path / "bad.csv").write_text("image,MEL,NV\nISIC_1,0.5,0.5\n")
    with pytest.raises(ValueError, match="exactly one 1"):
        read_records(tmp_path, tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="fit no known layout"):
        detect_layout(["a", "b"])


def test_group_split_keeps_groups_together_and_rows_without_groups(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"group": ["a", "a", None, "", "b", "c", "d", "e"] * 5, "label": [0, 0, 1, 1, 0, 1, 0, 1] * 5})
    train, val, test = group_split(frame, val=0.25, test=0.25, seed=1)
    assert len(train) + len(val) + len(test) == len(frame)  # rows without a group are their own group
    named = [set(p["group"].dropna()) - {""} for p in (train, val, test)]
    assert not (named[0] & named[1]) and not (named[0] & named[2]) and not (named[1] & named[2])
