"""Training batches for the recurrent model: targets per frame, augmented views, padding.

Two kinds of sequences are mixed (learn.sequences.SequenceData, ``kind``):
- ``generated``: an animated face with exact per-frame class, intensity and phase; every
  loss term is scored;
- ``still``: one real labelled face (FER2013), shown as a static sequence of 1 to
  ``still_len_max`` identical frames, as a camera sees a face that holds its expression;
  only the class is known, so only the class term is scored there (``dyn`` False);
- ``jitter``: a real labelled face held before a camera for a short while
  (learn.stills.cached_jittered): the same class on every frame while the CNN's reading
  and the landmarks jitter; the class term only, as for a still.
"""

from __future__ import annotations

import numpy as np
import torch

from fer_ros.engine.predictors import softmax
from fer_ros.model.classes import NEUTRAL, NUM_CLASSES

from . import augment
from .sequences import SequenceData


@torch.inference_mode()
def encode(seqs: list[SequenceData], cnn: torch.nn.Module, batch: int = 512) -> None:
    """Fill every sequence's ``appearance`` (T, D + 7) from its crops with ``cnn`` (zeros where no
    face): the numbers the engine would feed the recurrent model with this backbone."""
    from fer_ros.model.backbone import scale

    device = next(cnn.parameters()).device
    cnn.eval()
    crops = np.concatenate([s.crops for s in seqs])
    face = np.concatenate([s.detected for s in seqs])
    out = np.zeros((len(crops), cnn.feature_dim + NUM_CLASSES), np.float32)
    rows = np.flatnonzero(face)
    for i in range(0, len(rows), batch):
        r = rows[i : i + batch]
        x = scale(torch.from_numpy(crops[r])).unsqueeze(1).to(device)
        out[r] = cnn.appearance(x).float().cpu().numpy()
    start = 0
    for s in seqs:
        s.appearance = out[start : start + len(s)]
        start += len(s)


def held_sequences(
    crops: np.ndarray, geometry: np.ndarray, labels: np.ndarray, names: list[str], kind: str
) -> list[SequenceData]:
    """One sequence per labelled face held for T frames: crops (N, T, S, S), geometry (N, T, G)
    (zeros where the mesh missed the face, as the engine feeds it), one label for every frame."""
    T = crops.shape[1]
    return [
        SequenceData(
            crops[i],
            geometry[i],
            np.full(T, int(labels[i])),
            np.ones(T, np.float32),
            np.full(T, -1),
            np.ones(T, bool),
            int(labels[i]),
            np.zeros((0, 7)),
            names[i],
            names[i],
            kind=kind,
        )
        for i in range(len(labels))
    ]


def still_sequences(
    crops: np.ndarray, geometry: np.ndarray, labels: np.ndarray, names: list[str]
) -> list[SequenceData]:
    """One 1-frame sequence per labelled still: crops (N, S, S), geometry (N, G)."""
    return held_sequences(crops[:, None], geometry[:, None], labels, names, "still")


def jitter_sequences(
    crops: np.ndarray, geometry: np.ndarray, labels: np.ndarray, names: list[str]
) -> list[SequenceData]:
    """One sequence per jittered still: crops (N, T, S, S), geometry (N, T, G)."""
    return held_sequences(crops, geometry, labels, names, "jitter")


def rest_distribution(seq: SequenceData, shift: np.ndarray | None = None) -> np.ndarray:
    """(T, C) what the face shows when not animated, as the frame-wise CNN sees it.

    Frames at intensity 0: that frame's own CNN softmax (so an unchanged face is taught
    the CNN's answer, whoever the person is). Animated frames: the mean CNN softmax over
    the sequence's unanimated frames (the base's look under the same modes).
    """
    logits = seq.appearance[:, -NUM_CLASSES:].astype(np.float64)
    probs = softmax(logits if shift is None else logits + shift)
    still = seq.detected & (seq.intensity == 0)
    if still.any():
        mean = probs[still].mean(0)
    else:
        mean = np.eye(NUM_CLASSES)[seq.rest_label if seq.rest_label >= 0 else NEUTRAL]
    return np.where(still[:, None], probs, mean[None]).astype(np.float32)


