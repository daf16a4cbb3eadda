"""CASME II (Yan et al. 2014): spontaneous micro-expression clips at 200 fps.

Layout (``root`` may hold these directly or one or two levels down)::

    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ... img86.jpg
    Cropped/sub01/EP02_01f/reg_img46.jpg ...           (aligned crops, aligned=True)
    CASME2-coding-20140508.xlsx                       (a .csv export works too)

Coding sheet columns (header names compared case/space-insensitively): Subject,
Filename, OnsetFrame, ApexFrame, OffsetFrame, [Action Units], Estimated Emotion.
Frame numbers in the sheet are the numbers in the image file names; each clip folder
holds the selected frames around onset..offset.

Classes: happiness, disgust, surprise, fear, sadness map to CLASS_NAMES; repression
and others do not: skipped by default (counted as "class repression" / "class
others"), kept as OTHER (scored for spotting, not for accuracy) with
``keep_others=True``. One interval per clip, ``micro=True``.

Uncertain / tolerated: Subject may be written 1, "1" or "01" (folders are sub01); an
apex cell that is not a number (a few read "/") puts the apex midway between onset and
offset; a missing offset runs to the last frame (both noted in ``meta["notes"]`` and
counted in the list's ``notes``). The
frames folder is any folder up to three levels down holding ``subNN`` folders: for
``aligned=True`` one whose path names "crop", otherwise one that does not (a name with
"selected" preferred).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .common import LabelledVideo, LabelMapper, Span, VideoList, dense_labels
from .files import (
    TABLE_EXTS,
    check_root,
    child,
    find_dirs_with_children,
    find_files,
    find_header,
    norm,
    position,
    read_table,
    sorted_images,
    text,
    to_int,
)

NAME = "casme2"
FPS = 200.0
EXPECTED = "CASME2_RAW_selected/sub01/EP02_01f/img*.jpg (or Cropped/...) and CASME2-coding-*.xlsx"
COLUMNS = {
    "subject": ("Subject", "Sub"),
    "filename": ("Filename", "File name", "Folder"),
    "onset": ("OnsetFrame", "Onset Frame", "Onset"),
    "apex": ("ApexFrame", "Apex Frame", "Apex"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion", "Estimated Emotions"),
    "aus": ("Action Units", "AUs", "Action Unit"),
}


def frames_root(
    root: Path, aligned: bool, subject_pattern: str, dataset: str, expected: str, clips: list[tuple[str, str]] = ()
) -> Path:
    """The folder holding the per-subject folders (raw frames or crops).

    Among candidates (any folder up to three levels down with children matching
    ``subject_pattern``), the one holding most of the coded ``clips`` (subject, clip) wins.
    """
    found = find_dirs_with_children(root, subject_pattern)
    rel = {p: norm(p.relative_to(root)) if p != root else norm(p.name) for p in found}
    pick = [p for p in found if ("crop" in rel[p]) == aligned]
    if not pick:
        kind = "aligned-crop (a path naming 'crop')" if aligned else "raw frame"
        raise ValueError(
            f"{root} does not look like {dataset}: no {kind} folder of subject folders (expected {expected})"
        )
    pick.sort(key=lambda p: ("selected" not in rel[p], len(p.parts), str(p)))
    hits = [sum((p / s / c).is_dir() for s, c in clips) for p in pick]
    best = pick[hits.index(max(hits))]
    if clips and max(hits) == 0:
        raise ValueError(
            f"{root}: none of the {len(clips)} clips in the coding sheet is a folder under {best} (expected {expected})"
        )
    return best


def annotation_file(root: Path, annotations, match, dataset: str, expected: str) -> Path:
    if annotations is not None:
        path = Path(annotations).expanduser()
        if not path.is_file():
            raise ValueError(f"{path}: annotation file not found")
        return path
    files = [
        p
        for p in find_files(root, lambda n: Path(n).suffix.lower() in TABLE_EXTS and match(n))
        if not p.name.startswith(("~$", "."))
    ]
    if not files:
        raise ValueError(
            f"{root} does not look like {dataset}: no coding spreadsheet found "
            f"(expected {expected}; or pass annotations=PATH)"
        )
    return files[0]


def read(
    root,
    aligned: bool = False,
    keep_others: bool = False,
    emotion_map: dict | None = None,
    annotations=None,
    fps: float = FPS,
) -> VideoList:
    root = check_root(root, "CASME II", EXPECTED)
    sheet = annotation_file(root, annotations, lambda n: "coding" in n.lower(), "CASME II", EXPECTED)
    rows = read_table(sheet)
    head = find_header(rows, COLUMNS, optional=("aus",))
    if head is None:
        raise ValueError(
            f"{sheet}: no header row with Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame and Estimated Emotion"
        )
    r0, col = head
    coded = coded_rows(
        rows[r0 + 1 :],
        col,
        lambda subject, clip: (f"sub{int(subject):02d}" if subject.isdigit() else subject) if subject else None,
    )
    if not coded:
        raise ValueError(f"{sheet}: no coded clip found")
    frames_dir = frames_root(root, aligned, r"sub\d+", "CASME II", EXPECTED, [(s, c) for s, c, _ in coded])
    mapper = LabelMapper(keep_others, emotion_map)
    skipped: Counter = Counter()
    remarks: Counter = Counter()
    out = []
    for subj, clip, row in coded:
        folder = child(frames_dir, subj)
        folder = child(folder, clip) if folder is not None else None
        if folder is None or not folder.is_dir():
            skipped["clip folder missing"] += 1
            continue
        video = coded_clip(NAME, subj, clip, folder, row, col, mapper, skipped, remarks, fps, aligned)
        if video is not None:
            out.append(video)
    return VideoList(out, NAME, str(root), skipped, remarks)


def coded_rows(rows, col, folder_of) -> list[tuple[str, str, list]]:
    """(subject folder, clip, padded row) for each coded spreadsheet row (CASME II / SAMM layout).

    ``folder_of(subject, clip)`` names the subject's folder, or None to skip the row.
    """
    out = []
    for row in rows:
        row = list(row) + [None] * (max(col.values()) + 1 - len(row))
        subject, clip = text(row[col["subject"]]), text(row[col["filename"]])
        folder = folder_of(subject, clip) if clip else None
        if folder:
            out.append((folder, clip, row))
    return out


def coded_clip(
    dataset, subj, clip, folder, row, col, mapper, skipped: Counter, remarks: Counter, fps, aligned
) -> LabelledVideo | None:
    """One spreadsheet-coded clip (CASME II / SAMM layout) as a video; None (counted) when skipped."""
    raw = text(row[col["emotion"]])
    cls = mapper(raw, skipped)
    if cls is None:
        return None
    frames, numbers = sorted_images(folder)
    if len(frames) < 2:
        skipped["too few frames"] += 1
        return None
    span, notes = clip_span(row, col, numbers, cls)
    remarks.update(notes)
    label, inten, phase, intervals = dense_labels(len(frames), [span])
    return LabelledVideo(
        dataset,
        f"{subj}/{clip}",
        subj,
        float(fps),
        label,
        inten,
        phase,
        intervals,
        aligned=aligned,
        frame_paths=frames,
        frame_numbers=numbers,
        meta={"emotion": raw, "aus": text(row[col["aus"]]) if "aus" in col else "", "notes": notes},
    )


def clip_span(row, col, numbers, cls) -> tuple[Span, list[str]]:
    """Onset/apex/offset of one coded clip, as positions among ``numbers``."""
    notes = []
    on, ap, off = (to_int(row[col[k]]) for k in ("onset", "apex", "offset"))
    o = position(numbers, on) if on is not None else 0
    if on is None:
        notes.append("onset missing: first frame")
    f = position(numbers, off) if off is not None and off > 0 else len(numbers) - 1
    if off is None or off <= 0:
        notes.append("offset missing: last frame")
    if ap is None or (on is not None and ap < on) or (off is not None and off > 0 and ap > off):
        a = (o + f) // 2
        notes.append("apex missing or outside onset..offset: midway")
    else:
        a = position(numbers, ap)
    return Span(o, a, a, f, cls, True), notes
