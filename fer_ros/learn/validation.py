"""Validation figures of the recurrent model during training, with the rules of learn.metrics.

Generated validation sequences (full length, no augmentation):
- frame_acc: per-frame accuracy against the intensity-derived truth (the animated class
  where the expression is in its upper half, relative intensity >= 0.5, else the base's
  rest label; frames with unknown truth skipped), also split into frame_acc_expr and
  frame_acc_rest;
- acc@25/50/100: for each expression interval, the class predicted when p of it has been
  seen (metrics.accuracy_at: frame onset + floor(p * (offset - onset) + 0.5));
- interval_acc: the class of each whole expression (mean probabilities over its upper half);
- spot_precision/recall/f1: the product's online Spotter on the activity and intensity
  outputs, matched to the true intervals by metrics.spotting_counts (MEGC: IoU >= 0.5,
  inclusive frames, one-to-one), pooled over sequences;
- intensity_mae;
- the same recognition figures for the frame-wise baseline (the CNN logits alone), as
  ``baseline_*``.

Real stills (FER2013 PublicTest through the front end): each a 1-frame sequence from the
zero state, as the engine reads a still: ``stills_acc``, ``stills_uar`` and the CNN's own
``baseline_stills_acc``, ``baseline_stills_uar``.

Jittered stills (PublicTest faces held before a jittering camera, learn.stills): per-frame
``jitter_acc`` and ``jitter_flips`` (label changes per frame pair), and the CNN's.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from fer_ros.engine.predictors import softmax
from fer_ros.engine.spotter import STATUS_ENDED, Spotter
from fer_ros.model.classes import CLASS_NAMES, NUM_CLASSES
from fer_ros.model.expression import ExpressionModel

from . import metrics
from .batches import collate, relative_intensity
from .sequences import SequenceData

PARTIAL = (0.25, 0.5, 1.0)


def frame_truth(seq: SequenceData) -> np.ndarray:
    """Per-frame truth: the animated class where the expression is in its upper half, else the
    base's rest label (-1 unknown: not scored)."""
    return np.where(relative_intensity(seq) >= 0.5, seq.label, seq.rest_label)


def spot(
    activity: np.ndarray, intensity: np.ndarray, probs: np.ndarray, fps: float = 30.0
) -> list[tuple[int, int, int]]:
    """Intervals (onset, offset, class) from the product's online spotter."""
    sp = Spotter(face_id=0)
    events = [
        ev
        for t in range(len(activity))
        for ev in sp.update(t, t / fps, float(activity[t]), float(intensity[t]), probs[t])
    ] + sp.close()
    return [(ev.onset, ev.offset, CLASS_NAMES.index(ev.label)) for ev in events if ev.status == STATUS_ENDED]


def _intervals(seq: SequenceData) -> list[tuple[int, int, int]]:
    return [(int(r[0]), int(r[3]), int(r[4])) for r in seq.intervals]


def recognition_figures(seqs: list[SequenceData], preds: list[np.ndarray], probs: list[np.ndarray]) -> dict:
    """Frame, partial-expression and whole-expression accuracy of per-frame predictions."""
    truth, pred, expr = [], [], []
    for seq, p in zip(seqs, preds):
        ok = seq.detected & (frame_truth(seq) >= 0)
        truth.append(np.where(ok, frame_truth(seq), -1))
        pred.append(p)
        expr.append(relative_intensity(seq) >= 0.5)
    truth, pred, expr = np.concatenate(truth), np.concatenate(pred), np.concatenate(expr)
    out = {
        "frame_acc": metrics.frame_accuracy(truth, pred),
        "frame_acc_expr": metrics.frame_accuracy(np.where(expr, truth, -1), pred),
        "frame_acc_rest": metrics.frame_accuracy(np.where(expr, -1, truth), pred),
    }
    # Partial accuracy on frames with a face only: a frame without one has no prediction.
    lab, ivs = metrics.concat_timelines(
        [np.where(s.detected, p, -1) for s, p in zip(seqs, preds)], [_intervals(s) for s in seqs]
    )
    ivs = [iv for iv in ivs if iv[2] >= 0]  # the rows of on_the_fly_hits
    hits = metrics.on_the_fly_hits(lab, ivs, PARTIAL)
    for j, p in enumerate(PARTIAL):
        seen = [h[j] for h, iv in zip(hits, ivs) if lab[metrics.fraction_frame(iv[0], iv[1], p)] >= 0]
        out[f"acc@{int(p * 100)}"] = float(np.mean(seen)) if seen else float("nan")
    hit = n = 0
    for seq, pr in zip(seqs, probs):
        rel = relative_intensity(seq)
        for onset, _a, _ae, offset, label, _peak, _micro in seq.intervals:
            t = np.arange(int(onset), int(offset) + 1)
            t = t[(rel[t] >= 0.5) & seq.detected[t]]
            if len(t):
                hit += int(pr[t].mean(0).argmax() == int(label))
                n += 1
    out["interval_acc"] = hit / n if n else float("nan")
    return out


