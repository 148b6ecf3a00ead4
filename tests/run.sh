#!/usr/bin/env bash
# The test command: installs what the tests need on a bare Debian machine
# (Debian's chromium for the browser tests, node for the frontend's unit tests,
# the package with its test extra),
# then runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v node >/dev/null || missing="$missing nodejs"  # the frontend's pure modules' unit tests
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
python3 -m pip install -q -e ".[test]"
exec python3 -m pytest tests -q -p no:cacheprovider "$@"
