#!/usr/bin/env bash
# The main job from a fresh clone: creates/reuses .venv, installs galexplore, and runs
# `galexplore demo` on the built-in synthetic survey. Extra arguments go to `galexplore demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh ""
exec galexplore demo "$@"
