"""Evaluation metrics: spotting (MEGC rule), on-the-fly accuracy, intensity error, confusion.

Pure numpy (no torch), so the rules can be read and tested on their own.

Intervals are given as ``(onset, offset)`` or ``(onset, offset, label)`` tuples, or as
objects with ``onset`` / ``offset`` / ``label`` attributes (``intervals.Interval``,
``IntervalEvent``). Frame indices are 0-based and INCLUSIVE at both ends: (3, 5) is the
three frames 3, 4, 5.

Spotting (MEGC rule)
--------------------
- IoU of two intervals = |overlap| / |union| counted in frames (inclusive indices):
  (0, 9) and (5, 14) overlap in 5 frames of a 15-frame union: IoU 1/3.
- A predicted interval is a true positive when it is matched to a true interval with
  IoU >= ``iou`` (0.5; exactly 0.5 counts). Matching is one-to-one: a true interval is
  matched at most once and a prediction at most once; among all one-to-one matchings of
  pairs with IoU >= ``iou`` the largest one is taken (augmenting paths), so the count
  does not depend on the order of either list. (With non-overlapping true intervals a
  prediction can reach IoU >= 0.5 with two of them only in the tie case "prediction =
  two adjacent truths of equal length", IoU exactly 0.5 each: it counts once.)
- Precision, recall and F1 are POOLED over videos: TP, the number of predictions and
  the number of true intervals are summed over all videos first (``pooled_prf``).
  Undefined values are reported as 0: precision 0 when nothing was predicted, recall 0
  when there is no true interval, F1 0 when precision + recall = 0.

On-the-fly accuracy (seed 000: a label from a partial expression)
-----------------------------------------------------------------
For each true interval (onset, offset, label) and each fraction p, the frame
``t = onset + floor(p * (offset - onset) + 0.5)`` (p of the interval seen, rounded half
up; p = 1 is the offset frame, p = 0.5 of (10, 20) is frame 15) is looked up in the
per-frame predicted labels of the streaming model, i.e. what the model says after
having seen frames 0..t only, and compared with the interval's label. Accuracy at p =
correct / scored intervals. Intervals with a negative label (OTHER: a class outside
CLASS_NAMES) are not scored. Pooling over videos: concatenate the videos' predictions
and shift their intervals (``concat_timelines``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


# ----------------------------------------------------------------------------- intervals


def as_interval(iv) -> tuple[int, int, int]:
    """(onset, offset, label) of a tuple or an object; label -1 when it has none."""
    if hasattr(iv, "onset") and hasattr(iv, "offset"):
        label = getattr(iv, "label", -1)
        return int(iv.onset), int(iv.offset), _label_index(label)
    if len(iv) == 2:
        return int(iv[0]), int(iv[1]), -1
    return int(iv[0]), int(iv[1]), _label_index(iv[2])


def _label_index(label) -> int:
    if isinstance(label, str):
        from fer_ros.model.classes import CLASS_NAMES

        return CLASS_NAMES.index(label) if label in CLASS_NAMES else -1
    return int(label)


def interval_iou(a, b) -> float:
    """Frame IoU of two inclusive intervals (onset, offset)."""
    a0, a1 = as_interval(a)[:2]
    b0, b1 = as_interval(b)[:2]
    if a1 < a0 or b1 < b0:
        raise ValueError(f"interval with offset < onset: {(a0, a1)} / {(b0, b1)}")
    inter = min(a1, b1) - max(a0, b0) + 1
    if inter <= 0:
        return 0.0
    union = (a1 - a0 + 1) + (b1 - b0 + 1) - inter
    return inter / union


def match_intervals(pred, true, iou: float = 0.5) -> list[tuple[int, int]]:
    """Largest one-to-one matching of predictions to true intervals with IoU >= ``iou``.

    Returns (prediction index, true index) pairs, sorted by prediction index.
    """
    pred, true = [as_interval(p) for p in pred], [as_interval(t) for t in true]
    # 1e-12 slack: a ratio that equals the threshold exactly must never be lost to rounding.
    edges = [[j for j, t in enumerate(true) if interval_iou(p, t) >= iou - 1e-12] for p in pred]
    match_of_true: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in match_of_true or augment(match_of_true[j], seen):
                match_of_true[j] = i
                return True
        return False

    for i in range(len(pred)):
        augment(i, set())
    return sorted((i, j) for j, i in match_of_true.items())


def spotting_counts(pred_intervals, true_intervals, iou: float = 0.5) -> tuple[int, int, int]:
    """(TP, number of predictions, number of true intervals) of one video, MEGC rule."""
    pred, true = list(pred_intervals), list(true_intervals)
    return len(match_intervals(pred, true, iou)), len(pred), len(true)


def pooled_prf(counts: Iterable[Sequence[int]]) -> dict:
    """Pooled precision / recall / F1 over videos from (tp, n_pred, n_true) per video.

    Undefined values are 0 (no prediction: precision 0; no true interval: recall 0;
    precision + recall = 0: F1 0). Also returns the summed counts.
    """
    tp = n_pred = n_true = 0
    for c in counts:
        tp, n_pred, n_true = tp + int(c[0]), n_pred + int(c[1]), n_true + int(c[2])
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "n_pred": n_pred, "n_true": n_true}


# ----------------------------------------------------------------------------- recognition


def fraction_frame(onset: int, offset: int, p: float) -> int:
    """Frame at which fraction ``p`` of the inclusive interval has been seen (round half up)."""
    return int(onset + math.floor(p * (offset - onset) + 0.5))


def on_the_fly_hits(pred_labels, intervals, fractions=FRACTIONS) -> np.ndarray:
    """(K, len(fractions)) bool: per scored interval (label >= 0), prediction correct at each p."""
    pred = np.asarray(pred_labels)
    rows = []
    for iv in intervals:
        onset, offset, label = as_interval(iv)
        if label < 0:
            continue
        if not 0 <= onset <= offset < len(pred):
            raise ValueError(f"interval {(onset, offset)} outside the {len(pred)} predicted frames")
        rows.append([int(pred[fraction_frame(onset, offset, p)]) == label for p in fractions])
    return np.array(rows, bool).reshape(-1, len(fractions))


def accuracy_at(pred_labels, intervals, fractions=FRACTIONS) -> dict[float, float]:
    """{p: accuracy} of the predicted class when p of each true interval has been seen.

    NaN where no interval is scored. See the module docstring for the exact rule.
    """
    hits = on_the_fly_hits(pred_labels, intervals, fractions)
    return {p: float(hits[:, k].mean()) if len(hits) else float("nan") for k, p in enumerate(fractions)}


def concat_timelines(preds: Sequence[np.ndarray], intervals: Sequence[Iterable]):
    """Concatenate per-video frame arrays and shift each video's intervals accordingly.

    -> (one array, one list of (onset, offset, label)); pools accuracy_at over videos.
    """
    out, offset = [], 0
    for pred, ivs in zip(preds, intervals):
        for iv in ivs:
            onset, off, label = as_interval(iv)
            out.append((onset + offset, off + offset, label))
        offset += len(pred)
    joined = np.concatenate([np.asarray(p) for p in preds]) if len(preds) else np.zeros(0, np.int64)
    return joined, out


def intensity_mae(pred, true, scored=None) -> float:
    """Mean absolute intensity error over the scored frames (all when ``scored`` is None); NaN if none."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {true.shape}")
    mask = np.ones(pred.shape, bool) if scored is None else np.asarray(scored, bool)
    return float(np.abs(pred - true)[mask].mean()) if mask.any() else float("nan")


