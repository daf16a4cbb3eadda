"""`pip install <repo>` into an empty virtual environment gives a working `fer-ros`.

No requirements file: setup.py's install_requires alone must bring everything the engine, the
CLI and the sample run need. torch is installed first, pinned to the CPU build this machine
keeps on disk, as a user picks the build for their platform (a bare `torch>=2.4` from the
index would be a multi-GB CUDA build); everything else resolves from setup.py. The sources
are copied first (the tracked and unignored files), so the build leaves nothing in the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from fer_ros.io.media import SHORT_FACE_CLIP, media_path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"


def _sources(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def test_pip_install_into_an_empty_venv_runs_the_engine(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to list the sources")
    src, env_dir = tmp_path / "src", tmp_path / "venv"
    _sources(src)
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AMENT", "ROS"))}
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for args in ([TORCH], [str(src)]):
        proc = subprocess.run(pip + args, capture_output=True, text=True, timeout=1200, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(env_dir / "bin" / "fer-ros"), "video", str(media_path(SHORT_FACE_CLIP)), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert len(rows) > 20 and sum(len(r["faces"]) == 1 for r in rows) >= 0.9 * len(rows)
    # the installed package, not the checkout, ran
    where = subprocess.run(
        [str(py), "-c", "import fer_ros; print(fer_ros.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert str(env_dir) in where and str(ROOT) not in where
    assert sys.prefix != str(env_dir)
