#!/usr/bin/env bash
# Run the whole galexplore test suite from a fresh clone: creates/reuses .venv, installs the
# package with its test tools, installs Debian's chromium for the browser tests when missing,
# then runs pytest. Extra arguments go to pytest (e.g. `bash scripts/test.sh -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh dev

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[galexplore] installing Debian's chromium for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "[galexplore] /usr/bin/chromium missing and no root: browser tests will be skipped" >&2
  fi
fi

set +e
python -m pytest "$@"
rc=$?
set -e
# pytest exit code 5 means "no tests collected" (e.g. a -k filter that matches nothing): not a failure.
[ "$rc" = 5 ] && rc=0
exit "$rc"
