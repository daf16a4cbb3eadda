"""Plots a person would rather look at than read: the per-face timeline of a run, confusion
matrices, training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.model.classes import CLASS_NAMES

# One BGR colour per class, fixed so plots and videos agree.
CLASS_COLORS = {
    "neutral": (160, 160, 160),
    "angry": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (160, 60, 160),
    "happy": (0, 200, 255),
    "sad": (200, 120, 40),
    "surprise": (200, 200, 0),
}


def plot_timeline(series: dict[int, dict[str, np.ndarray]], intervals: list[dict], out) -> None:
    """Per face: class scores over time, intensity dashed, spotted intervals shaded. ``series``:
    face id -> {"t": (n,), "scores": (n, 7), "intensity": (n,)}; ``out``: a path or a binary file."""
    plt = _pyplot()
    ids = sorted(series)
    fig, axes = plt.subplots(len(ids), 1, figsize=(11, 2.6 * len(ids) + 0.6), squeeze=False, sharex=True)
    for ax, fid in zip(axes[:, 0], ids):
        t, scores = series[fid]["t"], series[fid]["scores"]
        for k, name in enumerate(CLASS_NAMES):
            b, g, r = CLASS_COLORS[name]
            ax.plot(t, scores[:, k], color=(r / 255, g / 255, b / 255), lw=1.2, label=name)
        ax.plot(t, series[fid]["intensity"], "k--", lw=1, label="intensity")
        for iv in intervals:
            if iv["id"] == fid and iv["onset_stamp"] is not None and iv["offset_stamp"] is not None:
                b, g, r = CLASS_COLORS[iv["label"]]
                ax.axvspan(iv["onset_stamp"], iv["offset_stamp"], color=(r / 255, g / 255, b / 255), alpha=0.18)
                ax.text(iv["onset_stamp"], 1.02, iv["label"], fontsize=8, va="bottom")
        ax.set_ylim(0, 1.12)
        ax.set_ylabel(f"face #{fid}")
    axes[0, 0].legend(ncol=8, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 1.38))
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusions(panels: list[tuple[str, np.ndarray]], path, ylabel: str = "true class") -> Path:
    """Side-by-side confusion matrices (title, (C, C) counts: rows true, columns predicted), each
    cell shaded by its share of the row and labelled with its count."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.2), squeeze=False)
    for ax, (title, cm) in zip(axes[0], panels):
        cm = np.asarray(cm, float)
        rows = cm.sum(1, keepdims=True)
        norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(cm)):
            for j in range(len(cm)):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        f"{int(cm[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if norm[i, j] > 0.6 else "black",
                    )
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=45, ha="right")
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES)
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_training_curves(history: list[dict], path) -> Path:
    """Loss and accuracy per epoch of a training run (``train_loss``, ``val_loss``, ``train_acc``,
    ``val_acc``, ``val_uar`` per row)."""
    plt = _pyplot()
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(ep, [h["train_loss"] for h in history], label="train")
    a.plot(ep, [h["val_loss"] for h in history], label="validation")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy")
    a.legend()
    b.plot(ep, [100 * h["train_acc"] for h in history], label="train (augmented)")
    b.plot(ep, [100 * h["val_acc"] for h in history], label="validation accuracy")
    b.plot(ep, [100 * h["val_uar"] for h in history], label="validation UAR", ls="--")
    b.set_xlabel("epoch")
    b.set_ylabel("%")
    b.legend()
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return Path(path)
