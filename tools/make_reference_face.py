"""Write fer_ros/data/reference_face.npy: the 478 MediaPipe landmarks (x, y pixels) of a
training person's face, used to place AU displacement fields in the canonical face frame
when augmenting geometry features (fer_ros.learn.augment.AuFields).

    python tools/make_reference_face.py   # needs the fetched sample media
"""

from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine.landmarks import FaceLandmarker
from fer_ros.io.media import media_path

SOURCE = "single_face.jpg"  # a training identity (fer_ros.learn.synth.IDENTITY_SOURCES["train"])
OUT = Path(__file__).resolve().parents[1] / "fer_ros" / "data" / "reference_face.npy"

if __name__ == "__main__":
    img = cv2.imread(str(media_path(SOURCE)))
    lm = FaceLandmarker()
    try:
        faces = lm.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    finally:
        lm.close()
    face = max(faces, key=lambda f: f.box[2] * f.box[3])
    np.save(OUT, face.landmarks[:, :2].astype(np.float32))
    print(OUT, face.landmarks.shape)
