"""HAM10000 metadata, lesion-grouped splits and metadata features."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dermprep import CLASS_NAMES
from dermprep.ham10000 import (
    LOCALIZATIONS,
    encode_metadata,
    find_images,
    lesion_kfold,
    lesion_split,
    read_metadata,
)

HEADER = "lesion_id,image_id,dx,dx_type,age,sex,localization\n"


def _write(tmp_path, body, name="meta.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


@pytest.fixture(scope="module")
def real(shared_dir):
    csv = shared_dir / "ham10000" / "HAM10000_metadata.csv"
    if not csv.is_file():
        pytest.skip(f"{csv} is absent")
    return read_metadata(csv)


def test_real_metadata_counts(real):
    assert len(real) == 10015 and real["lesion_id"].nunique() == 7470
    counts = real["dx"].value_counts().to_dict()
    assert counts == {"nv": 6705, "mel": 1113, "bkl": 1099, "bcc": 514, "akiec": 327, "vasc": 142, "df": 115}
    assert real["age"].isna().sum() == 57 and set(real["sex"]) == {"male", "female", "unknown"}
    assert (real["label"] == real["dx"].map(CLASS_NAMES.index)).all()


def test_real_split_has_no_lesion_leak_and_keeps_class_proportions(real):
    split = lesion_split(real, val=0.15, test=0.15, seed=0)
    lesions = [set(p["lesion_id"]) for p in split]
    assert not (lesions[0] & lesions[1] or lesions[0] & lesions[2] or lesions[1] & lesions[2])
    assert sum(len(p) for p in split) == len(real)
    whole = real["label"].value_counts(normalize=True).sort_index()
    for part, fraction in zip(split, (0.7, 0.15, 0.15), strict=True):
        assert abs(len(part) / len(real) - fraction) < 0.01
        share = part["label"].value_counts(normalize=True).sort_index()
        assert (share - whole).abs().max() < 0.01
    assert "total" in split.summary() and split.counts().loc["total"].sum() == len(real)
    again = lesion_split(real, seed=0)
    assert again.test["image_id"].tolist() == split.test["image_id"].tolist()
    assert lesion_split(real, seed=1).test["image_id"].tolist() != split.test["image_id"].tolist()


def test_real_kfold_covers_every_lesion_once(real):
    folds = lesion_kfold(real, 5, seed=0)
    seen = pd.concat([val for _, val in folds])
    assert len(seen) == len(real) and seen["image_id"].is_unique
    for train, val in folds:
        assert not set(train["lesion_id"]) & set(val["lesion_id"])


def test_real_image_folder_decodes(shared_dir):
    images = shared_dir / "ham10000" / "images_200x150"
    if not images.is_dir():
        pytest.skip(f"{images} is absent")
    md = read_metadata(shared_dir / "ham10000" / "HAM10000_metadata.csv", images_dir=images)
    assert md["path"].notna().all()
    first = cv2.imread(md["path"].iloc[0])
    assert first.shape == (150, 200, 3)


def test_official_two_part_layout(tmp_path):
    for part, ids in (("HAM10000_images_part_1", ["ISIC_1", "ISIC_2"]), ("HAM10000_images_part_2", ["ISIC_3"])):
        (tmp_path / part).mkdir()
        for i in ids:
            cv2.imwrite(str(tmp_path / part / f"{i}.jpg"), np.zeros((30, 40, 3), np.uint8))
    csv = _write(tmp_path, "HAM_1,ISIC_1,nv,histo,40,male,back\nHAM_1,ISIC_2,nv,histo,40,male,back\n"
                           "HAM_2,ISIC_3,mel,histo,,female,face\n")
    md = read_metadata(csv, images_dir=tmp_path)
    assert md["path"].str.contains("part_2").sum() == 1 and np.isnan(md["age"].iloc[2])
    assert set(find_images(tmp_path)) == {"ISIC_1", "ISIC_2", "ISIC_3"}


def test_missing_images_raise_or_drop_with_a_report(tmp_path):
    (tmp_path / "img").mkdir()
    cv2.imwrite(str(tmp_path / "img" / "ISIC_1.jpg"), np.zeros((30, 40, 3), np.uint8))
    csv = _write(tmp_path, "HAM_1,ISIC_1,nv,histo,40,male,back\nHAM_2,ISIC_9,bcc,histo,50,male,face\n")
    with pytest.raises(ValueError, match=r"1 of 2 images .* not in .*ISIC_9"):
        read_metadata(csv, images_dir=tmp_path / "img")
    with pytest.warns(UserWarning, match="ISIC_9"):
        md = read_metadata(csv, images_dir=tmp_path / "img", missing_images="drop")
    assert md["image_id"].tolist() == ["ISIC_1"] and md.attrs["missing_images"] == ["ISIC_9"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("HAM_1,ISIC_1,xyz,histo,40,male,back\n", r"unknown codes \['xyz'\]"),
        ("HAM_1,ISIC_1,nv,histo,40,male,back\nHAM_2,ISIC_1,nv,histo,40,male,back\n", "image_id must be unique"),
        ("HAM_1,ISIC_1,nv,histo,forty,male,back\n", "age must be numeric"),
        ("HAM_1,,nv,histo,40,male,back\n", "'image_id' has empty values on CSV lines \\[2\\]"),
        ("HAM_1,ISIC_1,nv,histo,40,male,back\nHAM_1,ISIC_2,mel,histo,40,male,back\n", "one diagnosis"),
        ("", "no rows"),
    ],
)
def test_corrupted_csv_gives_clear_errors(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        read_metadata(_write(tmp_path, body))


def test_missing_columns_and_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("image,diagnosis\nISIC_1,nv\n")
    with pytest.raises(ValueError, match=r"missing \['lesion_id', 'image_id', 'dx'\]"):
        read_metadata(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_metadata(empty)
    with pytest.raises(FileNotFoundError, match="csv_path"):
        read_metadata(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="images_dir"):
        find_images(tmp_path / "nope")


@settings(max_examples=20)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=8, max_size=80),
    classes=st.data(),
    seed=st.integers(0, 100),
)
def test_property_split_never_leaks_lesions(sizes, classes, seed):
    labels = [classes.draw(st.integers(0, 6)) for _ in sizes]
    rows = [(f"L{i}", label) for i, (size, label) in enumerate(zip(sizes, labels, strict=True)) for _ in range(size)]
    md = pd.DataFrame(rows, columns=["lesion_id", "label"])
    split = lesion_split(md, val=0.2, test=0.2, seed=seed)
    parts = [set(p["lesion_id"]) for p in split]
    assert sum(len(p) for p in split) == len(md)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_split_arguments_are_checked():
    md = pd.DataFrame({"lesion_id": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match="val \\+ test must be < 1"):
        lesion_split(md, val=0.5, test=0.5)
    with pytest.raises(ValueError, match="val must be a fraction"):
        lesion_split(md, val=-0.1)
    with pytest.raises(TypeError, match="pandas.DataFrame"):
        lesion_split([1, 2])
    with pytest.raises(ValueError, match="k=3 folds need at least 3 lesions"):
        lesion_kfold(md, 3)


def test_encode_metadata():
    md = pd.DataFrame({"age": [50.0, np.nan], "sex": ["female", "other"], "localization": ["face", "moon"]})
    f = encode_metadata(md)
    assert f.shape == (2, 2 + 3 + len(LOCALIZATIONS)) and f.dtype == np.float32
    assert f[0, 0] == pytest.approx(0.5) and f[1, 1] == 1.0 and f[1, 0] == 0.0
    assert f[0, 2 + 1] == 1.0 and f[1, 2 + 2] == 1.0  # female, unknown
    assert f[0, 5 + LOCALIZATIONS.index("face")] == 1.0 and f[1, 5 + LOCALIZATIONS.index("unknown")] == 1.0
    assert (f[:, 2:5].sum(axis=1) == 1).all() and (f[:, 5:].sum(axis=1) == 1).all()
    with pytest.raises(TypeError, match="DataFrame"):
        encode_metadata(np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_metadata(pd.DataFrame({"lesion_id": ["a"]}))  # missing columns encode as unknown, silently by design
