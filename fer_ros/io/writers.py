"""Run outputs: frames.jsonl, intervals.jsonl, annotated video or images, timeline plot.

JSON lines are flushed as they are written, so whatever a run has written stays valid
if it is stopped or hits a bad frame later.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine.engine import FaceResult, FrameResult
from fer_ros.engine.spotter import STATUS_ENDED, IntervalEvent
from fer_ros.model.classes import CLASS_NAMES

from .plots import CLASS_COLORS, plot_timeline


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def interval_json(ev: IntervalEvent) -> dict:
    return {
        "id": ev.face_id,
        "label": ev.label,
        "confidence": round(ev.confidence, 4),
        "onset": ev.onset,
        "apex": ev.apex,
        "offset": ev.offset,
        "onset_stamp": _num(ev.onset_stamp),
        "apex_stamp": _num(ev.apex_stamp),
        "offset_stamp": _num(ev.offset_stamp),
        "peak_intensity": round(ev.peak_intensity, 4),
        "end_reason": ev.end_reason,
    }


def draw_faces(image: np.ndarray, faces: list[FaceResult]) -> np.ndarray:
    """Boxes, ids, labels and a live score bar per face, drawn on a copy."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 500))
    for f in faces:
        x, y, bw, bh = (int(round(v)) for v in f.box)
        color = CLASS_COLORS[f.label]
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thick)
        text = f"#{f.id} {f.label} {f.confidence:.2f} {f.phase}"
        cv2.putText(out, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick, color, thick, cv2.LINE_AA)
        # Score bar: one row per class beside the box.
        bx = x + bw + 4 if x + bw + 90 < w else max(0, x - 90)
        for k, (name, p) in enumerate(zip(CLASS_NAMES, f.scores)):
            by = y + k * 11
            cv2.rectangle(out, (bx, by), (bx + int(60 * p), by + 8), CLASS_COLORS[name], -1)
            cv2.putText(
                out, name[:3], (bx + 62, by + 8), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1, cv2.LINE_AA
            )
    return out


class ResultWriter:
    """Writes every output of one run into ``out_dir``."""

    def __init__(self, out_dir: str | Path, fps: float, stills: bool = False):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fps, self.stills = fps, stills
        self._frames = open(self.dir / "frames.jsonl", "w")
        self._intervals = open(self.dir / "intervals.jsonl", "w")
        self._video = None
        self._video_size = None
        self.history: dict[int, list[tuple[float, np.ndarray, float, float]]] = defaultdict(list)
        self.intervals: list[dict] = []
        if stills:
            (self.dir / "annotated").mkdir(exist_ok=True)

    def events(self, events: list[IntervalEvent]) -> None:
        for ev in events:
            if ev.status == STATUS_ENDED:
                row = interval_json(ev)
                self.intervals.append(row)
                self._intervals.write(json.dumps(row) + "\n")
                self._intervals.flush()

    def frame(self, result: FrameResult, image: np.ndarray | None, name: str | None = None) -> None:
        row = result.to_json()
        if name is not None and self.stills:
            row["file"] = name
        self._frames.write(json.dumps(row) + "\n")
        self._frames.flush()
        for f in result.faces:
            self.history[f.id].append((result.stamp, f.scores, f.intensity, f.activity))
        self.events(result.events)
        if image is not None and image.size and image.ndim in (2, 3):
            self._annotate(
                draw_faces(image if image.ndim == 2 or image.shape[2] == 3 else image[:, :, :3], result.faces),
                name or f"frame_{result.frame:06d}",
            )
        elif self._video is not None:
            # Keep the annotated video in step with the input: a skipped frame shows as a
            # black frame saying why.
            w, h = self._video_size
            blank = np.zeros((h, w, 3), np.uint8)
            cv2.putText(
                blank,
                f"frame {result.frame} skipped",
                (10, 30),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.7,
                (0, 0, 255),
                2,
                cv2.LINE_AA,
            )
            cv2.putText(
                blank,
                (result.error or "")[:80],
                (10, 60),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                (200, 200, 200),
                1,
                cv2.LINE_AA,
            )
            self._video.write(blank)

    def _annotate(self, image: np.ndarray, name: str) -> None:
        if self.stills:
            # The still's path below the input folder, name and format kept: two stills never share a file.
            path = self.dir / "annotated" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), image):
                cv2.imwrite(str(path.with_name(path.name + ".png")), image)  # a format OpenCV cannot write
            return
        if self._video is None:
            self._video_size = (image.shape[1], image.shape[0])
            self._video = cv2.VideoWriter(
                str(self.dir / "annotated.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._video_size
            )
        if (image.shape[1], image.shape[0]) != self._video_size:
            image = cv2.resize(image, self._video_size)
        self._video.write(image)

    def close(self, final_events: list[IntervalEvent] = ()) -> dict[str, Path]:
        self.events(list(final_events))
        self._frames.close()
        self._intervals.close()
        outputs = {"frames": self.dir / "frames.jsonl", "intervals": self.dir / "intervals.jsonl"}
        if self._video is not None:
            self._video.release()
            outputs["annotated"] = self.dir / "annotated.mp4"
        if self.stills:
            outputs["annotated"] = self.dir / "annotated"
        elif self.history:
            outputs["timeline"] = plot_timeline(self.history, self.intervals, self.dir / "timeline.png")
        return outputs
