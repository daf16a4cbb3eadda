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
    """One expression: linear rise onset..apex, hold, linear fall apex_end..offset. Every
    frame's appearance row 0 holds its own frame index, so reordering can be traced."""
    inten = np.zeros(T, np.float32)
    inten[onset:apex + 1] = np.linspace(0, peak, apex - onset + 1)
    inten[apex:apex_end + 1] = peak
    inten[apex_end:offset + 1] = np.linspace(peak, 0, offset - apex_end + 1)
    phase = np.zeros(T, np.int64)
    phase[onset:apex] = PHASES.index("onset")
    phase[apex:apex_end + 1] = PHASES.index("apex")
    phase[apex_end + 1:offset + 1] = PHASES.index("offset")
    label = np.where((np.arange(T) >= onset) & (np.arange(T) <= offset), cls, 0)
    app = np.zeros((T, 135), np.float32)
    app[:, 0] = np.arange(T)
    rng = np.random.default_rng(1)
    shapes = rng.normal(0, 0.05, (T, SHAPE_DIM)).astype(np.float32)
    shapes[:, 0] += inten  # the shape moves with the expression
    iv = np.array([[onset, apex, apex_end, offset, cls, peak, 0.0]])
    return ds.SequenceData(app, geometry_sequence(shapes), label, inten, phase, np.ones(T, bool), 0,
                           iv, "id", "person")


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


def test_reverse_offsets_turns_the_fall_into_the_rise():
    seq = _sequence()
    out = augment.reverse_offsets(seq, np.random.default_rng(0), p=1.0)
    onset, apex, apex_end, offset = (int(x) for x in out.intervals[0, :4])
    frames = out.appearance[:, 0].astype(int)
    # before the onset: untouched; the onset: frames 26..15 (the fall, reversed); then apex on.
    assert list(frames[:5]) == list(range(5))
    assert list(frames[onset:apex]) == list(range(26, 14, -1))
    assert list(frames[apex:]) == list(range(10, 40))
    assert len(out) == 40 - 5 + 12
    assert (onset, apex, apex_end, offset) == (5, 17, 21, 33)
    # the new onset rises, is labelled onset, and intensity follows the frames
    assert np.all(np.diff(out.intensity[onset:apex + 1]) >= 0)
    assert set(out.phase[onset:apex]) == {PHASES.index("onset")}
    assert np.array_equal(out.intensity, seq.intensity[frames])
    assert np.array_equal(out.label, seq.label[frames])
    # geometry: shapes follow the frames, the neutral offsets are the streaming ones of that order
    assert np.array_equal(out.geometry[:, :SHAPE_DIM], seq.geometry[frames, :SHAPE_DIM])
    assert np.allclose(out.geometry, geometry_sequence(seq.geometry[frames, :SHAPE_DIM]))
    assert not np.allclose(out.geometry[onset:, SHAPE_DIM:], seq.geometry[frames[onset:], SHAPE_DIM:])
    # the dense training targets follow the new intervals
    rel = tr.relative_intensity(out)
    assert rel[apex] == 1.0 and rel[onset] == 0.0


def test_reverse_offsets_moves_the_face_crops_with_their_frames():
    seq = _sequence()
    seq.crops = np.broadcast_to(np.arange(len(seq), dtype=np.uint8)[:, None, None], (len(seq), 64, 64)).copy()
    out = augment.reverse_offsets(seq, np.random.default_rng(0), p=1.0)
    assert np.array_equal(out.crops[:, 0, 0], out.appearance[:, 0].astype(np.uint8))


def test_reverse_offsets_off_or_undetected_keeps_the_sequence():
    seq = _sequence()
    assert augment.reverse_offsets(seq, np.random.default_rng(0), p=0.0) is seq
    seq.detected[3] = False
    assert augment.reverse_offsets(seq, np.random.default_rng(0), p=1.0) is seq


def test_cnn_response_follows_the_intensity_curve():
    seq = _sequence()
    tcfg = dict(tr.DEFAULTS["train"], p_cnn_response=1.0, p_cnn_conflict=0.0,
                cnn_response_min=2.0, cnn_response_max=2.0)
    add, label = augment.cnn_response(seq, np.random.default_rng(0), tcfg)
    assert label is None
    assert add.shape == (len(seq), NUM_CLASSES)
    assert np.allclose(add[:, HAPPY], 2.0 * seq.intensity / 0.8, atol=1e-6)
    assert np.count_nonzero(np.delete(add, HAPPY, axis=1)) == 0


