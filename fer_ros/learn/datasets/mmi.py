"""MMI Facial Expression Database (Pantic et al. 2005; Valstar & Pantic 2010).

Layout (``root`` may be the folder holding ``Sessions`` or a parent)::

    Sessions/<session id>/S001-001.avi              # the video
                         /session.xml               # session metadata
                         /S001-001.xml              # <Metatag Name="Emotion" Value="1"/>, ...
                         /S001-001-oao_aucs.xml     # FACS coding with temporal segments

The reader follows the public description and code that reads these files:

- emotion: a ``Metatag`` element with ``Name="Emotion"`` in any of the session's xml
  files; ``Value`` 1 anger, 2 disgust, 3 fear, 4 happy, 5 sadness, 6 surprise (a word
  is accepted too). Other values, or none, skip the session ("class ..." /
  "no emotion label").
- onset/apex/offset: ``*-oao_aucs.xml`` holds ``ActionUnit Number=".."`` elements with
  ``Marker Frame="f" Type="t"`` children, 1-based frames, where each marker starts a
  temporal phase of that AU: 0 neutral, 1 onset, 2 apex, 3 offset. Per AU the onset
  is the first type-1 frame, the apex runs from the next type-2 frame to the frame
  before the next type-3 one, and the offset runs to the frame before the next type-0
  (or to the end). The expression interval joins the AUs: onset = the earliest AU
  onset, offset = the latest AU offset, apex = the first run of frames where the most
  AUs are at their apex. Sessions without usable markers are skipped ("no
  onset/apex/offset coding").
- subject: a ``subject`` element's ``id`` in session.xml, else a ``Metatag`` named
  Subject, else the ``S001`` prefix of the video name, else the session folder.

Image-only sessions (stills, no video) are skipped ("no video"). fps from the video
header (25 when absent).

Uncertain (no copy of the data was at hand): the exact tag and attribute names and the
marker type codes above. Tags and attributes are matched case-insensitively and
namespaces are ignored, so small differences still parse; a copy that codes the
temporal segments differently would need a change here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np

from .common import LabelledVideo, LabelMapper, Span, VideoList, dense_labels
from .files import VIDEO_EXTS, check_root, find_dir, to_int, video_length

NAME = "mmi"
FPS = 25.0
CODES = {1: "anger", 2: "disgust", 3: "fear", 4: "happy", 5: "sadness", 6: "surprise"}
EXPECTED = "Sessions/<id>/S001-001.avi with session.xml, S001-001.xml and S001-001-oao_aucs.xml"


def _tag(el) -> str:
    return el.tag.rsplit("}", 1)[-1].lower()


def _attrs(el) -> dict[str, str]:
    return {k.rsplit("}", 1)[-1].lower(): v for k, v in el.attrib.items()}


def _parse(path: Path):
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None


def _metatag(roots, name: str) -> str | None:
    for root in roots:
        for el in root.iter():
            a = _attrs(el)
            if _tag(el) == "metatag" and a.get("name", "").strip().lower() == name:
                return a.get("value")
    return None


def _subject(roots, video: Path, session: Path) -> str:
    for root in roots:
        for el in root.iter():
            if _tag(el) == "subject":
                a = _attrs(el)
                sid = a.get("id") or a.get("subjectid") or a.get("name")
                if sid:
                    return f"S{int(sid):03d}" if sid.isdigit() else sid
    value = _metatag(roots, "subject")
    if value:
        return f"S{int(value):03d}" if value.strip().isdigit() else value.strip()
    m = re.match(r"(S\d+)", video.stem, re.I)
    return m.group(1).upper() if m else session.name


def au_segments(root) -> list[tuple[int, int, int, int]]:
    """(onset, apex, apex_end, offset) per coded AU, 0-based, offset None when it runs to the end."""
    out = []
    for au in root.iter():
        if _tag(au) != "actionunit":
            continue
        marks = []
        for m in au:
            if _tag(m) != "marker":
                continue
            a = _attrs(m)
            try:
                marks.append((int(a["frame"]) - 1, int(a["type"])))
            except (KeyError, ValueError):
                continue
        marks.sort()
        o = next((f for f, t in marks if t == 1), None)
        if o is None:
            continue
        a0 = next((f for f, t in marks if t == 2 and f >= o), None)
        if a0 is None:
            continue
        f3 = next((f for f, t in marks if t == 3 and f > a0), None)
        a1 = f3 - 1 if f3 is not None else None
        f0 = next((f for f, t in marks if t == 0 and f > (f3 if f3 is not None else a0)), None)
        end = f0 - 1 if f0 is not None else None
        out.append((o, a0, a1, end))
    return out


def join_segments(segments, length: int) -> tuple[int, int, int, int] | None:
    """One expression interval from per-AU segments (see the module docstring)."""
    if not segments:
        return None
    onset = min(s[0] for s in segments)
    ends = [length - 1 if s[3] is None else s[3] for s in segments]
    offset = max(ends)
    at_apex = np.zeros(length + 1, int)
    for (_o, a0, a1, _), end in zip(segments, ends):
        a1 = end if a1 is None else a1
        lo, hi = max(a0, 0), min(a1, length - 1)
        if hi >= lo:
            at_apex[lo : hi + 1] += 1
    if at_apex.max() == 0:
        apex = apex_end = min(max(min(s[1] for s in segments), onset), offset)
    else:
        top = np.flatnonzero(at_apex == at_apex.max())
        apex = int(top[0])
        run = np.flatnonzero(np.diff(top) != 1)
        apex_end = int(top[run[0]]) if len(run) else int(top[-1])
    return onset, apex, apex_end, offset


def read(
    root, aligned: bool = False, keep_others: bool = False, emotion_map: dict | None = None, fps: float | None = None
) -> VideoList:
    root = check_root(root, "MMI", EXPECTED)
    if aligned:
        raise ValueError(f"{root}: MMI ships no aligned face crops; run without aligned")
    sessions = find_dir(root, ["Sessions"])
    if sessions is None:
        raise ValueError(f"{root} does not look like MMI: no Sessions folder (expected {EXPECTED})")
    mapper = LabelMapper(keep_others, emotion_map)
    skipped: Counter = Counter()
    out = []
    dirs = [p for p in sessions.iterdir() if p.is_dir() and not p.name.startswith(".")]
    dirs.sort(key=lambda p: (0, int(p.name)) if p.name.isdigit() else (1, p.name))
    for session in dirs:
        videos = sorted(p for p in session.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS)
        if not videos:
            skipped["no video"] += 1
            continue
        video = videos[0]
        xmls = sorted(p for p in session.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
        roots = [r for r in (_parse(p) for p in xmls) if r is not None]
        value = _metatag(roots, "emotion")
        if value is None or not value.strip():
            skipped["no emotion label"] += 1
            continue
        code = to_int(value)
        raw = CODES.get(code, f"code {code}") if code is not None else value.strip()
        cls = mapper(raw, skipped)
        if cls is None:
            continue
        length, header_fps = video_length(video)
        segments = [s for r in roots for s in au_segments(r)]
        joined = join_segments(segments, length)
        if joined is None or length < 2:
            skipped["no onset/apex/offset coding"] += 1
            continue
        o, a, a1, f = joined
        label, inten, phase, intervals = dense_labels(length, [Span(o, a, a1, f, cls, False)])
        if not intervals:
            skipped["coding outside the video"] += 1
            continue
        out.append(
            LabelledVideo(
                NAME,
                f"{session.name}/{video.stem}",
                _subject(roots, video, session),
                float(fps or header_fps or FPS),
                label,
                inten,
                phase,
                intervals,
                aligned=False,
                video_path=video,
                frame_numbers=np.arange(1, length + 1, dtype=np.int64),
                meta={"emotion": raw, "session": session.name, "aus": len(segments)},
            )
        )
    return VideoList(out, NAME, str(root), skipped)
