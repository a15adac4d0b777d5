"""Draw docs/dashboard.png: the dashboard on the demo survey, with a lasso and a galaxy in focus.

    python docs/make_screenshot.py [--workdir demo_data]

Needs the demo's artifacts (``galexplore demo --no-serve``) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", default=str(ROOT / "demo_data"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
    args = parser.parse_args()

    from PIL import Image
    from playwright.sync_api import sync_playwright

    from galexplore.artifacts.runs import read_projection
    from galexplore.dashboard.url_state import format_polygon
    from galexplore.data.store import Survey

    work = Path(args.workdir)
    proj, _ = read_projection(work / "run")
    cat = Survey(work / "survey").catalog.set_index("galaxy_id").loc[proj["galaxy_id"]]
    xy = proj[["x", "y"]].to_numpy()
    green = xy[cat["sf_class"].to_numpy() == "green-valley"]
    centre = np.median(green, axis=0)
    radius = np.sort(np.hypot(*(xy - centre).T))[150]
    theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    poly = centre + radius * np.c_[np.cos(theta), 0.8 * np.sin(theta)]
    gv = proj["galaxy_id"].to_numpy()[cat["sf_class"].to_numpy() == "green-valley"]
    focus = gv[int(np.argmin(np.hypot(*(green - centre).T)))]
    # a numeric colouring: the map shows its colour bar with units
    query = urlencode({"color": "log_ssfr", "lasso": format_polygon(poly), "galaxy": focus})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "galexplore",
            "serve",
            str(work / "survey"),
            str(work / "run"),
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in server.stderr:
            if "dashboard at" in line:
                break
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1180})
            page.goto(f"http://127.0.0.1:{port}/explorer?{query}", timeout=300_000)
            page.locator(".gx-tile").first.wait_for(timeout=300_000)
            time.sleep(15)  # let every plot (profiles, maps) finish drawing
            page.screenshot(path=args.out)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    img = Image.open(args.out).convert("RGB")
    img = img.resize((1200, round(img.height * 1200 / img.width)), Image.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
