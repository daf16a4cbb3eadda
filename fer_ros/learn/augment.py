"""Training-time augmentation of feature sequences (fer_ros.learn.sequences.SequenceData).

Each function draws from the given ``numpy.random.Generator`` and returns new arrays; the
dataset in memory is never modified. Each is switched by its own probability in the
training config (``train:`` of config/train_default.yaml), so its effect can be measured by
turning it off (the model card's ablation).

- ``crop_and_resample``  seed 003: random start and length, frame-rate resampling.
- ``resting_look``       a person's resting look as a mode: one class's CNN logit raised
  for a whole sequence.
- ``amplify_motion``     every landmark movement of a sequence scaled up (real faces move
  more than the warps make MediaPipe measure).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fer_ros.engine.geometry import SHAPE_DIM, geometry_sequence
from fer_ros.model.classes import NUM_CLASSES


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
    constant CNN opinion through instead of reading it as an expression (the animated
    people rest mostly neutral)."""
    if not tcfg["p_logit_shift"] or rng.random() >= tcfg["p_logit_shift"]:
        return None
    shift = np.zeros(NUM_CLASSES)
    shift[rng.integers(NUM_CLASSES)] = rng.uniform(1.0, tcfg["logit_shift_max"])
    return shift


def amplify_motion(seq, rng: np.random.Generator, tcfg: dict):
    """With p_amplify, the shapes' movement away from the first frame is scaled by k, log k ~
    U(0, log amplify_max), and the running-neutral offsets recomputed; labels unchanged.

    Why: MediaPipe measures the generated expressions as small landmark movements
    (offset-from-neutral norm at the apex: median 0.8 on the train split), while real
    expressions on the sample clip move the same points about twice as far (median 1.4 over
    all its frames). Without this the geometry of a real face lies outside everything seen
    in training."""
    if not tcfg["p_amplify"] or rng.random() >= tcfg["p_amplify"] or not seq.detected.all():
        return seq
    k = float(np.exp(rng.uniform(0.0, np.log(tcfg["amplify_max"]))))
    shapes = seq.geometry[:, :SHAPE_DIM]
    return dataclasses.replace(seq, geometry=geometry_sequence(shapes[:1] + k * (shapes - shapes[:1])))
