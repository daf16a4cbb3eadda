"""FER2013: the reader on generated fixtures in both layouts, its errors, `fer-ros eval --dataset fer2013`,
and one face front end: training's evaluation reads exactly the crops `fer-ros video --stills --aligned` reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import FER2013_CLASS_FOLDERS, build_fer2013

from fer_ros.learn.datasets.fer2013 import DatasetError, read_fer2013
from fer_ros.learn.stills import cached_crops
from fer_ros.learn.train_backbone import predict
from fer_ros.model.backbone import load_backbone
from fer_ros.model.classes import CLASS_NAMES

FER_ROS = Path(sys.executable).parent / "fer-ros"


@pytest.fixture(scope="module", params=["csv", "folders"])
def fixture(request, tmp_path_factory):
    return build_fer2013(tmp_path_factory.mktemp(request.param), request.param, per_class=2)


def test_reader_reads_every_split_in_both_layouts(fixture):
    for usage, n in fixture["counts"].items():
        stills = read_fer2013(fixture["path"], usage)
        assert len(stills) == n and stills.images.shape == (n, 48, 48) and stills.images.dtype == np.uint8
        assert stills.counts() == dict.fromkeys(CLASS_NAMES, 2)  # FER2013 order mapped to ours
        assert len(set(stills.names)) == n


def test_both_layouts_give_the_same_faces(tmp_path):
    a = read_fer2013(build_fer2013(tmp_path / "a", "csv")["path"], "PublicTest")
    b = read_fer2013(build_fer2013(tmp_path / "b", "folders")["path"], "validation")  # folder alias
    order = np.lexsort((b.images.reshape(len(b), -1).sum(1), b.labels))
    ref = np.lexsort((a.images.reshape(len(a), -1).sum(1), a.labels))
    assert np.array_equal(a.labels[ref], b.labels[order])
    # JPEG in the folder layout: the same faces up to compression
    assert np.abs(a.images[ref].astype(int) - b.images[order].astype(int)).mean() < 4


def test_augmented_copies_only_on_request_and_only_in_training(tmp_path):
    path = build_fer2013(tmp_path, "folders")["path"]
    plain = read_fer2013(path, "Training")
    more = read_fer2013(path, "Training", augmented_copies=True)
    assert len(more) == len(plain) + 2 and (more.labels == CLASS_NAMES.index("disgust")).sum() == 4
    assert not any(".jpg0." in n for n in plain.names)
    assert len(read_fer2013(path, "PublicTest", augmented_copies=True)) == 14


def test_file_prefix_decides_the_split_in_a_merged_folder(tmp_path):
    path = build_fer2013(tmp_path, "folders")["path"]
    for f in (path / "validation").rglob("*.jpg"):  # PublicTest images moved into test/
        target = path / "test" / f.parent.name / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        f.rename(target)
    assert len(read_fer2013(path, "PublicTest")) == len(read_fer2013(path, "PrivateTest")) == 14


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "no such file or folder"),
        ("no-splits", "no split folders"),
        ("bad-class", "unknown class folder"),
        ("bad-columns", "missing column"),
        ("short-row", r"fer2013.csv:3: 2303 pixels, expected 2304"),
        ("bad-emotion", r"fer2013.csv:2: emotion 9"),
        ("not-numbers", r"fer2013.csv:2: emotion or pixels is not a number"),
    ],
)
def test_bad_data_names_the_file_and_row(tmp_path, case, match):
    path = tmp_path / "fer"
    if case == "no-splits":
        (path / "pictures").mkdir(parents=True)
    elif case == "bad-class":
        (path / "train" / "joy").mkdir(parents=True)
    elif case != "missing":
        path.mkdir()
        row = " ".join(["7"] * 2304)
        rows = {
            "bad-columns": ["label,pixels,Usage", f"0,{row},Training"],
            "short-row": ["emotion,pixels,Usage", f"0,{row},Training", f"1,{row[:-2]},Training"],
            "bad-emotion": ["emotion,pixels,Usage", f"9,{row},Training"],
            "not-numbers": ["emotion,pixels,Usage", f"0,{row[:-1]}x,Training"],
        }[case]
        path = path / "fer2013.csv"
        path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match=match):
        read_fer2013(path, "Training")


def test_cli_eval_bad_layout_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "nothing_here").mkdir()
    proc = subprocess.run(
        [str(FER_ROS), "eval", "--dataset", "fer2013", str(tmp_path / "nothing_here"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "no split folders" in errors[0] and "nothing_here" in errors[0]


def test_cli_eval_fer2013_reports_both_models(tmp_path):
    fixture = build_fer2013(tmp_path / "fer", "csv", per_class=2)
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(FER_ROS), "eval", "--dataset", "fer2013", str(fixture["path"]), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "UAR" in proc.stdout and "macro-F1" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"]["split"] == "PrivateTest" and report["dataset"]["images"] == 14
    for key in ("model", "baseline"):
        r = report[key]
        cm = np.array(r["confusion"])
        assert cm.shape == (7, 7) and cm.sum() == 14 and cm.sum(1).tolist() == [2] * 7
        assert r["accuracy"] == pytest.approx(np.trace(cm) / 14)
        assert r["uar"] == pytest.approx(np.mean(np.diag(cm) / 2))
        assert len(r["weights"]["sha256"]) == 64
    assert (out / "confusion.png").stat().st_size > 10_000


def test_training_evaluation_reads_the_crops_the_cli_reads(tmp_path):
    """One face front end: per image, the label training's own evaluation gives (cached front-end crops +
    predict) is the label `fer-ros video DIR --stills --aligned --model baseline` writes."""
    path = build_fer2013(tmp_path / "fer", "folders", per_class=2)["path"]
    stills = read_fer2013(path, "PrivateTest")
    cnn = load_backbone()
    crops = cached_crops(stills.images, stills.labels, cnn.crop_size, cnn.equalize, cache_dir=None)
    trained_view = dict(zip(stills.names, predict(cnn, crops.crops).argmax(1)))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            str(FER_ROS),
            "video",
            str(path / "test"),
            "--stills",
            "--aligned",
            "--model",
            "baseline",
            "--out",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert len(rows) == len(stills)
    for r in rows:
        assert CLASS_NAMES.index(r["faces"][0]["label"]) == trained_view["test/" + r["file"]], r["file"]
    assert {Path(r["file"]).parent.name for r in rows} == set(FER2013_CLASS_FOLDERS)