def relative_intensity(seq: SequenceData) -> np.ndarray:
    """Intensity divided by the peak of its own expression (1 at every apex, micro or not)."""
    rel = seq.intensity.astype(np.float32).copy()
    for onset, _a, _ae, offset, _l, peak, _m in seq.intervals:
        sl = slice(int(onset), int(offset) + 1)
        rel[sl] = np.clip(rel[sl] / max(float(peak), 1e-6), 0, 1)
    return rel


def targets(seq: SequenceData, idx: np.ndarray, shift: np.ndarray | None = None) -> dict:
    """Per-frame training targets of the frames ``idx`` of one sequence. The dense class labels
    grow with the intensity relative to the expression's own peak (a micro expression is
    labelled with its class at its apex); at intensity 0 the class mix is the CNN's own."""
    dyn = seq.kind == "generated"
    return dict(
        label=seq.label[idx],
        intensity=seq.intensity[idx],
        ce_intensity=relative_intensity(seq)[idx],
        phase=seq.phase[idx],
        active=(seq.phase[idx] > 0).astype(np.float32),
        mask=seq.detected[idx],
        dyn=np.full(len(idx), dyn),
        rest=rest_distribution(seq, shift)[idx],
    )


def training_item(seq: SequenceData, rng: np.random.Generator, tcfg: dict) -> tuple:
    """One augmented view -> (sequence, frame indices, per-sequence CNN logit shift or None).
    The order of the draws is fixed (resumed runs replay them exactly)."""
    if seq.kind == "still":
        return seq, np.zeros(int(rng.integers(1, tcfg["still_len_max"] + 1)), np.int64), None
    if seq.kind == "jitter":
        return seq, np.arange(len(seq)), None
    seq = augment.amplify_motion(seq, rng, tcfg)
    return seq, augment.crop_and_resample(len(seq), rng, tcfg), augment.resting_look(rng, tcfg)


def collate(items: list[tuple], device) -> tuple:
    """items (sequence, frame indices[, CNN logit shift (C,)]) -> padded batch (appearance,
    geometry, lengths, targets) on ``device``."""
    lengths = [len(it[1]) for it in items]
    N, T, A = len(items), max(lengths), items[0][0].appearance.shape[1]
    G = items[0][0].geometry.shape[1]
    app = np.zeros((N, T, A), np.float32)
    geo = np.zeros((N, T, G), np.float32)
    tg = {
        k: np.zeros((N, T), dt)
        for k, dt in (
            ("label", np.int64),
            ("intensity", np.float32),
            ("ce_intensity", np.float32),
            ("phase", np.int64),
            ("active", np.float32),
            ("mask", bool),
            ("dyn", bool),
        )
    }
    tg["rest"] = np.zeros((N, T, NUM_CLASSES), np.float32)
    for n, item in enumerate(items):
        seq, idx = item[:2]
        shift = item[2] if len(item) > 2 else None
        L = len(idx)
        app[n, :L] = seq.appearance[idx]
        if shift is not None:
            app[n, :L, -NUM_CLASSES:] += (shift[None] * seq.detected[idx, None]).astype(np.float32)
        geo[n, :L] = seq.geometry[idx]
        for k, v in targets(seq, idx, shift).items():
            tg[k][n, :L] = v
    return (
        torch.from_numpy(app).to(device),
        torch.from_numpy(geo).to(device),
        torch.tensor(lengths, device=device),
        {k: torch.from_numpy(v).to(device) for k, v in tg.items()},
    )


def class_counts(seqs: list[SequenceData]) -> np.ndarray:
    """Frames per dominant class (the animated class at relative intensity >= 0.5, else the CNN's
    rest class; a still's own class)."""
    counts = np.zeros(NUM_CLASSES)
    for s in seqs:
        dom = np.where(relative_intensity(s) >= 0.5, s.label, rest_distribution(s).argmax(-1))[s.detected]
        counts += np.bincount(dom[dom >= 0], minlength=NUM_CLASSES)
    return counts
