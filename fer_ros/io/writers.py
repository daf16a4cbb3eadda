"""Run outputs: frames.jsonl, intervals.jsonl, annotated video or images, timeline plot.

The writer streams: every frame goes to disk as it comes and nothing per frame stays in
memory, so a camera left running for a day keeps a flat footprint. The timeline plot is
drawn at the end from what was written (frames.jsonl, read back a bounded number of rows
per face), so it shows exactly what the files hold.

What is on disk never misleads: JSON lines are whole or absent (outputs.JsonLines), the
annotated video is renamed to annotated.mp4 only when it is complete and holds one frame per
frames.jsonl line, images and the plot are written through a temporary name. An output that
cannot be written (full disk, read-only folder) raises one ``OutputError`` naming it.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from fer_ros.engine.results import FrameResult
from fer_ros.engine.spotter import STATUS_ENDED, IntervalEvent
from fer_ros.model.classes import CLASS_NAMES
from fer_ros.model.errors import OutputError

from .annotate import AnnotatedStills, AnnotatedVideo, draw_faces
from .outputs import JsonLines, atomic_write, make_dir, read_jsonl
from .plots import plot_timeline
from .sources import check_fps

__all__ = ["ResultWriter", "interval_json", "draw_faces"]

# The timeline plot: the faces seen longest (one panel each), at most this many points per face
# (the figure is about 1200 pixels wide: more points draw nothing more).
MAX_PLOTTED_FACES = 8
MAX_POINTS = 2000


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def interval_json(ev: IntervalEvent) -> dict:
    return {
        "id": int(ev.face_id),
        "label": ev.label,
        "confidence": round(float(ev.confidence), 4),
        "onset": int(ev.onset),
        "apex": int(ev.apex),
        "offset": int(ev.offset),
        "onset_stamp": _num(ev.onset_stamp),
        "apex_stamp": _num(ev.apex_stamp),
        "offset_stamp": _num(ev.offset_stamp),
        "peak_intensity": round(float(ev.peak_intensity), 4),
        "end_reason": ev.end_reason,
    }


class ResultWriter:
    """Writes every output of one run into ``out_dir``; a context manager (``close`` on exit)."""

    def __init__(self, out_dir: str | Path, fps: float, stills: bool = False):
        self.dir = Path(out_dir)
        self.fps, self.stills = check_fps(fps), stills
        make_dir(self.dir)
        self._frames = JsonLines(self.dir / "frames.jsonl")
        self._intervals = JsonLines(self.dir / "intervals.jsonl")
        self._video = None if stills else AnnotatedVideo(self.dir / "annotated.mp4", self.fps)
        self._stills = AnnotatedStills(self.dir / "annotated") if stills else None
        self._face_frames: Counter[int] = Counter()  # frames per face id: one int per id, never per frame
        self._closed: dict[str, Path] | None = None

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        if self._closed is None:
            self.close()

    @property
    def frames_written(self) -> int:
        return self._frames.lines

    def events(self, events: list[IntervalEvent]) -> None:
        for ev in events:
            if ev.status == STATUS_ENDED:
                self._intervals.write(interval_json(ev))

    def frame(self, result: FrameResult, image: np.ndarray | None, name: str | None = None) -> None:
        """One frames.jsonl line, its annotated frame (a placeholder when ``image`` is None or the
        result has an error) and the intervals its events end."""
        row = result.to_json()
        if name is not None and self.stills:
            row["file"] = name
        self._frames.write(row)
        self._face_frames.update(f.id for f in result.faces)
        self.events(result.events)
        usable = image is not None and result.error is None
        if self._video is not None:
            if usable:
                self._video.add(image, result.faces, result.frame)
            else:
                self._video.skipped(result.frame, result.error)
        elif self._stills is not None and usable:
            self._stills.add(image, result.faces, name or f"frame_{result.frame:06d}.png")

    def close(self, final_events: list[IntervalEvent] = ()) -> dict[str, Path]:
        """Write ``final_events``, finalise every output, draw the timeline; returns name -> path.
        Every output is closed even when one fails; the first failure is raised after."""
        if self._closed is not None:
            return self._closed
        outputs = {"frames": self._frames.path, "intervals": self._intervals.path}
        failures: list[OutputError] = []

        def attempt(name: str, step) -> None:
            try:
                path = step()
            except OutputError as e:
                failures.append(e)
                return
            if path is not None:
                outputs[name] = path

        attempt("", lambda: self.events(list(final_events)))
        self._intervals.close()
        self._frames.close()
        if self._video is not None:
            attempt("annotated", self._video.close)
        if self._stills is not None:
            outputs["annotated"] = self._stills.folder
        attempt("timeline", self._timeline)
        self._closed = outputs
        if failures:
            raise failures[0]
        return outputs

    def _timeline(self) -> Path | None:
        """timeline.png from frames.jsonl and intervals.jsonl as written (video runs with faces)."""
        if self.stills or not self._face_frames:
            return None
        faces = [fid for fid, _ in self._face_frames.most_common(MAX_PLOTTED_FACES)]
        longest = max(self._face_frames[f] for f in faces)
        series = _read_series(self._frames.path, set(faces), stride=math.ceil(longest / MAX_POINTS))
        intervals = [iv for iv in read_jsonl(self._intervals.path) if iv["id"] in series]
        buffer = io.BytesIO()
        plot_timeline(series, intervals, buffer)
        path = self.dir / "timeline.png"
        atomic_write(path, buffer.getvalue())
        return path


def _read_series(frames: Path, faces: set[int], stride: int) -> dict[int, dict[str, np.ndarray]]:
    """Per face of ``faces``: stamps, scores (n, 7) and intensity of every ``stride``-th line of
    frames.jsonl (the lines in between are not even parsed)."""
    rows: dict[int, list[tuple]] = {fid: [] for fid in faces}
    with open(frames, "rb") as lines:
        for k, line in enumerate(lines):
            if k % stride:
                continue
            row = json.loads(line)
            for f in row["faces"]:
                if f["id"] in rows:
                    rows[f["id"]].append((row["stamp"], [f["scores"][c] for c in CLASS_NAMES], f["intensity"]))
    return {
        fid: {
            "t": np.array([r[0] for r in samples], float),
            "scores": np.array([r[1] for r in samples], float).reshape(-1, len(CLASS_NAMES)),
            "intensity": np.array([r[2] for r in samples], float),
        }
        for fid, samples in rows.items()
        if samples
    }
