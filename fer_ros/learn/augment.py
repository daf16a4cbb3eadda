"""Training-time augmentation of feature sequences (fer_ros.learn.sequences.SequenceData).

Each function draws from the given ``numpy.random.Generator`` and returns new arrays;
the dataset in memory is never modified. Every one is switched by its own probability
in the training config (``train:`` section of config/train_default.yaml), so its effect
can be measured by turning it off.

- ``crop_and_resample``  seed 003: random start and length, frame-rate resampling.
- ``reverse_offsets``    seed 003: an expression's offset phase played backwards becomes
  its onset (a fall from apex to neutral, reversed, is a rise). The geometry offsets are
  recomputed from the reordered shapes with the streaming RunningNeutral, so the result
  is exactly what the engine would compute on frames in that order.
- ``resting_look``       a person's resting look as a mode: one class's CNN logit raised
  for a whole sequence.
- ``cnn_response``       the appearance CNN reacting to an animated expression as it
  does to a real one (see its docstring for why).
- ``amplify_motion``     every landmark movement of a sequence scaled up (real faces move
  more than the warps make MediaPipe measure).
- ``distractor_motion``  facial movement that is no expression: random action units that
  match no class's pattern, added to the landmarks of a still stretch (labels unchanged).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fer_ros.engine.geometry import EXPRESSIVE_POINTS, SHAPE_DIM, geometry_sequence
from fer_ros.learn import DATA_DIR
from fer_ros.model.classes import NEUTRAL, NUM_CLASSES, PHASES

ONSET = PHASES.index("onset")
# 478 MediaPipe landmarks of a training person (tools/make_reference_face.py): where the AU
# fields of fer_ros.learn.synth are placed to move geometry features directly.
REFERENCE_FACE = DATA_DIR / "reference_face.npy"


def crop_and_resample(n: int, rng: np.random.Generator, tcfg: dict) -> np.ndarray:
    """Frame indices: a random crop (start, length) and frame-rate resampling by an index stride."""
    stride = 1.0
    if rng.random() < tcfg["p_resample"]:
        stride = float(rng.uniform(tcfg["stride_min"], tcfg["stride_max"]))
    start, stop = 0, n
    if rng.random() < tcfg["p_crop"] and n > tcfg["crop_min"]:
        length = int(rng.integers(tcfg["crop_min"], n + 1))
        start = int(rng.integers(0, n - length + 1))
        stop = start + length
    idx = np.floor(np.arange(start, stop, stride)).astype(np.int64)
    return idx[idx < stop]


def resting_look(rng: np.random.Generator, tcfg: dict) -> np.ndarray | None:
    """With p_logit_shift, one random class's CNN logit is raised by U(1, logit_shift_max)
    for a whole sequence (and so is its rest target), so the model learns to pass a
    constant CNN opinion through instead of reading it as an expression (the training
    people rest only neutral or smiling)."""
    if not tcfg.get("p_logit_shift") or rng.random() >= tcfg["p_logit_shift"]:
        return None
    shift = np.zeros(NUM_CLASSES)
    shift[rng.integers(NUM_CLASSES)] = rng.uniform(1.0, tcfg["logit_shift_max"])
    return shift


def _relative_curve(intensity: np.ndarray, onset: int, offset: int, peak: float) -> np.ndarray:
    return np.clip(intensity[onset:offset + 1] / max(float(peak), 1e-6), 0, 1)


def reverse_offsets(seq, rng: np.random.Generator, p: float):
    """Each expression with probability p: its onset frames are replaced by its offset
    frames in reverse order (apex -> neutral, reversed: neutral -> apex). The sequence
    length changes by (offset length - onset length); later intervals move with it.

    Appearance, labels and intensity follow their frames; the phase of the reversed frames
    is onset. The geometry's offset-from-neutral half is recomputed over the whole new
    order with the streaming RunningNeutral (geometry.geometry_sequence), so it stays
    causal. Sequences with undetected frames are left as they are (their geometry rows
    are zeros, not shapes). Returns ``seq`` itself when nothing was reversed."""
    if p <= 0 or len(seq.intervals) == 0 or not seq.detected.all():
        return seq
    order = np.arange(len(seq))
    phase = seq.phase.copy()
    intervals = seq.intervals.astype(np.float64).copy()
    shift = 0  # how far later intervals moved
    pieces, phases, cursor = [], [], 0
    new_iv = []
    for row in intervals:
        onset, apex, apex_end, offset = (int(x) for x in row[:4])
        row = row.copy()
        row[:4] += shift
        if rng.random() < p and offset > apex_end and apex > onset:
            falling = order[apex_end + 1:offset + 1][::-1]  # offset frames, reversed: a rise
            pieces += [order[cursor:onset], falling]
            phases += [phase[cursor:onset], np.full(len(falling), ONSET)]
            cursor = apex
            delta = len(falling) - (apex - onset)
            row[1:4] += delta
            shift += delta
        new_iv.append(row)
    if cursor == 0:
        return seq
    pieces.append(order[cursor:])
    phases.append(phase[cursor:])
    idx = np.concatenate(pieces)
    shapes = seq.geometry[idx, :SHAPE_DIM]
    return dataclasses.replace(
        seq, appearance=seq.appearance[idx], geometry=geometry_sequence(shapes), label=seq.label[idx],
        intensity=seq.intensity[idx], phase=np.concatenate(phases).astype(seq.phase.dtype),
        detected=seq.detected[idx], intervals=np.asarray(new_iv, seq.intervals.dtype),
        crops=None if seq.crops is None else seq.crops[idx])


def cnn_response(seq, rng: np.random.Generator, tcfg: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The appearance CNN reacting to an animated expression -> (logit offsets (T, C) or
    None, per-frame labels (T,) or None when unchanged).

    Why: the warps move landmarks but barely change what the FER2013 CNN sees, so on
    generated data alone the CNN looks blind to every expression and a model learns to
    overrule it. On real faces the CNN does react, and is usually right (its frame
    accuracy on the real held-out clip is 0.90). So with probability p_cnn_response an
    expression also raises one class's CNN logit by g * (its relative intensity),
    g ~ U(cnn_response_min, cnn_response_max):
      - its own class (agreement), or
      - with probability p_cnn_conflict another expression class, which then becomes the
        label of the expression's frames: a confident appearance change outranks a
        geometry change, since the geometry comes from approximate AU templates.
    The rest of the sequence is untouched; the dense labels still follow the intensity.
    """
    p = tcfg.get("p_cnn_response", 0.0)
    if not p or len(seq.intervals) == 0:
        return None, None
    add = np.zeros((len(seq), NUM_CLASSES), np.float32)
    label = None
    for onset, _apex, _apex_end, offset, cls, peak, _micro in seq.intervals:
        if rng.random() >= p:
            continue
        onset, offset, cls = int(onset), int(offset), int(cls)
        target = cls
        if rng.random() < tcfg.get("p_cnn_conflict", 0.0):
            others = [c for c in range(NUM_CLASSES) if c not in (NEUTRAL, cls)]
            target = int(rng.choice(others))
            label = seq.label.copy() if label is None else label
            label[onset:offset + 1] = target
        g = rng.uniform(tcfg["cnn_response_min"], tcfg["cnn_response_max"])
        add[onset:offset + 1, target] += g * _relative_curve(seq.intensity, onset, offset, peak)
    if not add.any():
        return None, None
    return add, label


