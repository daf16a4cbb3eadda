"""The evaluation report as a person reads it: the printed table and the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.io.plots import plot_confusions


def _fmt(x, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}" if pct else f"{x:.3f}"


def format_table(report: dict) -> str:
    m, b = report["model"], report["baseline"]
    rows = [
        (f"accuracy @ {int(round(float(p) * 100))}% seen (%)", m["accuracy_at"][p], b["accuracy_at"][p], True)
        for p in m["accuracy_at"]
    ]
    rows += [
        (
            f"  onset->apex @ {int(round(float(p) * 100))}% (%)",
            m["accuracy_at_onset_to_apex"][p],
            b["accuracy_at_onset_to_apex"][p],
            True,
        )
        for p in m["accuracy_at_onset_to_apex"]
    ]
    rows += [
        ("spotting precision (IoU>=0.5)", m["spotting"]["precision"], b["spotting"]["precision"], False),
        ("spotting recall", m["spotting"]["recall"], b["spotting"]["recall"], False),
        ("spotting F1", m["spotting"]["f1"], b["spotting"]["f1"], False),
        ("intensity MAE", m["intensity_mae"], b["intensity_mae"], False),
        ("label flips per second", m["label_flips_per_s"], b["label_flips_per_s"], False),
        ("frame accuracy (%)", m["frame_accuracy"], b["frame_accuracy"], True),
        ("  on expression frames (%)", m["frame_accuracy_expression"], b["frame_accuracy_expression"], True),
        ("  on rest frames (%)", m["frame_accuracy_rest"], b["frame_accuracy_rest"], True),
    ]
    ds = m.get("dataset", {})
    head = (
        f"{ds.get('name', 'dataset')}: {m['videos']} videos, {m['frames']} frames, "
        f"{m['intervals_scored']} expressions scored, {m['frames_without_face']} frames without a face"
    )
    lines = [head, f"{'':34s}{'model':>10s}{'baseline':>10s}"]
    lines += [f"{name:34s}{_fmt(a, pct):>10s}{_fmt(c, pct):>10s}" for name, a, c, pct in rows]
    counts = [f"{sp['n_pred']}/{sp['tp']}/{sp['n_true']}" for sp in (m["spotting"], b["spotting"])]
    lines.append(f"{'spotted / TP / true intervals':34s}{counts[0]:>10s}{counts[1]:>10s}")
    if "streaming_vs_batch" in m:
        lines.append(
            f"streaming vs batch forward: max |diff| of class probabilities "
            f"{m['streaming_vs_batch']['max_abs_diff_probs']:.2e} over {m['streaming_vs_batch']['frames']} "
            f"face-frames"
        )
    return "\n".join(lines)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


MODEL_TITLES = (("model", "recurrent (MV-LSTM)"), ("baseline", "frame-wise baseline"))


def plot_on_the_fly(report: dict, path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, marker, color, name in (
        ("model", "o", "C0", "recurrent (MV-LSTM)"),
        ("baseline", "s", "C1", "frame-wise baseline"),
    ):
        for field_, line, width, suffix in (
            ("accuracy_at", "-", 2.0, "onset -> offset"),
            ("accuracy_at_onset_to_apex", ":", 1.2, "onset -> apex"),
        ):
            acc = report[key][field_]
            xs = [100 * float(p) for p in acc]
            ys = [np.nan if a is None else 100 * a for a in acc.values()]
            ax.plot(
                xs,
                ys,
                marker=marker,
                linestyle=line,
                lw=width,
                color=color,
                label=f"{name}, {suffix}",
                alpha=1.0 if line == "-" else 0.7,
            )
    ds = report["model"].get("dataset", {})
    ax.set_title(f"On-the-fly accuracy: {ds.get('name', '')} ({report['model']['intervals_scored']} expressions)")
    ax.set_xlabel("share of the expression seen (%)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_confusion(report: dict, path) -> Path:
    panels = [
        (
            f"{title}: frame accuracy {_fmt(report[key]['frame_accuracy'], True)}%",
            np.array(report[key]["confusion_matrix"]),
        )
        for key, title in MODEL_TITLES
    ]
    return plot_confusions(panels, path, ylabel="true (dominant class per frame)")
