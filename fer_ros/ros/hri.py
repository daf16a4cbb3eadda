"""ROS4HRI (REP 155) output: /humans/faces/tracked and per-face roi, expression (and aligned).

The mapping from the engine's results to hri_msgs fields is written out here, once:

- Face ids: ROS4HRI ids are short strings that begin topic names. Ours are ``<prefix><n>``,
  ``n`` the fer_msgs ``face_id`` zero-padded to 3 digits (``kq007``): unique across the
  cameras of a node (the engines share one id counter), never reused while it runs, and
  the prefix (two random letters per configure unless ``ros4hri_id_prefix`` sets it) keeps
  two nodes, or two runs, from handing out the same id. fer_msgs carries it as ``hri_id``.
- ``expression``: our 7 classes on REP 155's constants (EXPRESSIONS below); ``confidence``
  is that class's score, in [0, 1].
- ``valence``, ``arousal``: the score-weighted mean of each class's place on Russell's
  circumplex of affect (CIRCUMPLEX below). A convex combination of points in [-1, 1]^2
  stays in it; a neutral face sits at the origin.
- ``roi``: the face box over the image size, clipped to [0, 1]; ``c`` = 1.0 (the engine
  keeps only faces that passed its detector threshold and does not expose the score).

Per-face publishers are created when a face first appears and destroyed when its id ends
(the engine stops tracking it, the camera goes silent, the node deactivates), so a long
run holds publishers for the faces of the moment only. ``tracked`` lists the faces in
view in the latest frame of every camera, stamped with the stamp of the frame that
updated it (published with every processed frame). All of it runs on the node's worker thread.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable

import numpy as np

from fer_ros.engine import FaceResult
from fer_ros.model.classes import CLASS_NAMES

from .outputs import publisher

FACES_NS = "/humans/faces"
TRACKED_TOPIC = f"{FACES_NS}/tracked"
# Our class -> hri_msgs/Expression constant (the string values of NEUTRAL, ANGRY, DISGUSTED,
# SCARED, HAPPY, SAD, SURPRISED).
EXPRESSIONS = {
    "neutral": "neutral",
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "scared",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
}
# (valence, arousal) of each class: approximate places of these emotions on Russell's circumplex
# of affect (Russell 1980: valence = pleasure, arousal = activation), one decimal. A convention for
# planners, not a measurement: anger, fear and disgust unpleasant and activated, sadness
# unpleasant and calm, happiness pleasant and mildly activated, surprise activated and mildly
# pleasant, neutral at the origin.
CIRCUMPLEX = {
    "neutral": (0.0, 0.0),
    "angry": (-0.5, 0.7),
    "disgust": (-0.6, 0.4),
    "fear": (-0.6, 0.6),
    "happy": (0.8, 0.5),
    "sad": (-0.6, -0.3),
    "surprise": (0.4, 0.7),
}
_VA = np.array([CIRCUMPLEX[c] for c in CLASS_NAMES], np.float64)  # (7, 2) in CLASS_NAMES order
ID_DIGITS = 3  # zero-padding of the numeric part: 5-character ids with the 2-letter prefix


def random_prefix(rng: random.Random | None = None) -> str:
    """Two random lowercase letters: a fresh id space per configure."""
    rng = rng or random.SystemRandom()
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(2))


def hri_id(prefix: str, face_id: int) -> str:
    return f"{prefix}{int(face_id):0{ID_DIGITS}d}"


def valence_arousal(scores) -> tuple[float, float]:
    """Score-weighted circumplex position, each in [-1, 1]."""
    p = np.clip(np.asarray(scores, np.float64), 0.0, None)
    total = p.sum()
    if not total > 0:
        return 0.0, 0.0
    v, a = (p / total) @ _VA
    return float(np.clip(v, -1.0, 1.0)), float(np.clip(a, -1.0, 1.0))


def expression_fields(face: FaceResult) -> dict:
    """hri_msgs/Expression fields (no header) for one face."""
    valence, arousal = valence_arousal(face.scores)
    return {
        "expression": EXPRESSIONS[face.label],
        "valence": valence,
        "arousal": arousal,
        "confidence": float(np.clip(face.confidence, 0.0, 1.0)),
    }


def roi_fields(box, size: tuple[int, int]) -> dict:
    """hri_msgs/NormalizedRegionOfInterest2D fields (no header): x, y, w, h pixels over (width, height)."""
    width, height = float(size[0]), float(size[1])
    x, y, w, h = (float(v) for v in box)
    clip = lambda v: float(min(max(v, 0.0), 1.0))  # noqa: E731
    return {
        "xmin": clip(x / width),
        "ymin": clip(y / height),
        "xmax": clip((x + w) / width),
        "ymax": clip((y + h) / height),
        "c": 1.0,
    }


class HriFaces:
    """The ROS4HRI publishers of one node. ``node``: an rclpy node; ``aligned``: publish crops too;
    ``tracked``: publish /humans/faces/tracked and per-face roi (off when the ids are a detector's,
    whose node publishes them)."""

    def __init__(self, node, aligned: bool = False, tracked: bool = True):
        from rclpy.qos import QoSProfile
        from sensor_msgs.msg import Image

        from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D

        self._node, self._aligned, self._with_tracked = node, aligned, tracked
        self._types = (Expression, IdsList, NormalizedRegionOfInterest2D, Image)
        self._qos = QoSProfile(depth=1)  # latest value per face, as ROS4HRI detectors publish
        self._pubs: dict[str, dict] = {}  # hri id -> {"roi": pub, "expression": pub, "aligned": pub}
        self._in_view: dict[str, list[str]] = {}  # source -> hri ids in its latest frame
        self.tracked_pub = publisher(node, IdsList, TRACKED_TOPIC, self._qos) if tracked else None

    @property
    def live_ids(self) -> set[str]:
        """Ids that have publishers now."""
        return set(self._pubs)

    def _face_pubs(self, fid: str) -> dict:
        pubs = self._pubs.get(fid)
        if pubs is None:
            Expression, _, Roi, Image = self._types
            ns = f"{FACES_NS}/{fid}"
            pubs = {"expression": publisher(self._node, Expression, f"{ns}/expression", self._qos)}
            if self._with_tracked:
                pubs["roi"] = publisher(self._node, Roi, f"{ns}/roi", self._qos)
            if self._aligned:
                pubs["aligned"] = publisher(self._node, Image, f"{ns}/aligned", self._qos)
            self._pubs[fid] = pubs
        return pubs

    def frame(self, source: str, header, size, faces: list[tuple[str, FaceResult]], crops=None) -> None:
        """One processed frame of ``source``: roi, expression (and aligned) of each face in view,
        then the tracked list. ``faces``: (hri id, result) pairs;
        ``crops``: the aligned crops in the same order (grey uint8), with ``aligned``."""
        Expression, _, Roi, Image = self._types
        for k, (fid, face) in enumerate(faces):
            pubs = self._face_pubs(fid)
            pubs["expression"].publish(Expression(header=header, **expression_fields(face)))
            if "roi" in pubs and size is not None:
                pubs["roi"].publish(Roi(header=header, **roi_fields(face.box, size)))
            if "aligned" in pubs and crops is not None and k < len(crops):
                crop = np.ascontiguousarray(crops[k], np.uint8)
                pubs["aligned"].publish(
                    Image(
                        header=header,
                        height=crop.shape[0],
                        width=crop.shape[1],
                        encoding="mono8",
                        step=crop.shape[1],
                        data=crop.tobytes(),
                    )
                )
        self._in_view[source] = [fid for fid, _ in faces]
        self._publish_tracked(header)

    def end(self, ended: Iterable[str], header=None, source: str | None = None) -> None:
        """Ids that ended (no longer tracked): their publishers go. ``source`` given: that source
        has no faces in view any more (silent, reset, gone)."""
        for fid in ended:
            pubs = self._pubs.pop(fid, None)
            for pub in (pubs or {}).values():
                self._node.destroy_publisher(pub)
        if source is not None:
            self._in_view.pop(source, None)
            if header is not None:
                self._publish_tracked(header)

    def _publish_tracked(self, header) -> None:
        if self.tracked_pub is None:
            return
        ids = sorted({fid for ids in self._in_view.values() for fid in ids})
        _, IdsList, _, _ = self._types
        self.tracked_pub.publish(IdsList(header=header, ids=ids))

    def close(self) -> None:
        """Destroy every publisher (deactivate / cleanup)."""
        self.end(list(self._pubs))
        self._in_view.clear()
        if self.tracked_pub is not None:
            self._node.destroy_publisher(self.tracked_pub)
            self.tracked_pub = None
