"""`fer-ros` command line: thin shells around the engine, one module per subcommand.

The error boundary: a ``UserError`` (or any ``ValueError`` or ``OSError``: a bad value, a
missing file) is one line on stderr and exit status 2, never a traceback. SIGINT and SIGTERM
during `video` and `bag` close every output and exit 130 and 143 (io.signals).
"""

from __future__ import annotations

import logging
import sys

from fer_ros.io.signals import Stopped, stop_signals

from . import bag, bench, eval, train, video
from .common import Parser, one_line

log = logging.getLogger("fer_ros")

STREAMING = ("video", "bag")  # commands whose outputs a stop signal must leave complete


def build_parser() -> Parser:
    parser = Parser(
        prog="fer-ros", description="Streaming facial expression recognition and spotting (ROS-free runners)."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (video, bag, eval, bench, train):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        with stop_signals(enabled=args.command in STREAMING):
            return args.func(args)
    except Stopped as e:
        log.warning("%s: every output was closed and holds what was processed before it", e)
        return e.exit_code
    except (ValueError, OSError) as e:  # UserError is a ValueError
        log.error("%s", one_line(e))
        return 2
    except KeyboardInterrupt:  # Ctrl-C in a command without stop_signals (eval, bench, train)
        return 130


if __name__ == "__main__":
    sys.exit(main())
