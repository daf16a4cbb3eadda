"""Plots a person would rather look at than read: the per-face timeline of a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.model.classes import CLASS_NAMES

# One BGR colour per class, fixed so plots and videos agree.
CLASS_COLORS = {
    "neutral": (160, 160, 160), "angry": (40, 40, 220), "disgust": (40, 140, 40),
    "fear": (160, 60, 160), "happy": (0, 200, 255), "sad": (200, 120, 40), "surprise": (200, 200, 0),
}

def plot_timeline(history: dict, intervals: list[dict], path: Path) -> Path:
    """Per face: class scores over time, intensity dashed, spotted intervals shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = sorted(history)
    fig, axes = plt.subplots(len(ids), 1, figsize=(11, 2.6 * len(ids) + 0.6), squeeze=False, sharex=True)
    for ax, fid in zip(axes[:, 0], ids):
        t = np.array([h[0] for h in history[fid]])
        scores = np.stack([h[1] for h in history[fid]])
        for k, name in enumerate(CLASS_NAMES):
            b, g, r = CLASS_COLORS[name]
            ax.plot(t, scores[:, k], color=(r / 255, g / 255, b / 255), lw=1.2, label=name)
        ax.plot(t, [h[2] for h in history[fid]], "k--", lw=1, label="intensity")
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
