"""SAMM (Davison et al. 2018): spontaneous micro-movement clips at 200 fps.

Layout (``root`` may hold these directly or one or two levels down)::

    SAMM/006/006_1_2/006_05562.jpg ...
    SAMM_Micro_FACS_Codes_v2.xlsx                      (a .csv export works too)

The coding sheet starts with some rows of notes; the header row is found by its names
(case/space-insensitive): Subject, Filename, Onset Frame, Apex Frame, Offset Frame,
[Action Units], Estimated Emotion. Frame numbers are the numbers at the end of the
image file names.

Classes: Anger, Disgust, Fear, Happiness, Sadness, Surprise map; Contempt and Other do
not: skipped by default (counted), kept as OTHER with ``keep_others=True``. One interval
per clip, ``micro=True``. Subject is the 3-digit folder (Subject 6 -> "006").

Uncertain / tolerated: the number of note rows above the header (searched); the
frames folder is any folder up to three levels down holding 3-digit subject folders;
a clip folder not under its subject's folder is looked up under every subject folder.
A non-numeric apex puts the apex midway (noted in ``meta["notes"]``). SAMM ships no
aligned crops: ``aligned=True`` needs a copy where a folder naming "crop" holds the same
subject/clip layout.
"""

from __future__ import annotations

from collections import Counter

from .casme2 import annotation_file, coded_clip, coded_rows, frames_root
from .common import LabelMapper, VideoList
from .files import check_root, child, find_header, norm, read_table

NAME = "samm"
FPS = 200.0
EXPECTED = "SAMM/006/006_1_2/*.jpg and SAMM_Micro_FACS_Codes_v2.xlsx"
COLUMNS = {
    "subject": ("Subject",),
    "filename": ("Filename", "File name"),
    "onset": ("Onset Frame", "OnsetFrame", "Onset"),
    "apex": ("Apex Frame", "ApexFrame", "Apex"),
    "offset": ("Offset Frame", "OffsetFrame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
    "aus": ("Action Units", "AUs"),
}


def read(
    root,
    aligned: bool = False,
    keep_others: bool = False,
    emotion_map: dict | None = None,
    annotations=None,
    fps: float = FPS,
) -> VideoList:
    root = check_root(root, "SAMM", EXPECTED)
    sheet = annotation_file(
        root, annotations, lambda n: norm(n).startswith("samm") and "longvideo" not in norm(n), "SAMM", EXPECTED
    )
    rows = read_table(sheet)
    head = find_header(rows, COLUMNS, optional=("aus",))
    if head is None:
        raise ValueError(
            f"{sheet}: no header row with Subject, Filename, Onset Frame, Apex Frame, "
            f"Offset Frame and Estimated Emotion"
        )
    r0, col = head
    coded = coded_rows(
        rows[r0 + 1 :],
        col,
        lambda subject, clip: f"{int(subject):03d}" if subject.isdigit() else (subject or clip.split("_")[0]),
    )
    if not coded:
        raise ValueError(f"{sheet}: no coded clip found")
    frames_dir = frames_root(root, aligned, r"\d{3}", "SAMM", EXPECTED, [(s, c) for s, c, _ in coded])
    subjects = sorted(p for p in frames_dir.iterdir() if p.is_dir())
    mapper = LabelMapper(keep_others, emotion_map)
    skipped: Counter = Counter()
    remarks: Counter = Counter()
    out = []
    for subj, clip, row in coded:
        folder = child(frames_dir / subj, clip) if (frames_dir / subj).is_dir() else None
        if folder is None:
            folder = next((c for s in subjects if (c := child(s, clip)) is not None), None)
        if folder is None or not folder.is_dir():
            skipped["clip folder missing"] += 1
            continue
        video = coded_clip(NAME, subj, clip, folder, row, col, mapper, skipped, remarks, fps, aligned)
        if video is not None:
            out.append(video)
    return VideoList(out, NAME, str(root), skipped, remarks)
