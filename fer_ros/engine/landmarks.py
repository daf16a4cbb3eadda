"""Face detection and 478-point landmarks with the models inside the mediapipe 0.10.21 wheel.

Finding a face (``detect`` + ``mesh_in_box``):
1. the full-range detector (``face_detection``, model_selection=1) finds far faces; it
   misses some close-ups that fill the frame, so the short-range detector runs too and
   its boxes that no full-range box overlaps are added. Measured on the sample media
   (``tools/detector_choice.py``): full range alone finds 176 of 183 faces, short range
   alone 181, both 183, so both run; with detection every few frames (front_end) they cost
   about 1 ms a frame. Frames are not downscaled for them: MediaPipe already resizes to
   its 128/192 px input, and a 320 px frame saved no time;
2. each detection is cut out as a square crop with margin, scaled so the face is large,
   and the face mesh (refined: 478 points incl. irises) runs on that crop. Landmarks
   are mapped back to image pixels. A detection whose crop yields no mesh is dropped,
   which also filters detector false positives.

Following a face (``track``): each tracked face owns a face-mesh graph in tracking mode,
fed a crop around the face's last landmarks. MediaPipe then takes the face's region from
its own previous landmarks and runs no detector at all (about a quarter of the cost of a
static mesh); when the face is lost inside the crop the graph re-detects there itself.
Graphs are pooled: a face that ends gives its graph back (reset) for the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

NUM_LANDMARKS = 478
MESH_CROP = 256  # crop side fed to the face mesh; the face spans about half of it
BLANK_CROP = np.zeros((MESH_CROP, MESH_CROP, 3), np.uint8)  # no face: warms a graph, or clears what it followed
CROP_MARGIN = 2.0  # crop side / detection box side
# Border added around an aligned face crop before the mesh, as a fraction of its side:
# measured on 300 FER2013 PublicTest faces, the mesh found 86% unpadded, 97% with 0.25.
ALIGNED_PAD = 0.25


@dataclass
class Face:
    """One face in one frame. Coordinates are image pixels."""

    box: np.ndarray  # (4,) float32: x, y, w, h of the landmarks' extent
    landmarks: np.ndarray | None  # (478, 3) float32: x, y in pixels, z scaled like x
    score: float  # detector confidence


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes given as (N, 4) and (M, 4) x, y, w, h."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _mesh_crop(rgb: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MESH_CROP square around a face box (the face spans 1 / CROP_MARGIN of it) and the
    affine map image -> crop: one warp crops, scales and pads (faces at the image border)."""
    x, y, bw, bh = box
    scale = MESH_CROP / (CROP_MARGIN * max(bw, bh))
    cx, cy = x + bw / 2, y + bh / 2
    m = np.array([[scale, 0, MESH_CROP / 2 - scale * cx], [0, scale, MESH_CROP / 2 - scale * cy]], np.float32)
    crop = cv2.warpAffine(rgb, m, (MESH_CROP, MESH_CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop, m


def _image_points(faces, m: np.ndarray) -> np.ndarray | None:
    """The first face of a mesh result (None or a list of NormalizedLandmarkList) in image pixels."""
    if not faces:
        return None
    scale = m[0, 0]
    pts = np.array([(p.x, p.y, p.z) for p in faces[0].landmark], np.float32)
    pts *= MESH_CROP
    pts[:, 0] = (pts[:, 0] - m[0, 2]) / scale
    pts[:, 1] = (pts[:, 1] - m[1, 2]) / scale
    pts[:, 2] /= scale
    return pts


def _followed(pts: np.ndarray | None) -> Face | None:
    return None if pts is None else Face(box=landmark_box(pts), landmarks=pts, score=1.0)


# ``SolutionBase.process`` split in its two halves, so that several graphs run at once
# (track_all). It is the wrapper's own code path, through its attributes: mediapipe is pinned
# to 0.10.21 (setup.py), and test_engine checks track_all against track.
LANDMARKS_STREAM = "multi_face_landmarks"


def _submit(graph, image: np.ndarray) -> None:
    """The first half of ``graph.process(image)``: the image into the graph (it runs on)."""
    graph._graph_outputs.clear()
    graph._simulated_timestamp += 33333  # as process(): a 30 Hz stream's timestamps
    stream = next(iter(graph._input_stream_type_info))
    kind = graph._input_stream_type_info[stream]
    graph._graph.add_packet_to_input_stream(
        stream=stream, packet=graph._make_packet(kind, image).at(graph._simulated_timestamp)
    )


def _collect(graph, stream: str):
    """The second half: wait for the graph, then ``stream``'s output (None when it gave none)."""
    graph._graph.wait_until_idle()
    packet = graph._graph_outputs.get(stream)
    return None if packet is None else graph._get_packet_content(graph._output_stream_type_info[stream], packet)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    lo = landmarks[:, :2].min(axis=0)
    hi = landmarks[:, :2].max(axis=0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], np.float32)


class FaceLandmarker:
    """Finds every face in an RGB frame and returns its box and 478 landmarks."""

    def __init__(self, max_faces: int = 8, min_detection_confidence: float = 0.5, min_mesh_confidence: float = 0.5):
        import mediapipe as mp  # heavy import, done once here

        self._mp = mp
        self._mesh_confidence = min_mesh_confidence
        self._tracking: dict[int, Any] = {}  # face key -> its tracking-mode face-mesh graph (mediapipe: untyped)
        self._spare: list[Any] = []  # graphs of faces that ended, cleared (release), ready for the next face
        self.max_faces = max_faces
        self._detectors = [
            mp.solutions.face_detection.FaceDetection(
                model_selection=sel, min_detection_confidence=min_detection_confidence
            )
            for sel in (1, 0)  # full range, then short range
        ]
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=min_mesh_confidence
        )

    def close(self) -> None:
        for det in self._detectors:
            det.close()
        self._mesh.close()
        for graph in list(self._tracking.values()) + self._spare:
            graph.close()
        self._tracking.clear()
        self._spare.clear()

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Full-range detector boxes (x, y, w, h pixels) with scores, best first."""
        h, w = rgb.shape[:2]
        boxes: list[tuple[np.ndarray, float]] = []
        for detector in self._detectors:
            found = []
            for det in detector.process(rgb).detections or []:
                rb = det.location_data.relative_bounding_box
                box = np.array([rb.xmin * w, rb.ymin * h, rb.width * w, rb.height * h], np.float32)
                if (
                    box[2] > 1
                    and box[3] > 1
                    and (not boxes or box_iou(box, np.stack([b for b, _ in boxes])).max() < 0.3)
                ):
                    found.append((box, float(det.score[0])))
            boxes += found
        boxes.sort(key=lambda b: -b[1])
        return boxes[: self.max_faces]

    def mesh_in_box(self, rgb: np.ndarray, box: np.ndarray, key: int | None = None) -> np.ndarray | None:
        """478 landmarks of the face inside ``box``, in image pixels, or None.

        ``key``: a face followed from frame to frame (its tracking-mode graph: see ``track``);
        None: a new face (the static graph, which detects inside the crop)."""
        crop, m = _mesh_crop(rgb, box)
        graph = self._mesh if key is None else self._graph(key)
        return _image_points(graph.process(crop).multi_face_landmarks, m)

    def _graph(self, key: int):
        """The tracking graph of face ``key`` (a spare one, or a new one, for a new face)."""
        if key not in self._tracking:
            self._tracking[key] = self._spare.pop() if self._spare else self._new_tracking_graph()
        return self._tracking[key]

    def _new_tracking_graph(self):
        return self._mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=self._mesh_confidence,
            min_tracking_confidence=self._mesh_confidence,
        )

    def warm_up(self) -> None:
        """Each graph's first run initialises its models (~30 ms; measured: 32 ms, then 4-7 ms):
        pay it now for the static mesh and for one tracking graph, kept spare for the first face."""
        if not self._spare:
            self._spare.append(self._new_tracking_graph())
        for graph in [self._mesh, *self._spare]:
            graph.process(BLANK_CROP)

    def track(self, rgb: np.ndarray, key: int, box: np.ndarray) -> Face | None:
        """The face ``key`` again, around its last box, without detection; None when it is gone."""
        return _followed(self.mesh_in_box(rgb, box, key))

    def track_all(self, rgb: np.ndarray, boxes: dict[int, np.ndarray]) -> list[Face | None]:
        """``track`` for every followed face (key -> last box), in ``boxes`` order, side by side:
        every face's crop goes into its graph before any result is read, so MediaPipe runs the
        graphs at once on its own threads. Measured on this 2-core CPU with 4 faces: 13 ms a
        frame, against 24 one after the other and 16 from two Python threads (which contend
        for the GIL in the solution wrapper's Python half)."""
        started = []
        for key, box in boxes.items():
            crop, m = _mesh_crop(rgb, box)
            graph = self._graph(key)
            _submit(graph, crop)
            started.append((graph, m))
        return [_followed(_image_points(_collect(graph, LANDMARKS_STREAM), m)) for graph, m in started]

    @property
    def live_graphs(self) -> int:
        """Tracking graphs held by followed faces (each holds MediaPipe's models and threads)."""
        return len(self._tracking)

    def release(self, key: int) -> None:
        """The face ``key`` ended: its graph is cleared and kept, warm, for the next face.

        A blank crop clears it: with no face to follow it keeps no landmarks, so the next face
        is detected in its crop as by a new graph (tested). ``reset()`` would do the same but
        restart the graph cold: 26 ms more on the next face's first frame."""
        graph = self._tracking.pop(key, None)
        if graph is not None:
            graph.process(BLANK_CROP)
            self._spare.append(graph)

    def process(self, rgb: np.ndarray, boxes: list[np.ndarray] | None = None) -> list[Face]:
        """All faces in an RGB uint8 frame (H, W, 3).

        ``boxes``: face boxes from the previous frame. When given, the detectors are
        skipped and the mesh runs around those boxes only (as MediaPipe's own tracking
        does); the caller re-detects every few frames to pick up new faces.
        """
        return self.mesh_detections(rgb, self.detect(rgb) if boxes is None else [(b, 1.0) for b in boxes])

    def mesh_detections(self, rgb: np.ndarray, found: list[tuple[np.ndarray, float]]) -> list[Face]:
        """The faces of detections ((box, score), best first) that yield a mesh (static graph)."""
        faces: list[Face] = []
        for box, score in found:
            pts = self.mesh_in_box(rgb, box)
            if pts is None:
                continue
            face = Face(box=landmark_box(pts), landmarks=pts, score=score)
            # Two detections of one face give two overlapping meshes: keep the first (best).
            if faces and box_iou(face.box, np.stack([f.box for f in faces])).max() > 0.5:
                continue
            faces.append(face)
        return faces

    def process_aligned(self, rgb: np.ndarray) -> Face:
        """The whole image is one face crop (e.g. a ROS 4 HRI /aligned topic): no detection.

        Landmarks come from the mesh when it finds the face, else None (appearance only).
        The crop is padded with mid-grey first: the mesh's own detector needs some context
        around a face and misses most faces that fill the frame.
        """
        h, w = rgb.shape[:2]
        pad = int(round(ALIGNED_PAD * max(h, w)))
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        result = self._mesh.process(padded)
        box = np.array([0, 0, w, h], np.float32)
        if not result.multi_face_landmarks:
            return Face(box=box, landmarks=None, score=0.0)
        ph, pw = padded.shape[:2]
        pts = np.array(
            [(p.x * pw - pad, p.y * ph - pad, p.z * pw) for p in result.multi_face_landmarks[0].landmark], np.float32
        )
        return Face(box=box, landmarks=pts, score=1.0)
