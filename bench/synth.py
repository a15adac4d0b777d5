"""Benchmark the built-in synthetic survey and draw example galaxies.

Writes ``bench/results/synth.json`` (galaxies per second for 10,000 galaxies, single process
and the default process pool, measured in the same run) and ``bench/results/synth_examples.png``
(maps and g, r, i images of example galaxies of each class), so a person can see that the
galaxies look right.

    python bench/synth.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from galexplore.data.columns import MAP_CHANNELS, axis_label
from galexplore.data.synthetic import synthesize
from galexplore.data.synthetic.survey import arcsec_per_kpc

RESULTS = Path(__file__).resolve().parent / "results"


def time_synth(n: int, workers: int | None, root: Path) -> float:
    out = root / f"s{n}-w{workers}"
    t0 = time.perf_counter()
    synthesize(n, out, seed=1, workers=workers)
    dt = time.perf_counter() - t0
    shutil.rmtree(out)
    return dt


def example_figure(path: Path, root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import make_lupton_rgb

    survey = synthesize(300, root / "examples", seed=11, workers=1)
    cat = survey.catalog
    picks = []
    for cls, want in (("star-forming", 3), ("green-valley", 2), ("retired", 2)):
        rows = cat.index[cat.sf_class == cls]
        spiral = rows[cat.loc[rows, "n_arms"] > 0]
        picks += list(spiral[:want]) if cls == "star-forming" and len(spiral) >= want else list(rows[:want])
    maps = survey.read("maps", picks)
    imgs = survey.read("images", picks)
    chans = list(MAP_CHANNELS)
    order = ["log_sigma_star", "log_age_lw", "zh_lw", "log_ew_ha"]
    ranges = {
        "log_sigma_star": (0.5, 4.0),
        "log_age_lw": (8.3, 10.1),
        "zh_lw": (-0.8, 0.35),
        "log_ew_ha": (-0.3, 1.8),
    }
    cmaps = {"log_sigma_star": "viridis", "log_age_lw": "magma", "zh_lw": "cividis", "log_ew_ha": "YlGnBu"}
    fig, axes = plt.subplots(len(picks), 5, figsize=(13, 2.55 * len(picks)), constrained_layout=True)
    ext = (-2.5, 2.5, -2.5, 2.5)
    for i, row in enumerate(picks):
        g = cat.loc[row]
        for j, ch in enumerate(order):
            ax = axes[i, j]
            im = ax.imshow(
                maps[i, chans.index(ch)],
                origin="upper",
                extent=ext,
                cmap=cmaps[ch],
                vmin=ranges[ch][0],
                vmax=ranges[ch][1],
            )
            fig.colorbar(im, ax=ax, shrink=0.8, label=axis_label(ch) if i == 0 else None)
            ax.set_xticks([]), ax.set_yticks([])
            if i == len(picks) - 1:
                ax.set_xlabel("±2.5 Rₑ")
        im = imgs[i]
        rgb = make_lupton_rgb(
            im[2], im[1], im[0], stretch=max(float(np.percentile(im[1], 99)) / 3, 1e-3), Q=8
        )
        axes[i, 4].imshow(rgb, origin="upper", extent=(-4, 4, -4, 4))
        axes[i, 4].set_xticks([]), axes[i, 4].set_yticks([])
        axes[i, 0].set_ylabel(
            f"{g.galaxy_id}\n{g.morph_type}, {g.sf_class}\nlog M*={g.log_mstar:.1f}  EW={g.ew_ha:.1f} Å\n"
            f"B/T={g.bulge_frac:.2f} bar={bool(g.has_bar)} arms={g.n_arms}",
            fontsize=7,
        )
    for j, title in enumerate(["Σ*", "age (LW)", "[Z/H] (LW)", "EW(Hα)", "g,r,i (±4 Rₑ)"]):
        axes[0, j].set_title(title)
    fig.suptitle(
        "galexplore synthetic survey: example galaxies (maps NaN outside the IFU field / under stars)"
    )
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    arcsec_per_kpc(np.array([0.01]))  # import astropy.cosmology outside the timed region
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = time_synth(args.n, 1, root)
        pooled = time_synth(args.n, None, root)
        example_figure(RESULTS / "synth_examples.png", root)
    result = {
        "benchmark": "synthetic survey generation",
        "n_galaxies": args.n,
        "seconds_single_process": round(single, 2),
        "galaxies_per_s_single_process": round(args.n / single, 1),
        "seconds_default_workers": round(pooled, 2),
        "galaxies_per_s_default_workers": round(args.n / pooled, 1),
        "speedup_default_vs_single": round(single / pooled, 2),
        "target_galaxies_per_s": 200,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python bench/synth.py --n {args.n}",
    }
    (RESULTS / "synth.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
