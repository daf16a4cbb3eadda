"""Evaluation metrics on hand-built cases: MEGC spotting, on-the-fly accuracy, intensity, confusion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fer_ros.learn import metrics
from fer_ros.learn.metrics import (
    accuracy_at,
    concat_timelines,
    confusion_matrix,
    fraction_frame,
    frame_accuracy,
    intensity_mae,
    interval_iou,
    match_intervals,
    on_the_fly_hits,
    pooled_prf,
    spotting_counts,
)
from fer_ros.learn.synth import Interval

# ----------------------------------------------------------------------------- IoU


@pytest.mark.parametrize(
    "a, b, iou",
    [
        ((0, 9), (0, 9), 1.0),
        ((0, 9), (5, 14), 5 / 15),  # 5 shared frames (5..9), union 0..14
        ((0, 9), (10, 19), 0.0),  # adjacent: no shared frame
        ((0, 9), (9, 18), 1 / 19),  # one shared frame (inclusive ends)
        ((3, 3), (3, 3), 1.0),  # one-frame intervals
        ((0, 9), (0, 4), 0.5),  # exactly one half
        ((2, 7), (0, 9), 0.6),
    ],
)
def test_iou_counts_inclusive_frames(a, b, iou):
    assert interval_iou(a, b) == pytest.approx(iou, abs=1e-12)
    assert interval_iou(b, a) == pytest.approx(iou, abs=1e-12)


def test_iou_refuses_reversed_interval():
    with pytest.raises(ValueError, match="offset < onset"):
        interval_iou((5, 4), (0, 9))


def test_intervals_as_objects_and_labelled_tuples():
    iv = Interval(onset=10, apex=12, apex_end=14, offset=19, label=4, peak=0.8, micro=False)
    assert metrics.as_interval(iv) == (10, 19, 4)
    assert metrics.as_interval((1, 2)) == (1, 2, -1)
    assert metrics.as_interval((1, 2, "happy")) == (1, 2, 4)
    assert interval_iou(iv, (10, 19, 0)) == 1.0


# ----------------------------------------------------------------------------- spotting


def test_iou_exactly_one_half_is_a_match():
    assert spotting_counts([(0, 4)], [(0, 9)]) == (1, 1, 1)  # 5 / 10
    assert spotting_counts([(0, 3)], [(0, 9)]) == (0, 1, 1)  # 4 / 10
    assert spotting_counts([(0, 9)], [(0, 4)]) == (1, 1, 1)  # the other way round


def test_one_prediction_overlapping_two_truths_counts_once():
    # P = T1 + T2 (adjacent, equal length): IoU exactly 0.5 with each; one-to-one -> 1 TP.
    assert interval_iou((0, 9), (0, 4)) == 0.5 and interval_iou((0, 9), (5, 9)) == 0.5
    assert spotting_counts([(0, 9)], [(0, 4), (5, 9)]) == (1, 1, 2)
    # A long prediction over two short truths matches neither.
    assert spotting_counts([(0, 30)], [(2, 8), (20, 28)]) == (0, 1, 2)


def test_two_predictions_on_one_truth_give_one_tp():
    assert spotting_counts([(0, 9), (1, 9)], [(0, 9)]) == (1, 2, 1)


def test_matching_is_the_largest_one_to_one_not_greedy():
    # Overlapping truths (as CAS(ME)^2 annotations can be). P1 matches T1 (0.9) and T2 (8/9);
    # P2 matches only T1. Greedy "best IoU first" for P1 would take T1 and leave P2 unmatched.
    truths = [(0, 9), (0, 7)]
    p1, p2 = (0, 8), (3, 12)
    assert interval_iou(p1, truths[0]) == pytest.approx(0.9) and interval_iou(p1, truths[1]) == pytest.approx(8 / 9)
    assert interval_iou(p2, truths[0]) >= 0.5 > interval_iou(p2, truths[1])
    assert spotting_counts([p1, p2], truths) == (2, 2, 2)
    assert spotting_counts([p2, p1], truths) == (2, 2, 2)  # order does not matter
    assert match_intervals([p1, p2], truths) == [(0, 1), (1, 0)]


def test_empty_lists():
    assert spotting_counts([], []) == (0, 0, 0)
    assert spotting_counts([], [(0, 9)]) == (0, 0, 1)
    assert spotting_counts([(0, 9)], []) == (0, 1, 0)
    assert match_intervals([], [(0, 1)]) == []


def test_pooled_prf_sums_counts_over_videos():
    # Video 1: 2 of 3 predictions right, 4 truths; video 2: nothing predicted, 1 truth.
    out = pooled_prf([(2, 3, 4), (0, 0, 1)])
    assert (out["tp"], out["n_pred"], out["n_true"]) == (2, 3, 5)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 5)
    assert out["f1"] == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    # Pooling is not the mean of per-video F1 (video 2's F1 is 0).
    assert out["f1"] != pytest.approx(0.5 * 2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))


def test_pooled_prf_undefined_values_are_zero():
    assert pooled_prf([]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_true": 0}
    none_predicted = pooled_prf([(0, 0, 3)])
    assert none_predicted["precision"] == 0.0 and none_predicted["recall"] == 0.0 and none_predicted["f1"] == 0.0
    no_truth = pooled_prf([(0, 2, 0)])
    assert no_truth["precision"] == 0.0 and no_truth["recall"] == 0.0 and no_truth["f1"] == 0.0
    perfect = pooled_prf([(3, 3, 3)])
    assert perfect["f1"] == 1.0


# ----------------------------------------------------------------------------- on-the-fly accuracy


def test_fraction_frame_rounds_half_up():
    assert fraction_frame(10, 20, 0.5) == 15
    assert fraction_frame(10, 20, 1.0) == 20
    assert fraction_frame(10, 20, 0.25) == 13  # 2.5 -> 3 (half up, not to even)
    assert fraction_frame(10, 20, 0.1) == 11
    assert fraction_frame(0, 3, 0.5) == 2  # 1.5 -> 2
    assert fraction_frame(0, 1, 0.25) == 0  # 0.25 -> 0
    assert fraction_frame(7, 7, 0.5) == 7  # one-frame interval


def test_accuracy_at_reads_the_prediction_at_each_fraction():
    # Interval (10, 20) of class 4 (happy): the model is right from frame 14 on.
    pred = np.zeros(30, np.int64)
    pred[14:] = 4
    acc = accuracy_at(pred, [(10, 20, 4)])
    assert acc == {0.1: 0.0, 0.25: 0.0, 0.5: 1.0, 0.75: 1.0, 1.0: 1.0}  # frames 11, 13, 15, 18, 20
    # Right from frame 13 on: 25% (frame 13) is now correct.
    pred[13] = 4
    assert accuracy_at(pred, [(10, 20, 4)])[0.25] == 1.0


def test_accuracy_at_averages_over_intervals_and_skips_other():
    pred = np.array([0, 6, 6, 6, 0, 1, 1, 1, 1, 0])
    intervals = [(1, 3, 6), (5, 8, 2), (4, 9, -1)]  # right, wrong (class 2), OTHER: not scored
    hits = on_the_fly_hits(pred, intervals)
    assert hits.shape == (2, 5)
    assert hits[0].all() and not hits[1].any()
    assert accuracy_at(pred, intervals) == dict.fromkeys(metrics.FRACTIONS, 0.5)


def test_accuracy_at_without_intervals_is_nan():
    acc = accuracy_at(np.zeros(5, np.int64), [])
    assert set(acc) == set(metrics.FRACTIONS) and all(math.isnan(a) for a in acc.values())


def test_accuracy_at_refuses_an_interval_outside_the_predictions():
    with pytest.raises(ValueError, match="outside"):
        accuracy_at(np.zeros(5, np.int64), [(3, 5, 1)])


def test_concat_timelines_pools_videos():
    p1, p2 = np.array([0, 4, 4]), np.array([0, 0, 6, 6])
    joined, ivs = concat_timelines([p1, p2], [[(1, 2, 4)], [Interval(2, 3, 3, 3, 6, 1.0, False)]])
    assert joined.tolist() == [0, 4, 4, 0, 0, 6, 6]
    assert ivs == [(1, 2, 4), (5, 6, 6)]
    assert accuracy_at(joined, ivs)[1.0] == 1.0


# ----------------------------------------------------------------------------- intensity, confusion


def test_intensity_mae_over_scored_frames():
    pred = np.array([0.0, 0.5, 1.0, 0.2])
    true = np.array([0.0, 1.0, 1.0, 0.9])
    assert intensity_mae(pred, true) == pytest.approx((0 + 0.5 + 0 + 0.7) / 4)
    assert intensity_mae(pred, true, [True, True, False, False]) == pytest.approx(0.25)
    assert math.isnan(intensity_mae(pred, true, [False] * 4))
    with pytest.raises(ValueError, match="shapes"):
        intensity_mae(pred, true[:3])


def test_confusion_matrix_rows_are_truth():
    true = np.array([0, 0, 4, 4, 4, 6, -1])
    pred = np.array([0, 4, 4, 4, 6, 6, 3])  # the last frame is not scored (-1)
    cm = confusion_matrix(true, pred)
    assert cm.shape == (7, 7) and cm.sum() == 6
    assert cm[0, 0] == 1 and cm[0, 4] == 1 and cm[4, 4] == 2 and cm[4, 6] == 1 and cm[6, 6] == 1
    assert cm[:, 3].sum() == 0
    assert frame_accuracy(true, pred) == pytest.approx(4 / 6)
    assert math.isnan(frame_accuracy(np.array([-1, -1]), np.array([0, 1])))
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix(np.array([0]), np.array([7]))


def test_metrics_module_has_no_torch():
    import subprocess
    import sys

    code = "import sys, fer_ros.learn.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ----------------------------------------------------------------------------- classification, stability


def test_classification_report_on_a_hand_computed_case():
    true = [0, 0, 0, 1, 1, 2, -1]  # the -1 (a class outside the set) is not scored
    pred = [0, 0, 1, 1, 2, 2, 0]
    r = metrics.classification_report(true, pred, num_classes=3)
    assert r["n"] == 6 and r["accuracy"] == pytest.approx(4 / 6)
    assert r["recall"] == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert r["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert r["precision"] == pytest.approx([1.0, 1 / 2, 1 / 2])
    f1 = [2 * p * q / (p + q) for p, q in zip(r["precision"], r["recall"])]
    assert r["f1"] == pytest.approx(f1) and r["macro_f1"] == pytest.approx(np.mean(f1))
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_classification_report_leaves_absent_classes_out_of_uar():
    r = metrics.classification_report([0, 0, 1], [0, 1, 1], num_classes=3)
    assert np.isnan(r["recall"][2]) and r["uar"] == pytest.approx((1 / 2 + 1) / 2)


def test_label_flips_count_changes_between_seen_frames_only():
    assert metrics.label_flips([0, 1, 1, 2, 2, 2], [1, 1, 1, 0, 1, 1]) == (1, 3)
    assert metrics.label_flips([3, 3, 3], [1, 1, 1]) == (0, 2)
    assert metrics.flips_per_second([(2, 4), (0, 6)], [10.0, 10.0]) == pytest.approx(2.0)
    assert np.isnan(metrics.flips_per_second([(0, 0)], [30.0]))
