#!/usr/bin/env bash
# Run a command with the project's ROS 2 environment: the venv's Jazzy wheels plus the
# colcon install/ of fer_msgs and fer_ros (`make ros` builds it).
#   tools/with_ros.sh python -m pytest test        tools/with_ros.sh fer_node --ros-args ...
set -eo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$(cd "${VENV:-$ROOT/.venv}" && pwd)
if [ ! -f "$ROOT/install/setup.bash" ]; then
    echo "with_ros: $ROOT/install/setup.bash is missing: run 'make ros' first" >&2
    exit 1
fi
# The wheels live in the venv prefix: ament index lookups (rmw implementation, packages'
# share folders) need it on AMENT_PREFIX_PATH, as a ROS install's setup.bash would do.
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
# colcon's scripts read unset variables; source them without -u.
# shellcheck disable=SC1091
. "$ROOT/install/setup.bash"
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH%:}"
exec "$@"
