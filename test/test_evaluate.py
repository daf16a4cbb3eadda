"""`fer-ros eval` on the real engine: generated held-out sequences, a CK+-layout folder, a real clip.

The recurrent model is the shipped one when its weights exist, else a freshly
initialised model saved to a temporary file (the numbers are then meaningless, the
plumbing is not).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from dataset_fixtures import face_frames

from fer_ros.cli import main
from fer_ros.engine.config import EngineConfig
from fer_ros.engine.engine import Engine
from fer_ros.io.media import SHORT_FACE_CLIP
from fer_ros.learn import DATA_DIR
from fer_ros.learn import evaluate as ev
from fer_ros.learn import generated as gen
from fer_ros.learn.datasets import load_dataset
from fer_ros.learn.identities import MEDIA_SOURCES, Identity, check_disjoint
from fer_ros.model.classes import CLASS_NAMES, NUM_CLASSES
from fer_ros.model.expression import DEFAULT_MODEL

FRACTION_KEYS = ["0.1", "0.25", "0.5", "0.75", "1.0"]
ENTRY_POINT = Path(sys.executable).parent / "fer-ros"


@pytest.fixture(scope="session")
def weights() -> str:
    """The shipped recurrent model file."""
    return str(DEFAULT_MODEL)


def fer_ros(*args, timeout=300) -> subprocess.CompletedProcess:
    cmd = [str(ENTRY_POINT)] if ENTRY_POINT.exists() else [sys.executable, "-m", "fer_ros.cli"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def check_report(report: dict, frames: int, intervals: int, n_videos: int) -> None:
    """The documented structure, and values that make sense."""
    assert set(report) == {"model", "baseline"}
    for key in ("model", "baseline"):
        r = report[key]
        assert list(r["accuracy_at"]) == FRACTION_KEYS
        assert list(r["accuracy_at_onset_to_apex"]) == FRACTION_KEYS
        for a in r["accuracy_at"].values():
            assert a is None or 0.0 <= a <= 1.0
        assert {"precision", "recall", "f1"} <= set(r["spotting"])
        sp = r["spotting"]
        for name in ("precision", "recall", "f1"):
            assert 0.0 <= sp[name] <= 1.0
        assert sp["n_true"] == intervals and 0 <= sp["tp"] <= min(sp["n_pred"], sp["n_true"])
        assert sp["precision"] == pytest.approx(sp["tp"] / sp["n_pred"] if sp["n_pred"] else 0.0)
        assert sp["recall"] == pytest.approx(sp["tp"] / sp["n_true"] if sp["n_true"] else 0.0)
        p, rc = sp["precision"], sp["recall"]
        assert sp["f1"] == pytest.approx(2 * p * rc / (p + rc) if p + rc else 0.0)
        assert r["intensity_mae"] is not None and 0.0 <= r["intensity_mae"] <= 1.0
        assert r["frames"] == frames and r["videos"] == n_videos
        assert 0 <= r["frames_without_face"] <= frames
        cm = np.array(r["confusion_matrix"])
        assert cm.shape == (NUM_CLASSES, NUM_CLASSES) and cm.sum() == r["frames_scored"] <= frames
        if r["frames_scored"]:
            assert r["frame_accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        assert r["class_names"] == list(CLASS_NAMES)
        assert len(r["weights"]["sha256"]) == 64  # the model file (the baseline's: where its CNN came from)
    assert report["model"]["engine"]["model"] == "recurrent"
    assert report["baseline"]["engine"]["model"] == "baseline"
    # Both models are scored against the same truth.
    for name in ("intervals_scored", "frames_scored", "frames"):
        assert report["model"][name] == report["baseline"][name]
    # The recurrent model's streamed outputs are what ExpressionModel.forward gives on the same features.
    sb = report["model"]["streaming_vs_batch"]
    assert sb["frames"] >= frames - report["model"]["frames_without_face"]  # every face's frames, subject's included
    assert sb["max_abs_diff_probs"] < 1e-5 and sb["max_abs_diff_intensity"] < 1e-5
    assert "streaming_vs_batch" not in report["baseline"]


# ----------------------------------------------------------------------------- streaming == batch


def test_streaming_engine_equals_batch_forward_on_a_real_clip(clip_frames, weights):
    """Engine.process frame by frame vs ExpressionModel.forward over the captured features at once."""
    frames, stamps = clip_frames(SHORT_FACE_CLIP)
    per_face: dict[int, list] = {}
    with Engine(EngineConfig(model="recurrent", weights=weights), keep_features=True) as engine:
        for image, stamp in zip(frames, stamps):
            result = engine.process(image, stamp)
            feats = result.features
            assert len(feats.appearance) == len(feats.geometry) == len(feats.crops) == len(result.faces)
            for j, face in enumerate(result.faces):
                per_face.setdefault(face.id, []).append(
                    (feats.appearance[j], feats.geometry[j], face.scores, face.intensity, face.activity)
                )
        assert per_face, "no face found in the clip"
        compared = 0
        for rows in per_face.values():
            app, geo, probs, inten, act = (np.stack([np.asarray(r[i]) for r in rows]) for i in range(5))
            out = engine.batch_outputs(app, geo)
            assert out["probs"].shape == probs.shape
            np.testing.assert_allclose(out["probs"], probs, atol=1e-5, rtol=0)
            np.testing.assert_allclose(out["intensity"], inten, atol=1e-5, rtol=0)
            np.testing.assert_allclose(out["activity"], act, atol=1e-5, rtol=0)
            compared += len(rows)
    assert compared >= 0.9 * len(frames)


def test_features_are_kept_only_when_asked_and_empty_without_a_face():
    with Engine(EngineConfig(model="baseline"), keep_features=True) as engine:
        assert engine.process(np.zeros((0, 0, 3), np.uint8), 0.0).features is None  # a skipped frame
        empty = engine.process(np.zeros((48, 64, 3), np.uint8), 0.1).features  # valid frame without a face
        assert empty.appearance.shape == (0, engine.appearance_dim) and len(empty.crops) == 0
    with Engine(EngineConfig(model="baseline")) as engine:
        assert engine.process(np.zeros((48, 64, 3), np.uint8), 0.1).features is None


# ----------------------------------------------------------------------------- CLI, generated


def test_cli_eval_generated_end_to_end(tmp_path, weights):
    out = tmp_path / "eval"
    args = ["eval", "--dataset", "generated", "--videos", "2", "--out", out, "-q"]
    if weights != str(DEFAULT_MODEL):
        args += ["--weights", weights]
    proc = fer_ros(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "accuracy @ 50% seen" in proc.stdout and "spotting F1" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    rows = [json.loads(line) for line in (out / "videos.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    frames = sum(r["frames"] for r in rows)
    intervals = sum(len(r["true_intervals"]) for r in rows)
    check_report(report, frames, intervals, 2)
    ds = report["model"]["dataset"]
    assert ds["name"] == "generated" and ds["videos"] == 2
    media = {f for f, _ in MEDIA_SOURCES}
    assert all(x["name"].split("@")[0].split("#")[0].split("+")[0] in media for x in ds["identities"])
    # Every spotted interval lies inside its video, inclusive indices.
    for r in rows:
        for key in ("model", "baseline"):
            for onset, offset, label in r[key]["spotted"]:
                assert 0 <= onset <= offset < r["frames"] and 0 <= label < NUM_CLASSES
    for name in ("on_the_fly.png", "confusion.png"):
        img = cv2.imread(str(out / name))
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 300


def test_cli_eval_segments_on_a_real_smile_with_the_shipped_model(tmp_path):
    """The shipped weights on real footage of a test person (never trained or selected on): a man
    neutral, then smiling (by-eye labels that ship in fer_ros/data/). The model must read the smile
    as happy like the CNN does, spot it, score no intensity (segment labels have none), and flip
    its label no more often than the frame-wise CNN."""
    labels = DATA_DIR / "smile_clip_labels.csv"
    out = tmp_path / "eval"
    proc = fer_ros("eval", "--dataset", "segments", labels, "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    model = report["model"]
    assert report["model"]["dataset"]["name"] == "segments"
    for key in ("model", "baseline"):
        r = report[key]
        assert r["frames"] == 72 and r["frames_without_face"] == 0
        assert r["frames_scored"] == 16 + 46  # neutral 0..15, happy 21..66; the rest unlabelled
        assert r["intensity_frames_scored"] == 0 and r["intensity_mae"] is None
        assert r["frame_accuracy"] >= 0.9, (key, r["frame_accuracy"])
    cm = np.array(model["confusion_matrix"])
    assert cm[CLASS_NAMES.index("happy"), CLASS_NAMES.index("happy")] >= 0.9 * 46
    assert model["spotting"]["tp"] == 1  # the smile, spotted with IoU >= 0.5
    assert model["label_flips_per_s"] <= report["baseline"]["label_flips_per_s"]


def test_the_shipped_model_holds_its_label_steadier_than_the_cnn_on_the_demo_clip(tmp_path):
    """The demo clip (a woman crying, anxious, then laughing; footage of a test person, never
    trained or selected on): the recurrent model flips its label less often per second than
    the frame-wise CNN, and still reads most labelled frames right."""
    out = tmp_path / "eval"
    proc = fer_ros("eval", "--dataset", "segments", DATA_DIR / "real_clip_labels.csv", "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    model, cnn = report["model"], report["baseline"]
    assert model["frames"] == cnn["frames"] == 472 and model["frames_without_face"] == 0
    assert model["label_flips_per_s"] < cnn["label_flips_per_s"], (model["label_flips_per_s"], cnn["label_flips_per_s"])
    assert model["frame_accuracy"] >= 0.7


def test_generated_set_uses_test_faces_only():
    train_face = Identity(
        "fer2013:x.jpg",
        "fer2013:x.jpg",
        "train",
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((478, 3), np.float32),
        np.full(7, 1 / 7, np.float32),
        0,
    )
    with pytest.raises(ValueError, match="test ones"):
        next(gen.generated_videos(1, identities=[train_face]))


def test_identity_splits_never_share_a_person():
    def face(person, split):
        return Identity(
            person,
            person,
            split,
            np.zeros((8, 8, 3), np.uint8),
            np.zeros((478, 3), np.float32),
            np.full(7, 1 / 7, np.float32),
            0,
        )

    check_disjoint([face("a", "train"), face("b", "val"), face("c", "test"), face("a", "train")])
    with pytest.raises(ValueError, match="'b'.*val.*test"):
        check_disjoint([face("a", "train"), face("b", "val"), face("b", "test")])


# ----------------------------------------------------------------------------- CK+ layout


def build_ckplus_large(root: Path) -> dict:
    """CK+ layout (as dataset_fixtures.build_ckplus) with frames large enough for the face detector."""
    seqs = {("S005", "001"): (8, 5), ("S010", "002"): (6, 7)}  # happy, surprise
    frames = 0
    for k, ((subj, seq), (n, code)) in enumerate(seqs.items()):
        folder = root / "cohn-kanade-images" / subj / seq
        folder.mkdir(parents=True)
        for i, img in enumerate(face_frames(n, size=(240, 240), start=3 * k), start=1):
            assert cv2.imwrite(str(folder / f"{subj}_{seq}_{i:08d}.png"), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        emo = root / "Emotion" / subj / seq
        emo.mkdir(parents=True)
        (emo / f"{subj}_{seq}_{n:08d}_emotion.txt").write_text(f"   {float(code):.7e}\n")
        frames += n
    return {"videos": len(seqs), "frames": frames}


def test_evaluate_on_a_ckplus_layout(tmp_path, weights):
    exp = build_ckplus_large(tmp_path / "ck")
    videos = load_dataset("ckplus", tmp_path / "ck")
    report = ev.evaluate(
        videos, EngineConfig(weights=weights), tmp_path / "out", dataset={"name": "ckplus"}, progress=False, quiet=True
    )
    check_report(report, exp["frames"], exp["videos"], exp["videos"])
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == report
    for key in ("model", "baseline"):
        r = report[key]
        assert r["intervals_scored"] == 2
        assert r["frames_without_face"] < r["frames"] // 2  # real faces: the engine finds them
        assert r["intensity_frames_scored"] == exp["frames"]
        assert r["accuracy_at_onset_to_apex"] == r["accuracy_at"]  # CK+ sequences end at the apex
    assert (tmp_path / "out" / "on_the_fly.png").stat().st_size > 0


def test_evaluate_refuses_baseline_as_the_model(tmp_path):
    with pytest.raises(ValueError, match="recurrent"):
        ev.evaluate([], EngineConfig(model="baseline"), tmp_path)


# ----------------------------------------------------------------------------- errors


def test_cli_missing_dataset_folder_exits_2(tmp_path):
    proc = fer_ros("eval", "--dataset", "ckplus", tmp_path / "nope", "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stderr
    assert "no such folder" in proc.stderr and "CK+" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--dataset", "casme2"], "needs PATH"),
        (["--dataset", "generated", "somewhere"], "takes no PATH"),
        (["--dataset", "generated", "--videos", "0"], "--videos"),
        (["--dataset", "generated", "--limit", "0"], "--limit"),
        (["--dataset", "generated", "--model", "baseline"], "side by side"),
        (["--dataset", "generated", "--weights", "/nonexistent/m.safetensors"], "not found"),
    ],
)
def test_cli_eval_usage_errors_exit_2(args, words, tmp_path, caplog):
    assert main(["eval", *args, "--out", str(tmp_path / "out")]) == 2
    assert words in caplog.text
