"""Expression warps of a real face: action-unit landmark fields and the image warp.

How a frame is made (learn.synth drives it)
-------------------------------------------
1. Base: the face's 478 MediaPipe landmarks on the base image (learn.identities).
2. Expression: per AU a displacement of every landmark, defined in the canonical face
   frame (align.to_canonical: unit face, eyes at y~0.40, nose tip at y~0.62) as smooth
   Gaussian fields around "handle" landmarks, restricted to a face region (brows,
   upper eye, cheeks, upper lip side, lower face ...). A class is a weighted AU set
   (EXPRESSION_AUS); the per-frame displacement is intensity(t) x the sum, mapped to
   pixels with the inverse of the canonical transform's linear part (``FaceGeometry``).
3. Warp: piecewise-affine over a Delaunay triangulation of the *displaced* landmarks plus
   zero-displacement anchors (a ring around the face and the image border): the
   backward displacement is interpolated linearly inside each triangle on a grid at a
   quarter of the resolution (scipy LinearNDInterpolator), upsampled, and applied with
   one cv2.remap. A mouth that opens (jaw drop) gets its new inner-lip area shaded dark
   (``Warper``).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator

from fer_ros.engine.align import to_canonical

FRAME_SIZE = 384  # side of generated frames (px)
FACE_FRACTION = 0.5  # face (landmark box) side / frame side in the base image
GRID_STEP = 4  # the warp field is interpolated every GRID_STEP px, then upsampled

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
        self.canon_to_px = np.linalg.inv(m[:, :2])  # linear part: canonical -> pixel displacement
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
        w = np.exp(-((c[:, None, :] - h[None]) ** 2).sum(-1) / (2 * sigma**2))  # (478, H)
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
        for (a, b), _lid in zip(EYE_CORNERS, UPPER_LID):
            corner_y = max(self.c[a, 1], self.c[b, 1])
            lo, hi = sorted((self.c[a, 0], self.c[b, 0]))
            inside = (self.c[:, 0] > lo - 0.02) & (self.c[:, 0] < hi + 0.02)
            out = np.maximum(
                out, (inside & (self.c[:, 1] < corner_y - 0.003) & (self.c[:, 1] > self.lid_y - 0.05)).astype(float)
            )
        return out[:, None]

    def _lower_eye_mask(self):
        out = np.zeros(len(self.c))
        for a, b in EYE_CORNERS:
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
        w = upper * np.clip(1.0 - 0.7 * dx**2, 0, 1)
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
        border = np.array(
            [[x, y] for x in np.linspace(-1, w, 5) for y in np.linspace(-1, h, 5) if x in (-1, w) or y in (-1, h)]
        )
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
        up = cv2.resize(field, ((gw - 1) * self.step + 1, (gh - 1) * self.step + 1), interpolation=cv2.INTER_LINEAR)[
            : y1 - y0, : x1 - x0
        ]
        return self.base_map + up

    def warp(self, disp: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        """The base (or ``image``, same geometry) with landmarks moved by ``disp`` (478, 2) px."""
        src = self.image if image is None else image
        out = src.copy()
        if not np.any(np.abs(disp) > 0.05):
            return out
        m = self.backward_map(disp)
        x0, y0, x1, y1 = self.roi
        out[y0:y1, x0:x1] = cv2.remap(src, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
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
