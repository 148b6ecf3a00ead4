#!/usr/bin/env bash
# The test command: installs what the tests need on a bare Debian machine
# (Debian's chromium for the browser tests, node for the frontend's unit tests,
# the package with its test extra), then runs the tests. Extra arguments go to pytest.
#
#   bash tests/run.sh          the whole suite (what CI runs): two pytest-xdist
#                              workers, progress per file, the 15 slowest tests at the end
#   bash tests/run.sh --fast   the edit loop: everything but the tests that start
#                              TensorBoard, a browser, build or train Keras models or
#                              pip-install the wheel (markers applied by tests/conftest.py)
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then fast=1; else args+=("$arg"); fi
done
missing=""
[ "$fast" = 1 ] || [ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v node >/dev/null || missing="$missing nodejs"  # the frontend's pure modules' unit tests
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
python3 -m pip install -q -e ".[test]"
if [ "$fast" = 1 ]; then
  exec python3 -m pytest tests -q -p no:cacheprovider -m "not tensorboard and not browser and not keras and not install" \
    ${args[@]+"${args[@]}"}
fi
# loadfile: a module's tests run on one worker, so its module-scoped fixtures (a TensorBoard,
# trained logs) start once. The `serial` test runs while the other worker waits (conftest.py).
exec python3 -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile --durations=15 \
  ${args[@]+"${args[@]}"}
