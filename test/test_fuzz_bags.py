"""Damaged bags, in both storage formats, generated here: truncated at random points, garbage
files, random bytes overwritten inside. `fer-ros bag` ends with exit 0 (the damage was in pixels or
a message it skips) or with one error line and exit 2 (the bag cannot be opened, or is damaged
part-way) -- never a traceback -- and in every case the output bag holds one FrameExpressions
per image that rosbags could still read and decode before the damage.
"""

from __future__ import annotations

import logging
import random
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import Run, assert_one_line_error, fer_ros

pytest.importorskip("rosbags")

from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.rosbag2 import StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402

from fer_ros.cli import main  # noqa: E402
from fer_ros.engine.images import as_bgr  # noqa: E402
from fer_ros.io.media import SHORT_FACE_CLIP  # noqa: E402
from fer_ros.ros.bag_messages import decode_image  # noqa: E402

STORE = get_typestore(Stores.ROS2_JAZZY)
Image = STORE.types["sensor_msgs/msg/Image"]
Header = STORE.types["std_msgs/msg/Header"]
Time = STORE.types["builtin_interfaces/msg/Time"]
TOPIC = "/cam/image_raw"
FRAMES = 16
T0 = 1_700_000_000 * 10**9


@pytest.fixture(scope="module", params=["sqlite3", "mcap"])
def good_bag(request, clip_frames, tmp_path_factory) -> Path:
    """16 frames of the real clip at 320x180 as bgr8 Images, in the storage format of the param."""
    path = tmp_path_factory.mktemp(request.param) / "bag"
    plugin = StoragePlugin.MCAP if request.param == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conn = writer.add_connection(TOPIC, Image.__msgtype__, typestore=STORE)
        for k, frame in enumerate(clip_frames(SHORT_FACE_CLIP)[0][:FRAMES]):
            small = np.ascontiguousarray(frame[::2, ::2])
            ns = T0 + k * 33_333_333
            msg = Image(
                header=Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="cam"),
                height=small.shape[0],
                width=small.shape[1],
                encoding="bgr8",
                is_bigendian=0,
                step=small.shape[1] * 3,
                data=small.reshape(-1),
            )
            writer.write(conn, ns, STORE.serialize_cdr(msg, Image.__msgtype__))
    return path


def storage_file(bag: Path) -> Path:
    return next(p for p in bag.iterdir() if p.suffix in (".db3", ".mcap"))


def damaged_copy(bag: Path, dest: Path, how: str, rng: random.Random) -> Path:
    shutil.copytree(bag, dest)
    target = storage_file(dest)
    data = bytearray(target.read_bytes())
    if how == "empty":
        data = bytearray()
    elif how == "truncated":
        data = data[: rng.randrange(len(data))]
    elif how == "garbage":
        data = bytearray(rng.randbytes(4096))
    else:  # "overwritten": a few byte ranges anywhere (headers, index, pixels)
        for _ in range(rng.randint(1, 4)):
            length = rng.choice([1, 16, 512, 4096])
            at = rng.randrange(len(data))
            data[at : at + length] = rng.randbytes(length)[: len(data) - at]
    target.write_bytes(bytes(data))
    return dest


def readable_images(bag: Path) -> int:
    """Images rosbags reads and decodes before any damage stops it: what the run must process."""
    count = 0
    try:
        with AnyReader([bag], default_typestore=STORE) as reader:
            for conn, _, raw in reader.messages():
                try:
                    as_bgr(decode_image(reader.deserialize(raw, conn.msgtype), conn.msgtype))
                except Exception:  # a message the runner counts as bad and skips
                    continue
                count += 1
    except Exception:  # the damage itself: the run stops here too
        pass
    return count


def written_frames(out: Path) -> int:
    if not out.exists():
        return 0
    with AnyReader([out]) as reader:
        return sum(1 for conn, _, _ in reader.messages() if conn.topic == "/fer_node/expressions")


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage", "overwritten", "overwritten", "truncated"])
def test_damaged_bag_is_one_line_or_fully_read(good_bag, how, tmp_path, caplog):
    bag = damaged_copy(good_bag, tmp_path / "in", how, random.Random(random.random()))
    expected = readable_images(bag)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO):
        rc = main(["bag", str(bag), "--out", str(out), "--model", "baseline", "-q"])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    if rc == 0:
        assert errors == []
    else:
        assert rc == 2 and len(errors) == 1, caplog.text
        assert "bag" in errors[0] and "\n" not in errors[0], errors[0]
    if how in ("empty", "garbage"):
        assert rc == 2 and "cannot read bag" in errors[0]
    assert written_frames(out) == expected, "every image readable before the damage is processed"


def test_truncated_bag_through_the_entry_point(good_bag, tmp_path):
    bag = damaged_copy(good_bag, tmp_path / "in", "truncated", random.Random(3))
    proc = fer_ros("bag", bag, "--out", tmp_path / "out", "--model", "baseline", "-q")
    assert_one_line_error(proc, "bag")


def _mid_damage(bag: Path, dest: Path) -> Path:
    """A copy damaged after its first messages. sqlite3: the header of a page of the message
    table overwritten (the first page, from the middle of the file on, that stops rosbags after
    some messages); mcap: the length field of a message record inside the chunk."""
    shutil.copytree(bag, dest)
    target = storage_file(dest)
    data = target.read_bytes()
    if target.suffix == ".mcap":
        at = data.index(b"\x05", 8 + 9 + 60)  # past the header and the chunk's own fields
        while data[at + 1 + 8 : at + 1 + 8 + 2] != b"\x01\x00":  # a message record of channel 1
            at = data.index(b"\x05", at + 1)
        target.write_bytes(data[: at + 1] + b"\xff" * 8 + data[at + 9 :])
        return dest
    for page in range(len(data) // 4096 // 2, len(data) // 4096):
        damaged = bytearray(data)
        damaged[page * 4096 : page * 4096 + 8] = b"\xff" * 8
        target.write_bytes(bytes(damaged))
        if 0 < readable_images(dest) < FRAMES:
            return dest
    raise AssertionError("no page found whose damage stops the bag part-way")


def test_bag_damaged_part_way_keeps_what_came_before(good_bag, tmp_path, caplog):
    bag = _mid_damage(good_bag, tmp_path / "in")
    expected = readable_images(bag)
    out = tmp_path / "out"
    rc = main(["bag", str(bag), "--out", str(out), "--model", "baseline", "-q"])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert rc == 2 and len(errors) == 1, caplog.text
    assert f"is damaged after its first {expected} message(s)" in errors[0], errors[0]
    assert written_frames(out) == expected


def test_sigterm_during_a_bag_run_closes_the_output_bag(good_bag, tmp_path):
    """Stopped while it runs: exit 143, and the output bag is closed (readable, its index written)
    with the frames processed before the signal."""
    out = tmp_path / "out"
    run = Run(tmp_path, "bag", good_bag, "--out", out, "--model", "baseline", "-q")
    try:
        run.wait_until(lambda: (out / "metadata.yaml").exists() or any(out.glob("*.*")), "the output bag")
        rc = run.stop(signal.SIGTERM)
    finally:
        run.close()
    assert rc in (0, 143) and "Traceback" not in run.stderr(), run.stderr()
    written = written_frames(out)
    assert written == FRAMES if rc == 0 else 0 <= written <= FRAMES
