"""Bag files where things go wrong: a damaged input bag, a stop signal while the output is written.

rosbags raises its own errors, SQLite's and a few builtin ones on a damaged bag; here they
become one ``UserError`` line naming the bag (at opening), or naming how far the bag was read
(on the way: the bag runner's ``finally`` has then closed the output bag with everything
before the damage). A message that opens but does not deserialise is the runner's business
(counted and skipped).

A stop signal (io.signals) takes effect between two messages, never while one is handled
(an mcap record written in part would spoil its chunk), and never while the output bag is
being opened (a bag opened is a bag closed, with its metadata).
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from pathlib import Path

from fer_ros.io.signals import deferred, raise_pending
from fer_ros.model.errors import UserError


def _damaged_bag_errors() -> tuple[type[BaseException], ...]:
    """What rosbags raises on a damaged or truncated bag: its reader errors; SQLite's for a damaged
    .db3 page (apsw, sqlite3); and, from garbage lengths in an mcap record, struct.error,
    OverflowError and MemoryError (seen fuzzing: the length is refused before anything is
    allocated)."""
    import apsw
    from rosbags.highlevel import AnyReaderError
    from rosbags.rosbag2 import ReaderError

    return (AnyReaderError, ReaderError, apsw.Error, sqlite3.DatabaseError, struct.error, OverflowError, MemoryError)


def _one_line(error: BaseException) -> str:
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__


@contextlib.contextmanager
def open_reader(inp: Path):
    """The input bag opened with rosbags; a damaged or truncated one is one UserError line."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    reader = AnyReader([inp], default_typestore=get_typestore(Stores.ROS2_JAZZY))
    try:
        reader.open()
    except _damaged_bag_errors() as e:
        raise UserError(f"cannot read bag {inp}: {_one_line(e)} (damaged or truncated)") from None
    try:
        yield reader
    finally:
        reader.close()


def messages(reader, connections: list, inp: Path):
    """``reader.messages``, each one handled whole (the loop body runs inside ``deferred``: a stop
    signal lands between two messages), damage found on the way turned into one UserError line
    (the runner's ``finally`` has then closed the output bag with everything before it)."""
    damaged = _damaged_bag_errors()
    items = reader.messages(connections=connections)
    count = 0
    raise_pending()  # a signal that came while the output bag was opened
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except damaged as e:
            raise UserError(
                f"bag {inp} is damaged after its first {count} message(s) ({_one_line(e)}); "
                "the output bag holds the results of those"
            ) from None
        count += 1
        with deferred():
            yield item


def open_writer(out: Path, storage_plugin, version: int):
    """A rosbags Writer, opened whole: a stop signal during the open waits for the first message."""
    from rosbags.rosbag2 import Writer, WriterError

    writer = Writer(out, version=version, storage_plugin=storage_plugin)
    try:
        with deferred(raise_at_end=False):
            writer.open()
    except WriterError as e:
        raise OSError(str(e)) from None
    return writer
