"""Training augmentations (fer_ros.learn.augment) on hand-built sequences with known frames."""

from __future__ import annotations

import numpy as np

from fer_ros.engine.geometry import SHAPE_DIM, geometry_sequence
from fer_ros.learn import augment
from fer_ros.learn import sequences as ds
from fer_ros.learn import train as tr
from fer_ros.model.classes import CLASS_NAMES, NUM_CLASSES, PHASES

HAPPY = CLASS_NAMES.index("happy")


def _sequence(T=40, onset=5, apex=10, apex_end=14, offset=26, cls=HAPPY, peak=0.8):
    """One expression: linear rise onset..apex, hold, linear fall apex_end..offset."""
    inten = np.zeros(T, np.float32)
    inten[onset : apex + 1] = np.linspace(0, peak, apex - onset + 1)
    inten[apex : apex_end + 1] = peak
    inten[apex_end : offset + 1] = np.linspace(peak, 0, offset - apex_end + 1)
    phase = np.zeros(T, np.int64)
    phase[onset:apex] = PHASES.index("onset")
    phase[apex : apex_end + 1] = PHASES.index("apex")
    phase[apex_end + 1 : offset + 1] = PHASES.index("offset")
    label = np.where((np.arange(T) >= onset) & (np.arange(T) <= offset), cls, 0)
    rng = np.random.default_rng(1)
    shapes = rng.normal(0, 0.05, (T, SHAPE_DIM)).astype(np.float32)
    shapes[:, 0] += inten  # the shape moves with the expression
    iv = np.array([[onset, apex, apex_end, offset, cls, peak, 0.0]])
    return ds.SequenceData(
        np.zeros((T, 16, 16), np.uint8),
        geometry_sequence(shapes),
        label,
        inten,
        phase,
        np.ones(T, bool),
        0,
        iv,
        "id",
        "person",
    )


def test_crop_and_resample_stays_in_range_and_ordered():
    rng = np.random.default_rng(0)
    tcfg = dict(tr.DEFAULTS["train"], p_crop=1.0, p_resample=1.0, crop_min=10)
    lengths = set()
    for _ in range(50):
        idx = augment.crop_and_resample(100, rng, tcfg)
        assert len(idx) >= 6 and idx.min() >= 0 and idx.max() < 100
        assert np.all(np.diff(idx) >= 0)
        lengths.add(len(idx))
    assert len(lengths) > 10  # really random


def test_resting_look_raises_one_class_for_the_whole_sequence():
    rng = np.random.default_rng(0)
    tcfg = {"p_logit_shift": 1.0, "logit_shift_max": 6.0}
    shifts = [augment.resting_look(rng, tcfg) for _ in range(200)]
    assert all(s.shape == (NUM_CLASSES,) and (s > 0).sum() == 1 and 1.0 <= s.max() <= 6.0 for s in shifts)
    assert {int(s.argmax()) for s in shifts} == set(range(NUM_CLASSES))
    assert augment.resting_look(rng, {"p_logit_shift": 0.0, "logit_shift_max": 6.0}) is None


def test_amplify_motion_scales_movement_from_the_first_frame():
    seq = _sequence()
    out = augment.amplify_motion(seq, np.random.default_rng(0), {"p_amplify": 1.0, "amplify_max": 3.0})
    assert out is not seq
    move, move0 = (
        out.geometry[:, :SHAPE_DIM] - out.geometry[:1, :SHAPE_DIM],
        seq.geometry[:, :SHAPE_DIM] - seq.geometry[:1, :SHAPE_DIM],
    )
    k = np.linalg.norm(move) / np.linalg.norm(move0)
    assert 1.0 < k <= 3.0 and np.allclose(move, k * move0, atol=1e-5)
    assert np.allclose(out.geometry, geometry_sequence(out.geometry[:, :SHAPE_DIM]))
    assert np.array_equal(out.label, seq.label) and np.array_equal(out.intensity, seq.intensity)
    assert augment.amplify_motion(seq, np.random.default_rng(0), {"p_amplify": 0.0, "amplify_max": 3.0}) is seq