def confusion_matrix(true_labels, pred_labels, num_classes: int = 7) -> np.ndarray:
    """(C, C) counts, rows = true class, columns = predicted class; true labels < 0 are not scored."""
    true, pred = np.asarray(true_labels, np.int64), np.asarray(pred_labels, np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"shapes differ: {true.shape} vs {pred.shape}")
    keep = true >= 0
    if ((pred[keep] < 0) | (pred[keep] >= num_classes)).any() or (true[keep] >= num_classes).any():
        raise ValueError(f"labels must be in [0, {num_classes})")
    return np.bincount(true[keep] * num_classes + pred[keep], minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def frame_accuracy(true_labels, pred_labels) -> float:
    """Share of scored frames (true label >= 0) predicted right; NaN if none."""
    true, pred = np.asarray(true_labels, np.int64), np.asarray(pred_labels, np.int64)
    keep = true >= 0
    return float((pred[keep] == true[keep]).mean()) if keep.any() else float("nan")


# ----------------------------------------------------------------------------- classification


def classification_report(true_labels, pred_labels, num_classes: int = 7) -> dict:
    """Accuracy, UAR (mean per-class recall), macro-F1, per-class recall / F1 and the confusion
    matrix of labels (true labels < 0 are not scored). A class with no true sample gets recall
    NaN and is left out of UAR; F1 of a class never predicted nor present is NaN and left out
    of macro-F1."""
    cm = confusion_matrix(true_labels, pred_labels, num_classes).astype(np.float64)
    support, predicted, hit = cm.sum(1), cm.sum(0), np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hit / support, np.nan)
        precision = np.where(predicted > 0, hit / predicted, 0.0)
        f1 = np.where(support + predicted > 0, 2 * hit / (support + predicted), np.nan)
    n = cm.sum()
    return {
        "n": int(n),
        "accuracy": float(hit.sum() / n) if n else float("nan"),
        "uar": float(np.nanmean(recall)) if np.isfinite(recall).any() else float("nan"),
        "macro_f1": float(np.nanmean(f1)) if np.isfinite(f1).any() else float("nan"),
        "recall": recall.tolist(),
        "precision": precision.tolist(),
        "f1": f1.tolist(),
        "confusion": cm.astype(np.int64).tolist(),
    }


# ----------------------------------------------------------------------------- stability


def label_flips(labels, found) -> tuple[int, int]:
    """(label changes, frame pairs) of one face over consecutive frames where it was seen in both.

    A per-frame reader that flickers between classes on a steady face flips often; a temporal
    model should flip only when the expression changes."""
    labels, found = np.asarray(labels), np.asarray(found, bool)
    both = found[1:] & found[:-1]
    return int(((labels[1:] != labels[:-1]) & both).sum()), int(both.sum())


def flips_per_second(per_video: Iterable[tuple[int, int]], fps: Iterable[float]) -> float:
    """Label flips per second of seen face, pooled over videos: sum of flips / sum of seconds."""
    flips = seconds = 0.0
    for (f, pairs), rate in zip(per_video, fps):
        flips += f
        seconds += pairs / rate
    return flips / seconds if seconds else float("nan")
