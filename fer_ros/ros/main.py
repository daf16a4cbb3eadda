"""``fer_node`` / ``python -m fer_ros.ros``: start the node, stop it cleanly, say plainly why it cannot start.

    fer_node [--lifecycle] --ros-args [--params-file config/fer.yaml] [-p name:=value ...]

This module is small on purpose: its handlers for SIGINT and SIGTERM are installed before
rclpy, torch and MediaPipe are imported (seconds), so a signal at any moment from here on
(importing, initialising, loading the model, running, stopping) ends the node with exit
code 0 and no traceback: the handler only sets a flag that every stage checks. (Before
this module runs, the interpreter's own start-up, some tens of milliseconds, keeps the
default actions.)

Exit codes: 0 stopped by a signal (or rclpy shut down); 2 the node cannot start: a missing
or unreadable params file, bad ROS arguments, an unknown or ill-typed parameter, a bad
value, missing weights (one ``cannot start: ...`` line naming it, no traceback).
``--lifecycle``: configure and activate are left to a lifecycle manager (``ros2 lifecycle
set /fer_node configure``); a failed configure is logged and the node stays unconfigured.
Set FER_ROS_STARTUP_TRACE=1 to print each start-up stage to stderr.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading

NODE_NAME = "fer_node"
SPIN_PERIOD = 0.1  # s: how often the main thread looks at the stop flag while spinning
SHUTDOWN_WAIT = 30.0  # s for an in-flight callback (a configure) to end before shutting down

_stop = threading.Event()


def _on_signal(signum, frame) -> None:
    _stop.set()


def _trace(stage: str) -> None:
    if os.environ.get("FER_ROS_STARTUP_TRACE"):
        sys.stderr.write(f"fer_node startup: {stage}\n")
        sys.stderr.flush()


def _fatal(text: str) -> int:
    """Before rclpy's logging exists: one line in its format."""
    sys.stderr.write(f"[FATAL] [{NODE_NAME}]: cannot start: {text}\n")
    sys.stderr.flush()
    return 2


def _yaml_loader():
    """A safe loader that reads tagged nodes as plain ones: launch_ros writes its parameter files with
    ``!!python/tuple`` tags, which rcl's parser ignores."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def untagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("", untagged)
    return Loader


def params_file_problem(argv: list[str]) -> str | None:
    """The first --params-file that is missing, unreadable or not YAML, said in one line."""
    import yaml

    args = argv[argv.index("--ros-args") + 1 :] if "--ros-args" in argv else []
    for flag, path in zip(args, args[1:]):
        if flag != "--params-file":
            continue
        if not os.path.isfile(path):
            return f"params file {path}: no such file"
        try:
            with open(path) as f:
                doc = yaml.load(f, Loader=_yaml_loader())  # noqa: S506 - a safe loader
        except OSError as e:
            return f"params file {path}: cannot read it ({e.strerror})"
        except yaml.YAMLError as e:
            return f"params file {path}: not valid YAML ({' '.join(str(e).split())})"
        if not isinstance(doc, dict):
            return f"params file {path}: expected '<node name>: ros__parameters: ...', got {type(doc).__name__}"
    return None


def rcl_reason(e: Exception) -> str:
    """rcl's error text without its source locations."""
    text = str(e).replace("failed to initialize rcl: ", "")
    return re.sub(r", at [^,]*?:\d+", "", text).strip()


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    _trace("signals handled")
    argv = list(sys.argv if argv is None else argv)
    head = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    managed = "--lifecycle" in head
    argv = [a for i, a in enumerate(argv) if not (a == "--lifecycle" and i < len(head))]
    if problem := params_file_problem(argv):
        return _fatal(problem)

    import rclpy  # seconds: the ROS libraries, then torch and MediaPipe with the node
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.signals import SignalHandlerOptions

    from .node import FerNode

    _trace("imported")
    if _stop.is_set():
        return 0
    try:  # rclpy's own handlers would shut the context down under the worker's feet
        rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as e:  # RCLError: a params file rcl cannot parse, a bad -p rule
        return _fatal(rcl_reason(e))
    _trace("rclpy initialised")
    logger = rclpy.logging.get_logger(NODE_NAME)
    node = executor = None
    try:
        try:
            node = FerNode(managed=managed)
        except Exception as e:  # unknown or ill-typed parameters: one line naming them
            logger.fatal(
                f"cannot start: {e}" if isinstance(e, ValueError) else f"cannot start: {type(e).__name__}: {e}"
            )
            return 2
        _trace("node created")
        # One thread serves every callback: each only stores, flags or answers (the engines run on
        # the worker thread). rclpy's MultiThreadedExecutor busy-waits while a ready message waits
        # for a pool thread to take it: under load its thread took a whole core and the GIL, and
        # the node processed 30% of two 30 Hz cameras instead of 80-99% (tools/ros_bench.py).
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        if not managed and not _stop.is_set():
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                if _stop.is_set():
                    return 0
                logger.fatal(f"cannot start: {node.start_error}")
                return 2
            _trace("configured")
            if not _stop.is_set():
                node.trigger_activate()
                _trace("active")
        while not _stop.is_set() and rclpy.ok():
            try:
                executor.spin_once(timeout_sec=SPIN_PERIOD)
            except (KeyboardInterrupt, ExternalShutdownException):
                break
            except Exception as e:  # a callback raised: say so, keep serving
                logger.error(f"a callback failed: {type(e).__name__}: {e}")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        _trace("stopping")
        _shutdown(node, executor, logger)
    return 0


def _shutdown(node, executor, logger) -> None:
    """Let in-flight callbacks end, close open intervals (shutdown transition), free everything."""
    import rclpy

    try:
        if executor is not None:
            executor.shutdown(timeout_sec=SHUTDOWN_WAIT)
        if node is not None:
            try:
                node.trigger_shutdown()
            except Exception:  # already finalized, or in a transition: do its work directly
                node.on_shutdown(None)
            node.destroy_node()
    except Exception as e:  # stopping must end, and quietly
        logger.error(f"while stopping: {type(e).__name__}: {e}")
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
