"""One face front end, shown: the training code's own evaluation of a backbone vs the product CLI.

    .venv/bin/python tools/front_end_parity.py FER2013 [--split PrivateTest] [--weights BACKBONE]

prints the accuracy of the frame-wise CNN on one FER2013 split measured two ways:
1. as training measures it: learn.stills.cached_crops (the front end) + learn.train_backbone.predict;
2. as a user measures it: `fer-ros video DIR --stills --aligned --model baseline` on the split's
   images (a folder of links, the augmented copies left out), labels read back from
   frames.jsonl against each image's class folder.
The two must agree (issue: within 0.3 points); they read the same crops through the same code.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from fer_ros.learn.datasets.fer2013 import read_fer2013
from fer_ros.learn.stills import cached_crops
from fer_ros.learn.train_backbone import predict
from fer_ros.model.backbone import load_backbone
from fer_ros.model.classes import CLASS_NAMES


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("fer2013", help="the Kaggle folder layout (train/ validation/ test/)")
    p.add_argument("--split", default="PrivateTest")
    p.add_argument("--weights", help="backbone file (default: the shipped one)")
    a = p.parse_args()
    cnn = load_backbone(a.weights)
    stills = read_fer2013(a.fer2013, a.split)
    crops = cached_crops(stills.images, stills.labels, cnn.crop_size, cnn.equalize, progress=True)
    train_acc = float((predict(cnn, crops.crops).argmax(1) == stills.labels).mean())

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        for name in stills.names:  # "<split dir>/<class>/<file>": keep the class folder
            link = folder / Path(name).parent.name / Path(name).name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(a.fer2013).resolve() / name)
        out = Path(tmp) / "out"
        cmd = [
            str(Path(sys.executable).parent / "fer-ros"),
            "video",
            str(folder),
            "--stills",
            "--aligned",
            "--model",
            "baseline",
            "--out",
            str(out),
            "-q",
        ] + (["--weights", a.weights] if a.weights else [])
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        rows = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    truth = np.array([CLASS_NAMES.index(Path(r["file"]).parent.name) for r in rows])
    pred = np.array([CLASS_NAMES.index(r["faces"][0]["label"]) if r["faces"] else -1 for r in rows])
    cli_acc = float((truth == pred).mean())
    print(f"FER2013 {a.split}: {len(stills)} faces")
    print(f"  training code (cached front-end crops + predict): {100 * train_acc:.2f}%")
    print(f"  fer-ros video --stills --aligned --model baseline: {100 * cli_acc:.2f}% ({len(rows)} images)")
    print(f"  difference: {100 * abs(train_acc - cli_acc):.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
