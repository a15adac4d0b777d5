"""Benchmark the analysis engine at survey scale and write ``bench/results/analysis.json``.

Measures, on seeded synthetic 64-d embeddings (clusters along a curved low-dimensional sheet,
L2-normalised, like contrastive embeddings):

- UMAP of 100k × 64 (cosine, n_neighbors=15, fixed seed), after a warm-up run that pays
  numba's one-off compilation of umap-learn and pynndescent kernels (reported separately as
  ``umap_warmup_compile_s``: every new process pays it once);
- UMAP of 1M × 64 fitted on a 100k subsample, the rest placed by ``transform`` in batches;
- k-means (k = 3 and k = 8) on 1M × 64;
- exact top-50 cosine search at 1M × 64: median and 95th-percentile milliseconds per query.

Targets (issue 5): UMAP 100k ≤ 60 s, subsample fit + transform 1M ≤ 10 min, k-means 1M
≤ 10 s, search ≤ 50 ms per query. The JSON records the machine (cores, load average before
and after) because the numbers depend on it; this script reports, it does not pass or fail.

    python bench/analysis.py [--n-umap 100000] [--n-large 1000000] [--skip-large-umap]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from galexplore.analysis.clustering import Clusterer
from galexplore.analysis.projection import UMAPProjector
from galexplore.analysis.search import SimilaritySearch, normalise

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"umap_100k_s": 60.0, "umap_1m_subsample_s": 600.0, "kmeans_1m_s": 10.0, "search_top50_ms": 50.0}


def embeddings(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Seeded stand-in embeddings: 12 clusters on a curved 4-d sheet in ``dim`` dimensions, unit norm."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (12, 4))
    t = centres[rng.integers(0, 12, n)] + 0.25 * rng.standard_normal((n, 4))
    W = rng.normal(size=(4, dim)) * 1.5
    phase = rng.uniform(0, 2 * np.pi, dim)
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 200_000):
        block = np.sin(t[s : s + 200_000] @ W + phase)
        out[s : s + 200_000] = block + 0.05 * rng.standard_normal(block.shape)
    return normalise(out)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def warm_up() -> float:
    """Seconds to compile umap-learn's and pynndescent's numba kernels once in this process.

    5000 rows (UMAP switches from exact neighbours to NN-descent above 4096) fitted on 4000
    and transformed in one batch, so the fit, the graph and the transform paths all compile.
    """
    t0 = time.perf_counter()
    UMAPProjector(random_state=0, max_fit_samples=4_500).fit_transform(embeddings(5_000, seed=1))
    return time.perf_counter() - t0


def bench_umap(n: int) -> dict:
    """The default fit, and the same with umap-learn's 200 epochs, side by side.

    Trustworthiness (k = 15, cosine) is scored on one fixed random subset of 4000 rows, so
    the two layouts are compared on the same points.
    """
    from sklearn.manifold import trustworthiness

    X = embeddings(n, seed=2)
    sub = np.random.default_rng(0).choice(n, min(n, 4000), replace=False)
    out: dict = {"n": n}
    for label, epochs in (("default", None), ("epochs_200", 200)):
        proj = UMAPProjector(random_state=0, max_fit_samples=n, n_epochs=epochs)
        Y, secs = timed(proj.fit_transform, X)
        tw = trustworthiness(X[sub], Y[sub], n_neighbors=15, metric="cosine")
        out[label] = {
            "seconds": round(secs, 2),
            "n_epochs": proj.n_epochs_,
            "trustworthiness": round(float(tw), 4),
        }
    out["seconds"] = out["default"]["seconds"]
    out["speedup_vs_200_epochs"] = round(out["epochs_200"]["seconds"] / out["default"]["seconds"], 2)
    return out


def bench_umap_large(n: int, n_fit: int) -> dict:
    X = embeddings(n, seed=3)
    stages: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(done, total, stage):
        stages[stage] = round(time.perf_counter() - t0, 2)

    proj = UMAPProjector(random_state=0, max_fit_samples=n_fit, batch_size=100_000)
    _, secs = timed(proj.fit_transform, X, progress=progress)
    return {
        "n": n,
        "n_fit": n_fit,
        "seconds": round(secs, 2),
        "fit_seconds": stages.get("umap fit"),
        "stage_end_seconds": stages,
    }


def bench_kmeans(X: np.ndarray) -> dict:
    out = {"n": len(X)}
    for k in (3, 8):
        model, secs = timed(Clusterer("kmeans", k, random_state=0).fit, X)
        out[f"k{k}_seconds"] = round(secs, 2)
        out[f"k{k}_sizes"] = np.bincount(model.labels_).tolist()
    return out


def bench_search(X: np.ndarray, n_queries: int = 100) -> dict:
    ids = np.array([f"g{i:07d}" for i in range(len(X))], dtype=object)
    search, fit_secs = timed(SimilaritySearch(backend="numpy").fit, X, ids)
    rng = np.random.default_rng(0)
    search.query(ids[0], k=50)  # warm caches
    times = []
    for i in rng.choice(len(X), n_queries, replace=False):
        res, secs = timed(search.query, ids[i], k=50)
        assert res["galaxy_id"].iloc[0] == ids[i]
        times.append(secs * 1000)
    return {
        "n": len(X),
        "k": 50,
        "fit_seconds": round(fit_secs, 2),
        "queries": n_queries,
        "median_ms": round(float(np.median(times)), 2),
        "p95_ms": round(float(np.percentile(times, 95)), 2),
        "min_ms": round(float(np.min(times)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-umap", type=int, default=100_000)
    parser.add_argument("--n-large", type=int, default=1_000_000)
    parser.add_argument(
        "--skip-large-umap", action="store_true", help="skip the 1M subsample-fit + transform UMAP"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "analysis.json")
    args = parser.parse_args()

    import sklearn
    import umap

    result: dict = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_before": os.getloadavg(),
        },
        "versions": {
            "umap-learn": umap.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "targets": TARGETS,
    }
    large = embeddings(args.n_large, seed=4)
    result["search_top50"] = bench_search(large)
    result["kmeans"] = bench_kmeans(large)
    del large
    result["umap_warmup_compile_s"] = round(warm_up(), 2)
    result["umap_100k"] = bench_umap(args.n_umap)
    if not args.skip_large_umap:
        result["umap_1m_subsample"] = bench_umap_large(args.n_large, 100_000)
    result["machine"]["load_avg_after"] = os.getloadavg()
    result["summary"] = {
        "umap_100k_s": result["umap_100k"]["seconds"],
        "umap_1m_subsample_s": result.get("umap_1m_subsample", {}).get("seconds"),
        "kmeans_1m_s": result["kmeans"]["k3_seconds"],
        "search_top50_ms": result["search_top50"]["median_ms"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