@torch.no_grad()
def validate(
    model: ExpressionModel,
    seqs: list[SequenceData],
    stills: list[SequenceData],
    device,
    jittered: list[SequenceData] | None = None,
    batch_size: int = 64,
) -> dict:
    model.eval()
    preds, base_preds, all_probs, base_probs, counts, inten_err = [], [], [], [], [], []
    for b in range(0, len(seqs), batch_size):
        chunk = seqs[b : b + batch_size]
        app, geo, lengths, _ = collate([(s, np.arange(len(s))) for s in chunk], device)
        out = model(app, geo, lengths)
        probs = torch.softmax(out["logits"], -1).cpu().numpy()
        act, inten = out["activity"].cpu().numpy(), out["intensity"].cpu().numpy()
        for n, s in enumerate(chunk):
            L = len(s)
            preds.append(probs[n, :L].argmax(-1))
            all_probs.append(probs[n, :L])
            base = softmax(s.appearance[:, -NUM_CLASSES:].astype(np.float64))
            base_preds.append(base.argmax(-1))
            base_probs.append(base)
            inten_err.append(np.abs(inten[n, :L] - s.intensity)[s.detected])
            counts.append(metrics.spotting_counts(spot(act[n, :L], inten[n, :L], probs[n, :L]), _intervals(s)))
    res: dict = {}
    if seqs:
        res.update(recognition_figures(seqs, preds, all_probs))
        res.update({f"baseline_{k}": v for k, v in recognition_figures(seqs, base_preds, base_probs).items()})
        prf = metrics.pooled_prf(counts)
        res.update(
            {
                "spot_precision": prf["precision"],
                "spot_recall": prf["recall"],
                "spot_f1": prf["f1"],
                "intensity_mae": float(np.concatenate(inten_err).mean()),
            }
        )
    if stills:
        res.update(stills_figures(model, stills, device))
    if jittered:
        res.update(jitter_figures(model, jittered, device, batch_size))
    return res


@torch.no_grad()
def jitter_figures(model: ExpressionModel, seqs: list[SequenceData], device, batch_size: int = 64) -> dict:
    """Per-frame accuracy and label flips on held faces (one class per sequence), against the CNN's."""
    model.eval()
    preds = []
    for b in range(0, len(seqs), batch_size):
        app, geo, lengths, _ = collate([(s, np.arange(len(s))) for s in seqs[b : b + batch_size]], device)
        preds.append(model(app, geo, lengths)["logits"].argmax(-1).cpu().numpy())
    pred = np.concatenate(preds)
    base = np.stack([s.appearance[:, -NUM_CLASSES:].argmax(-1) for s in seqs])
    truth = np.stack([s.label for s in seqs])

    def flips(labels: np.ndarray) -> float:  # label changes per frame pair, pooled
        counts = np.array([metrics.label_flips(lab, s.detected) for lab, s in zip(labels, seqs)])
        return float(counts[:, 0].sum() / counts[:, 1].sum()) if counts[:, 1].sum() else 0.0

    return {
        "jitter_acc": float((pred == truth).mean()),
        "jitter_flips": flips(pred),
        "baseline_jitter_acc": float((base == truth).mean()),
        "baseline_jitter_flips": flips(base),
    }


@torch.no_grad()
def stills_figures(model: ExpressionModel, stills: list[SequenceData], device, batch_size: int = 1024) -> dict:
    """Accuracy and UAR on labelled stills, each one step from the zero state, against the CNN's."""
    model.eval()
    app = torch.from_numpy(np.concatenate([s.appearance for s in stills])).to(device)
    geo = torch.from_numpy(np.concatenate([s.geometry for s in stills]).astype(np.float32)).to(device)
    pred = np.concatenate(
        [
            model.step(app[i : i + batch_size], geo[i : i + batch_size])[0]["logits"].argmax(-1).cpu().numpy()
            for i in range(0, len(app), batch_size)
        ]
    )
    truth = np.array([s.label[0] for s in stills])
    mine = metrics.classification_report(truth, pred)
    cnn = metrics.classification_report(truth, app[:, -NUM_CLASSES:].argmax(-1).cpu().numpy())
    return {
        "stills_acc": mine["accuracy"],
        "stills_uar": mine["uar"],
        "baseline_stills_acc": cnn["accuracy"],
        "baseline_stills_uar": cnn["uar"],
    }


SELECTION = (
    "mean of frame_acc, acc@25, acc@50, interval_acc and spot_f1 on the generated validation "
    "sequences, stills_acc on the real validation stills and jitter_acc on the jittered ones"
)


def selection_score(m: dict) -> float:
    """What picks the best epoch (SELECTION)."""
    keys = ("frame_acc", "acc@25", "acc@50", "interval_acc", "spot_f1", "stills_acc", "jitter_acc")
    vals = [m[k] for k in keys if k in m and not math.isnan(m[k])]
    return float(np.mean(vals)) if vals else 0.0
