"""Synthetic expression sequences from real face photos and video frames.

Public expression datasets cannot be downloaded here (see DESIGN.md, "Training data,
honestly"), so the default temporal model is trained on sequences generated from real
faces: a still face (a photo, or a neutral-looking video frame) is animated by
landmark-driven image warps that follow facial action units (AUs), along
neutral -> onset -> apex -> offset -> neutral intensity curves, with slow pose and
lighting drift ("modes"), noise and blur as nuisances. The generator knows every
frame's class, intensity and phase, and the exact expression intervals.

learn.warp makes each frame (action-unit landmark fields, piecewise-affine warp); this
module draws the intensity tracks and the modes: a slow similarity drift (rotation, scale,
translation: pose), slow brightness, contrast and gamma drift (illumination), sensor
noise and optional blur. learn.identities gives the base faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, PHASES

from .identities import Identity
from .intervals import Interval
from .warp import EXPRESSION_AUS, FRAME_SIZE, FaceGeometry, Warper


@dataclass
class Sequence:
    frames: np.ndarray  # (T, H, W, 3) BGR uint8
    label: np.ndarray  # (T,) int64, NEUTRAL outside expressions
    intensity: np.ndarray  # (T,) float32 in 0..1
    phase: np.ndarray  # (T,) int64, PHASES index
    intervals: list[Interval]
    identity: str
    person: str
    rest_label: int  # what the unanimated base shows (-1 unknown), see REST_RULE
    face_center: np.ndarray  # (T, 2) where the animated face's landmark centre is in each frame
    meta: dict = field(default_factory=dict)


@dataclass
class SynthConfig:
    frame_size: int = FRAME_SIZE
    min_len: int = 40
    max_len: int = 150
    p_micro: float = 0.25
    p_empty: float = 0.06  # a sequence with no expression at all (modes only)
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
    au_jitter: float = 0.25  # per-event random gain of each AU: 1 +- au_jitter
    rotation_deg: float = 7.0
    scale: float = 0.08
    shift: float = 0.05  # of the frame side
    brightness: float = 25.0
    contrast: float = 0.2
    gamma: float = 0.25
    noise: float = 4.0  # max noise std (grey levels)
    p_blur: float = 0.3


def _randint(rng, lohi) -> int:
    return int(rng.integers(lohi[0], lohi[1] + 1))


def _ease(x: np.ndarray, power: float) -> np.ndarray:
    s = x * x * (3 - 2 * x)  # smoothstep
    return np.clip(s, 0, 1) ** power


def intensity_track(length: int, rng: np.random.Generator, cfg: SynthConfig | None = None, classes=None):
    """Per-frame (label, intensity, phase) and the interval list of one sequence."""
    cfg = cfg or SynthConfig()
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
        inten[a0 : a1 + 1] = peak
        k = np.arange(a1 + 1, f + 1)
        inten[k] = peak * _ease(1 - (k - a1) / (off + 1), fall_pow)
        label[o : f + 1] = cls
        phase[o:a0] = PHASES.index("onset")
        phase[a0 : a1 + 1] = PHASES.index("apex")
        phase[a1 + 1 : f + 1] = PHASES.index("offset")
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


def generate_sequence(
    identity: Identity,
    rng: np.random.Generator,
    length: int | None = None,
    cfg: SynthConfig | None = None,
    classes=None,
    modes: bool = True,
    warper: Warper | None = None,
    geometry: FaceGeometry | None = None,
) -> Sequence:
    """One animated sequence of ``identity`` (frames + exact per-frame ground truth)."""
    cfg = cfg or SynthConfig()
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
        event_of[iv.onset : iv.offset + 1] = k

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
        rot = np.zeros(length)
        scl = np.ones(length)
        tx = np.zeros(length)
        ty = np.zeros(length)  # noqa: E702
        bright = np.zeros(length)
        contrast = np.ones(length)
        gamma = np.ones(length)  # noqa: E702
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
    return Sequence(
        frames,
        label,
        inten,
        phase,
        intervals,
        identity.name,
        identity.person,
        int(identity.rest_label),
        face_center,
        meta,
    )


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
        assert (seq.phase[iv.onset : iv.apex] == PHASES.index("onset")).all()
        assert (seq.phase[iv.apex : iv.apex_end + 1] == PHASES.index("apex")).all()
        assert (seq.phase[iv.apex_end + 1 : iv.offset + 1] == PHASES.index("offset")).all()
        assert (seq.intensity[sl] > 0).all()
        assert np.isclose(seq.intensity[iv.apex : iv.apex_end + 1], iv.peak, atol=1e-4).all()
        assert seq.intensity[sl].max() <= iv.peak + 1e-4
    assert (seq.intensity[~inside] == 0).all()
    assert (seq.label[~inside] == NEUTRAL).all()
    assert (seq.phase[~inside] == PHASES.index("neutral")).all()
