"""`fer-ros eval --dataset fer2013 PATH`: labelled stills through the engine, recurrent and baseline.

Each still goes through exactly what ``fer-ros video DIR --stills --aligned`` does with it:
an ``Engine`` with ``aligned=True``, reset before the still (a new face, zero state), one
``process`` call at stamp 0; its label is the face's top class. Both models see the same
images. Figures (learn.metrics.classification_report): accuracy, UAR (mean per-class
recall), macro-F1, per-class recall / precision / F1 and the confusion matrix. Writes
``report.json`` (``{"model": ..., "baseline": ..., "dataset": ...}``) and ``confusion.png``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.plots import plot_confusions
from fer_ros.model.classes import CLASS_NAMES

from . import metrics
from .datasets.fer2013 import Stills

KEYS = (("model", "recurrent (MV-LSTM)"), ("baseline", "frame-wise CNN"))


def still_labels(engine: Engine, images: np.ndarray, progress: bool = False, desc: str = "") -> np.ndarray:
    """The engine's label (CLASS_NAMES index) of every still, each a fresh face."""
    from tqdm import tqdm

    out = np.zeros(len(images), np.int64)
    for i, image in enumerate(tqdm(images, disable=not progress, unit="face", desc=desc)):
        engine.reset()
        faces = engine.process(image, 0.0).faces
        out[i] = CLASS_NAMES.index(faces[0].label) if faces else -1
    engine.finish()
    return out


def evaluate_stills(
    stills: Stills, engine_cfg: EngineConfig, out_dir, dataset: dict | None = None, progress: bool = True
) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "dataset": {**(dataset or {}), "split": stills.split, "images": len(stills), "counts": stills.counts()}
    }
    for key, _ in KEYS:
        cfg = dataclasses.replace(engine_cfg, model="recurrent" if key == "model" else "baseline", aligned=True)
        t0 = time.perf_counter()
        with Engine(cfg) as engine:
            pred = still_labels(engine, stills.images, progress, key)
            described = engine.describe()
        rep = metrics.classification_report(stills.labels, np.where(pred < 0, 0, pred))
        report[key] = {
            **rep,
            **described,
            "no_face": int((pred < 0).sum()),
            "seconds": time.perf_counter() - t0,
            "predicted": pred.tolist(),
        }
    with open(out_dir / "report.json", "w") as f:
        json.dump(report, f, indent=1)
    plot_confusions(
        [
            (
                f"{title}: accuracy {100 * report[key]['accuracy']:.2f}%, UAR {100 * report[key]['uar']:.2f}%",
                np.array(report[key]["confusion"]),
            )
            for key, title in KEYS
        ],
        out_dir / "confusion.png",
        ylabel=f"true class (FER2013 {stills.split})",
    )
    return report


def format_table(report: dict) -> str:
    m, b = report["model"], report["baseline"]
    d = report["dataset"]
    lines = [
        f"FER2013 {d['split']}: {d['images']} faces through the engine (aligned stills)",
        f"{'':24s}{'recurrent':>12s}{'baseline':>12s}",
    ]
    for name, key in (("accuracy", "accuracy"), ("UAR", "uar"), ("macro-F1", "macro_f1")):
        lines.append(f"{name:24s}{100 * m[key]:11.2f}%{100 * b[key]:11.2f}%")
    for i, c in enumerate(CLASS_NAMES):
        lines.append(f"{'recall ' + c:24s}{100 * m['recall'][i]:11.2f}%{100 * b['recall'][i]:11.2f}%")
    return "\n".join(lines)