class AuFields:
    """Unit displacement of the geometry's expressive points for each action unit of the
    generator (fer_ros.learn.synth.FaceGeometry), in the canonical frame: the units of the shape
    half of the geometry feature, so a field can be added to it directly."""

    def __init__(self, landmarks: np.ndarray | None = None):
        from .synth import EXPRESSION_AUS, FaceGeometry

        lm = np.load(REFERENCE_FACE, allow_pickle=False) if landmarks is None else landmarks
        face = FaceGeometry(lm)
        self.names = sorted({au for aus in EXPRESSION_AUS.values() for au in aus})
        self.fields = {au: face.au(au)[list(EXPRESSIVE_POINTS)].ravel().astype(np.float32) for au in self.names}
        self.patterns = [frozenset(aus) for aus in EXPRESSION_AUS.values()]


def _quiet_runs(intensity: np.ndarray, margin: int = 3) -> list[tuple[int, int]]:
    """(start, stop) of the stretches at least `margin` frames away from every expression."""
    busy = np.convolve((intensity > 0).astype(float), np.ones(2 * margin + 1), "same") > 0
    runs, start = [], None
    for t, b in enumerate(np.append(busy, True)):
        if not b and start is None:
            start = t
        elif b and start is not None:
            runs.append((start, t))
            start = None
    return runs


