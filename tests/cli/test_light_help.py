"""``galexplore --help`` stays light: building the parser imports no heavy library.

The verbs' choices (clustering methods, projection methods, export formats, …) come from the
library modules that define them, so those modules must stay importable without torch,
Panel, scikit-learn, umap-learn or astropy; a heavy import there would slow every command.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "panel",
    "bokeh",
    "holoviews",
    "datashader",
    "sklearn",
    "umap",
    "astropy",
    "dask",
    "matplotlib",
    "zarr",
    "scipy",
)


def test_building_the_parser_imports_no_heavy_library():
    code = (
        "import json, sys\nfrom galexplore.cli import build_parser\nbuild_parser()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