def test_cnn_response_conflict_relabels_the_expression():
    seq = _sequence()
    tcfg = dict(tr.DEFAULTS["train"], p_cnn_response=1.0, p_cnn_conflict=1.0)
    add, label = augment.cnn_response(seq, np.random.default_rng(0), tcfg)
    target = int(np.argmax(add.sum(0)))
    assert target not in (0, HAPPY)
    assert set(label[5:27]) == {target} and set(label[:5]) == {0} and set(label[27:]) == {0}
    assert seq.label[10] == HAPPY  # the dataset's arrays are not modified


def test_training_item_applies_the_response_to_the_batch():
    seq = _sequence()
    tcfg = dict(tr.DEFAULTS["train"], p_cnn_response=1.0, cnn_response_min=3.0, cnn_response_max=3.0,
                p_crop=0.0, p_resample=0.0)
    item = tr.training_item(seq, np.random.default_rng(0), tcfg)
    app, _geo, _len, tg = tr.collate([item], "cpu")
    logits = app[0, :, -NUM_CLASSES:].numpy()
    assert np.allclose(logits[:, HAPPY], 3.0 * seq.intensity / 0.8, atol=1e-5)
    assert tg["label"][0, 10] == HAPPY


def test_distractor_motion_moves_a_still_stretch_and_keeps_the_labels():
    seq = _sequence(T=80)  # expression on frames 5..26: still frames 30..79
    au = augment.AuFields()
    tcfg = {"p_distractor": 1.0}
    out = augment.distractor_motion(seq, np.random.default_rng(3), tcfg, au)
    moved = np.flatnonzero(np.abs(out.geometry[:, :SHAPE_DIM] - seq.geometry[:, :SHAPE_DIM]).max(1) > 1e-7)
    assert len(moved) >= 6 and moved.min() >= 26 + 3  # away from the expression
    assert np.allclose(out.geometry, geometry_sequence(out.geometry[:, :SHAPE_DIM]))  # streamed neutral
    for name in ("label", "intensity", "phase", "appearance"):
        assert np.array_equal(getattr(out, name), getattr(seq, name))
    # the same draws give the same motion; p = 0 or no AU fields leave the sequence alone
    again = augment.distractor_motion(seq, np.random.default_rng(3), tcfg, au)
    assert np.array_equal(again.geometry, out.geometry)
    assert augment.distractor_motion(seq, np.random.default_rng(3), {"p_distractor": 0.0}, au) is seq
    assert augment.distractor_motion(seq, np.random.default_rng(3), tcfg, None) is seq


def test_au_fields_move_the_expected_points():
    au = augment.AuFields()
    assert np.load(augment.REFERENCE_FACE, allow_pickle=False).shape[0] == 478
    from fer_ros.engine.geometry import EXPRESSIVE_POINTS

    def dy(name, point):  # canonical y displacement of one expressive point (y grows downwards)
        return au.fields[name][2 * EXPRESSIVE_POINTS.index(point) + 1]
    assert dy("AU1", 107) < -0.01   # inner brow raiser lifts the inner brow
    assert dy("AU26", 17) > 0.03    # jaw drop lowers the lower lip
    assert dy("AU12", 61) < -0.01   # lip corner puller lifts the lip corner
    assert frozenset({"AU6", "AU12"}) in au.patterns


def test_amplify_motion_scales_movement_from_the_first_frame():
    seq = _sequence()
    out = augment.amplify_motion(seq, np.random.default_rng(0), {"p_amplify": 1.0, "amplify_max": 3.0})
    move, move0 = out.geometry[:, :SHAPE_DIM] - out.geometry[:1, :SHAPE_DIM], \
        seq.geometry[:, :SHAPE_DIM] - seq.geometry[:1, :SHAPE_DIM]
    k = np.linalg.norm(move) / np.linalg.norm(move0)
    assert 1.0 < k <= 3.0 and np.allclose(move, k * move0, atol=1e-5)
    assert np.allclose(out.geometry, geometry_sequence(out.geometry[:, :SHAPE_DIM]))
    assert np.array_equal(out.label, seq.label) and np.array_equal(out.intensity, seq.intensity)
    assert augment.amplify_motion(seq, np.random.default_rng(0), {"p_amplify": 0.0}) is seq