def distractor_motion(seq, rng: np.random.Generator, tcfg: dict, au: AuFields | None):
    """With p_distractor, one or two movements that are no expression: 1-3 random action
    units whose set is no class's pattern (fer_ros.learn.synth.EXPRESSION_AUS), gains U(0.4, 1.2),
    along a smooth bump of 8-40 frames peaking at U(0.5, 1), added to the shape half of the
    geometry in a stretch without expression; the offsets from the running neutral are
    recomputed as streaming would. Labels stay (rest, no activity).

    Why: the synthetic expressions are the only movements a face makes in the generated
    data, so a model learns that any landmark movement is an expression, and reads real
    movement (talking, sobbing, a head turn) as one."""
    p = tcfg.get("p_distractor", 0.0)
    if au is None or not p or rng.random() >= p or not seq.detected.all():
        return seq
    shapes = seq.geometry[:, :SHAPE_DIM].copy()
    moved = False
    for _ in range(1 + int(rng.random() < 0.5)):
        runs = [(a, b) for a, b in _quiet_runs(seq.intensity) if b - a >= 8]
        if not runs:
            break
        a, b = runs[int(rng.integers(len(runs)))]
        length = int(rng.integers(8, min(40, b - a) + 1))
        start = int(rng.integers(a, b - length + 1))
        while True:
            names = rng.choice(au.names, size=int(rng.integers(1, 4)), replace=False)
            if frozenset(names) not in au.patterns:
                break
        disp = sum(rng.uniform(0.4, 1.2) * au.fields[n] for n in names)
        bump = np.sin(np.pi * np.arange(length) / (length - 1)) ** 2 * rng.uniform(0.5, 1.0)
        shapes[start:start + length] += bump[:, None] * disp[None]
        moved = True
    if not moved:
        return seq
    return dataclasses.replace(seq, geometry=geometry_sequence(shapes))


def amplify_motion(seq, rng: np.random.Generator, tcfg: dict):
    """With p_amplify, the shapes' movement away from the first frame is scaled by k, log k ~
    U(0, log amplify_max), and the running-neutral offsets recomputed; labels unchanged.

    Why: MediaPipe measures the generated expressions as small landmark movements
    (offset-from-neutral norm at the apex: median 0.8 on the train split), while real
    expressions on the sample clip move the same points about twice as far (median 1.4 over
    all its frames). Without this the geometry of a real face lies outside everything seen
    in training."""
    p = tcfg.get("p_amplify", 0.0)
    if not p or rng.random() >= p or not seq.detected.all():
        return seq
    k = float(np.exp(rng.uniform(0.0, np.log(tcfg["amplify_max"]))))
    shapes = seq.geometry[:, :SHAPE_DIM]
    return dataclasses.replace(seq, geometry=geometry_sequence(shapes[:1] + k * (shapes - shapes[:1])))
