"""Videos labelled by frame segments: a CSV a person writes by watching footage.

Layout: ``PATH`` is a CSV file (or a folder holding ``*.csv``) with a header and one row
per labelled stretch of frames::

    video,first,last,label,subject
    WolfgangLanger_Pexels.mp4,0,135,sad,woman
    WolfgangLanger_Pexels.mp4,140,230,fear,woman

``first``/``last``: 0-based frame indices, inclusive. ``label``: a class name (or an
emotion word of common.EMOTION_WORDS). ``subject`` is optional (default: the video's
name). ``video`` is a path relative to the CSV's folder; when there is no such file, the
fetched sample media (``python -m fer_ros.io.media fetch``) are tried, so label files for
those clips can ship with the package (fer_ros/data/).

Ground truth: each expression segment is one interval whose apex spans the whole
segment (a person watching a clip sees *that* an expression shows, not its onset and
offset frames), so its frames have label = the class and intensity 1, and frames outside
every segment are not scored (label OTHER). Segments labelled neutral are scored as
neutral and are no interval. Because the onsets and offsets are only where the labeller
started and stopped, spotting figures on such videos say little; frame accuracy, the
confusion matrix and accuracy at a fraction of each segment are what they are for. The
intensity is not known (``intensity_known`` False: no intensity error is scored).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from fer_ros.model.classes import NEUTRAL

from .common import OTHER, LabelledVideo, LabelMapper, Span, VideoList, dense_labels
from .files import video_length

NAME = "segments"
EXPECTED = "a CSV file (or a folder of them) with columns video,first,last,label[,subject]"
COLUMNS = ("video", "first", "last", "label")


def _video_path(csv_path: Path, name: str) -> Path:
    path = csv_path.parent / name
    if path.is_file():
        return path
    from fer_ros.io.media import media_dir

    fetched = Path(media_dir()) / name
    if fetched.is_file():
        return fetched
    raise ValueError(
        f"{csv_path}: video {name!r} not found next to the CSV nor in the sample media "
        f"({fetched}; python -m fer_ros.io.media fetch)"
    )


def _rows(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {', '.join(missing)}; expected {EXPECTED}")
        return [dict(r, _line=n + 2) for n, r in enumerate(reader)]


def read(
    root: Path,
    aligned: bool = False,
    keep_others: bool = False,
    emotion_map: dict | None = None,
    fps: float | None = None,
) -> VideoList:
    root = Path(root)
    if aligned:
        raise ValueError(f"{NAME}: labelled videos are whole frames (aligned=True is refused)")
    files = sorted(root.glob("*.csv")) if root.is_dir() else [root]
    if not files or not all(f.is_file() for f in files):
        raise ValueError(f"{root}: no label CSV; expected {EXPECTED}")
    mapper = LabelMapper(keep_others, emotion_map)
    skipped, notes = Counter(), Counter()
    by_video: dict[Path, list] = defaultdict(list)
    subject_of: dict[Path, str] = {}
    for csv_path in files:
        for row in _rows(csv_path):
            where = f"{csv_path}:{row['_line']}"
            try:
                first, last = int(row["first"]), int(row["last"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: first/last must be frame numbers, got {row['first']!r}, {row['last']!r}"
                ) from None
            if first < 0 or last < first:
                raise ValueError(f"{where}: bad segment {first}..{last} (0 <= first <= last)")
            label = mapper(row["label"], skipped)
            if label is None:
                continue
            video = _video_path(csv_path, row["video"].strip())
            by_video[video].append((first, last, label, where))
            subject_of[video] = (row.get("subject") or "").strip() or video.stem
    videos = []
    for video, segs in by_video.items():
        length, video_fps = video_length(video)
        segs.sort()
        for (_a0, a1, _l, w), (b0, _b1, _m, w2) in zip(segs, segs[1:]):
            if b0 <= a1:
                raise ValueError(f"{w2}: segment overlaps the one of {w}")
        spans = []
        for first, last, label, where in segs:
            if last >= length:
                raise ValueError(f"{where}: frame {last} but {video.name} has {length} frames")
            if label != NEUTRAL:
                spans.append(Span(first, first, last, last, label))
        lab, inten, phase, intervals = dense_labels(length, spans)
        known = np.zeros(length, bool)
        for first, last, _label, _w in segs:
            known[first : last + 1] = True
        lab[~known] = OTHER
        notes["frames not labelled"] += int((~known).sum())
        videos.append(
            LabelledVideo(
                NAME,
                video.stem,
                subject_of[video],
                float(fps or video_fps or 30.0),
                lab,
                inten,
                phase,
                intervals,
                video_path=video,
                intensity_known=False,
                meta={"labels": [str(f) for f in files]},
            )
        )
    return VideoList(videos, NAME, str(root), skipped, notes)
