"""Scale-out benchmarks measured side by side in one run; writes ``bench/results/scale.json``.

1. Similarity search at 10⁶ × 64: galexplore's exact numpy search against an exact faiss
   ``IndexFlatIP`` (if faiss is installed) on the same vectors and the same queries, with
   their top-50 agreement.
2. Embedding throughput: ``galexplore.embed`` in one process against ``embed_with_dask`` on a
   2-worker ``LocalCluster`` (one thread each), same survey, same encoder, same outputs; both
   warm, alternating three times, medians (the cold Dask call, whose workers first import torch and load the encoder, is
   reported apart as ``dask_cold_s``).

The JSON records the machine and its load average: on a shared 2-core machine only the
ratios, measured in the same run, are meaningful.

    python bench/scale.py [--n-search 1000000] [--n-embed 3000] [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg": list(os.getloadavg())}


def bench_search(n: int, queries: int, dim: int = 64, k: int = 50) -> dict:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from analysis import embeddings  # the same stand-in embeddings as bench/analysis.py

    from galexplore.analysis.search import SimilaritySearch

    X = embeddings(n, dim)
    ids = [f"g{i}" for i in range(n)]
    rng = np.random.default_rng(1)
    probe = [ids[i] for i in rng.integers(0, n, queries)]
    out: dict = {"n": n, "dim": dim, "k": k, "queries": queries}
    results = {}
    for backend in ("numpy", "faiss"):
        try:
            t0 = time.perf_counter()
            s = SimilaritySearch(backend=backend).fit(X, ids)
            fit = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - faiss is optional: record why it is missing
            out[backend] = {"skipped": str(exc)}
            continue
        s.query(probe[0], k=k)
        times, tops = [], []
        for g in probe:
            t0 = time.perf_counter()
            tops.append(s.query(g, k=k)["galaxy_id"].tolist())
            times.append(1e3 * (time.perf_counter() - t0))
        results[backend] = tops
        out[backend] = {
            "fit_s": round(fit, 3),
            "median_ms": round(float(np.median(times)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
        }
    if len(results) == 2:
        agree = [len(set(a) & set(b)) / k for a, b in zip(results["numpy"], results["faiss"], strict=True)]
        out["top_k_agreement"] = round(float(np.mean(agree)), 4)
        out["faiss_over_numpy_speed"] = round(out["numpy"]["median_ms"] / out["faiss"]["median_ms"], 3)
    return out


def bench_embed(n: int, workers: int = 2, reps: int = 3) -> dict:
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.data.synthetic import synthesize
    from galexplore.embed import embed
    from galexplore.scale.dask_embed import dask_client, embed_with_dask
    from galexplore.training import TrainConfig, train

    with tempfile.TemporaryDirectory(prefix="gx-bench-scale-") as tmp:
        tmp = Path(tmp)
        survey = synthesize(n, tmp / "survey", seed=5, workers=workers)
        run_a, run_b = tmp / "single", tmp / "dask"
        train(
            survey,
            run_a,
            TrainConfig(epochs=1, batch_size=64, threads=1, device="cpu"),
            rows=np.arange(min(n, 256)),
        )
        import shutil

        shutil.copytree(run_a, run_b)
        import torch

        torch.set_num_threads(1)
        embed(survey, run_a, device="cpu")  # warm: torch imported, files in the page cache
        rows = max(256, n // (4 * workers))
        singles, dasks = [], []
        with dask_client(n_workers=workers, threads_per_worker=1) as client:
            t0 = time.perf_counter()
            embed_with_dask(survey, run_b, client, rows_per_partition=rows)
            cold = time.perf_counter() - t0  # workers import galexplore and torch, load the encoder
            for _ in range(reps):  # alternate, so that a change of load hits both sides alike
                t0 = time.perf_counter()
                embed(survey, run_a, device="cpu")
                singles.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                embed_with_dask(survey, run_b, client, rows_per_partition=rows)
                dasks.append(time.perf_counter() - t0)
        single, distributed = float(np.median(singles)), float(np.median(dasks))
        a, b = read_embeddings(run_a), read_embeddings(run_b)
        same = bool(
            np.array_equal(a.galaxy_ids, b.galaxy_ids)
            and np.allclose(a.vectors["maps"], b.vectors["maps"], atol=1e-5)
        )
    return {
        "n": n,
        "workers": workers,
        "threads_per_process": 1,
        "repeats_alternating": reps,
        "single_all_s": [round(t, 2) for t in singles],
        "dask_all_s": [round(t, 2) for t in dasks],
        "single_s": round(single, 2),
        "single_gal_per_s": round(n / single, 1),
        "dask_cold_s": round(cold, 2),
        "dask_s": round(distributed, 2),
        "dask_gal_per_s": round(n / distributed, 1),
        "dask_over_single_speed": round(single / distributed, 3),
        "identical_embeddings": same,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-search", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--n-embed", type=int, default=3000)
    ap.add_argument("--skip", choices=("search", "embed"), action="append", default=[])
    args = ap.parse_args()
    path = RESULTS / "scale.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine_before"] = machine()
    if "search" not in args.skip:
        result["search"] = bench_search(args.n_search, args.queries)
    if "embed" not in args.skip:
        result["embed"] = bench_embed(args.n_embed)
    result["machine_after"] = machine()
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
