# Create or reuse the local virtualenv .venv at the repository root and install galexplore into it.
# Idempotent: a stamp records what was installed, so a second call returns in well under a second.
#
#   source scripts/_venv.sh "dev"     # extras to install ("" for none)
#
# Environment:
#   PYTHON            interpreter that creates the venv (default: python3, must be >= 3.11)
#   GALEXPLORE_TORCH  pip requirement(s) for torch (default: the CPU build "torch==2.13.0").
#                     A GPU user sets e.g.
#                     GALEXPLORE_TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
set -euo pipefail
GX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GX_VENV="$GX_ROOT/.venv"
GX_PY="$GX_VENV/bin/python"
gx_extras=${1:-}

if [ ! -x "$GX_PY" ]; then
  py=${PYTHON:-python3}
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "galexplore needs Python >= 3.11; $py is $("$py" --version 2>&1). Set PYTHON=/path/to/python3.11" >&2
    exit 1
  }
  echo "[galexplore] creating virtualenv $GX_VENV" >&2
  "$py" -m venv "$GX_VENV"
fi

gx_torch=${GALEXPLORE_TORCH:-torch==2.13.0}
gx_want="$(sha256sum "$GX_ROOT/pyproject.toml" | cut -c1-16) torch=[$gx_torch] extras=[$gx_extras]"
gx_stamp="$GX_VENV/.galexplore-installed"
if ! grep -qxF "$gx_want" "$gx_stamp" 2>/dev/null; then
  if ! "$GX_PY" -c 'import torch' 2>/dev/null; then
    echo "[galexplore] installing $gx_torch" >&2
    # shellcheck disable=SC2086  # GALEXPLORE_TORCH may carry pip options on purpose
    "$GX_PY" -m pip install -q $gx_torch
  fi
  spec="$GX_ROOT"
  [ -n "$gx_extras" ] && spec="$GX_ROOT[$gx_extras]"
  # Pin the torch installed above: a package that needs torchvision (timm, astropt in the
  # [pretrained] extra) then gets the torchvision release of this torch, never another torch.
  gx_pin="$GX_VENV/.torch-pin.txt"
  "$GX_PY" -c 'import torch; print("torch==" + torch.__version__.split("+")[0])' >"$gx_pin"
  echo "[galexplore] installing galexplore${gx_extras:+ with extras [$gx_extras]} into .venv ($(cat "$gx_pin") kept)" >&2
  "$GX_PY" -m pip install -q -c "$gx_pin" -e "$spec"
  echo "$gx_want" >>"$gx_stamp"
fi
export PATH="$GX_VENV/bin:$PATH"
