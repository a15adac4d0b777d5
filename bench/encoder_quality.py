"""Encoder quality on the 2,000-galaxy synthetic survey: the full table of issue 4.

    python bench/encoder_quality.py [--survey SURVEY] [--epochs 12] [--seeds 0 1 2]

For each seed the default maps encoder is trained (``TrainConfig(seed=…)``) and embedded; the
random-init encoder (same architecture, untrained, same seed), pixel PCA (64 components) and
radial profiles (annular means of every channel) are scored with the same held-out k-NN
protocol (standardised features, distance-weighted k = 16, one fixed 80/20 split). Then an
images+spectra CLIP model is trained on the training split only and spectrum → image
retrieval is scored on the held-out pairs, and the image-only SimCLR encoder is scored too.

Writes ``bench/results/encoder_quality.json`` and ``bench/results/encoder_quality.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
INTEGRATED = ("ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
STRUCTURAL = ("grad_age", "grad_zh", "bulge_frac", "quench_radius")
LABELS = ("has_bar", "n_arms")


def score(X, cat, tr, te) -> dict[str, float]:
    from galexplore.evaluation.probes import knn_accuracy, knn_r2

    out = {c: knn_r2(X, cat[c], tr, te) for c in (*INTEGRATED, *STRUCTURAL)}
    out.update({c: knn_accuracy(X, cat[c], tr, te)["accuracy"] for c in LABELS})
    return out


def maps_table(survey, work: Path, seeds, epochs: int, tr, te, log, partial=None) -> dict:
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed
    from galexplore.evaluation.baselines import (
        pixel_pca_features,
        radial_profile_features,
        random_init_embeddings,
    )
    from galexplore.training import TrainConfig, train

    cat = survey.catalog
    trained, random, minutes = [], [], []
    for seed in seeds:
        run = work / f"maps_seed{seed}"
        res = train(survey, run, TrainConfig(seed=seed, epochs=epochs), resume=True)  # --work runs resume
        minutes.append(sum(h["seconds"] for h in res.history) / 60)
        embed(survey, run)
        trained.append(score(read_embeddings(run).get("maps"), cat, tr, te))
        random.append(score(random_init_embeddings(survey, run, seed=seed)["maps"], cat, tr, te))
        scores = json.dumps({k: round(v, 3) for k, v in trained[-1].items()})
        log(f"seed {seed}: trained in {minutes[-1]:.1f} min: {scores}")
        if partial is not None:
            partial(
                {
                    "seeds_done": seeds[: len(trained)],
                    "trained": trained,
                    "random_init": random,
                    "train_minutes": minutes,
                }
            )
    pca = score(pixel_pca_features(survey, "maps", 64), cat, tr, te)
    radial = score(radial_profile_features(survey, "maps"), cat, tr, te)
    rows = {}
    for c in (*INTEGRATED, *STRUCTURAL, *LABELS):
        t = np.array([s[c] for s in trained])
        r = np.array([s[c] for s in random])
        rows[c] = {
            "metric": "accuracy" if c in LABELS else "r2",
            "trained_mean": float(t.mean()),
            "trained_std": float(t.std(ddof=1)) if len(t) > 1 else 0.0,
            "trained_per_seed": t.tolist(),
            "random_init_mean": float(r.mean()),
            "random_init_std": float(r.std(ddof=1)) if len(r) > 1 else 0.0,
            "random_init_per_seed": r.tolist(),
            "pixel_pca": pca[c],
            "radial_profile": radial[c],
        }
    checks = {}
    for c in INTEGRATED:
        r = rows[c]
        spread = max(r["trained_std"], r["random_init_std"])
        checks[f"{c}: R2 >= 0.9"] = r["trained_mean"] >= 0.9
        checks[f"{c}: above random init by more than the seed spread"] = (
            r["trained_mean"] - r["random_init_mean"] > spread
        )
    beats = [rows[c]["trained_mean"] > rows[c]["random_init_mean"] for c in (*STRUCTURAL, *LABELS)]
    checks["structural: beats random init on most"] = sum(beats) > len(beats) / 2
    for c in LABELS:
        checks[f"{c}: beats radial profile"] = rows[c]["trained_mean"] > rows[c]["radial_profile"]
    return {"rows": rows, "checks": checks, "train_minutes": minutes, "epochs": epochs, "seeds": list(seeds)}


def cross_modal(survey, work: Path, epochs: int, tr, te, log) -> dict:
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed
    from galexplore.evaluation.probes import retrieval_accuracy
    from galexplore.training import TrainConfig, train

    out = {}
    run = work / "clip"
    t0 = time.perf_counter()
    train(survey, run, TrainConfig(modality="images+spectra", epochs=epochs), rows=tr, resume=True)
    embed(survey, run)
    emb = read_embeddings(run)
    ret = retrieval_accuracy(emb.get("spectra")[te], emb.get("images")[te])
    out["images+spectra"] = {
        "retrieval_spectrum_to_image_heldout": ret,
        "train_minutes": (time.perf_counter() - t0) / 60,
        "epochs": epochs,
    }
    log(f"CLIP retrieval on {ret['n']} held-out pairs: {ret}")
    run = work / "images"
    t0 = time.perf_counter()
    train(survey, run, TrainConfig(modality="images", epochs=epochs), resume=True)
    embed(survey, run)
    out["images"] = {
        "knn": score(read_embeddings(run).get("images"), survey.catalog, tr, te),
        "train_minutes": (time.perf_counter() - t0) / 60,
    }
    log(f"images SimCLR: {json.dumps({k: round(v, 3) for k, v in out['images']['knn'].items()})}")
    return out


def markdown(result: dict) -> str:
    m = result["maps"]
    lines = [
        f"# Encoder quality: {result['survey']['n_galaxies']}-galaxy synthetic survey",
        "",
        f"Maps encoder, default config, {m['epochs']} epochs, seeds {m['seeds']} "
        f"(train time per seed: {', '.join(f'{x:.1f}' for x in m['train_minutes'])} min). Held-out k-NN "
        "(k = 16, standardised, one 80/20 split); R² for continuous truths, accuracy for has_bar / n_arms.",
        "",
        "| truth | metric | trained (mean ± sd) | random init (mean ± sd) | pixel PCA | radial profile |",
        "|---|---|---|---|---|---|",
    ]
    for c, r in m["rows"].items():
        lines.append(
            f"| {c} | {r['metric']} | {r['trained_mean']:.3f} ± {r['trained_std']:.3f} | "
            f"{r['random_init_mean']:.3f} ± {r['random_init_std']:.3f} | "
            f"{r['pixel_pca']:.3f} | {r['radial_profile']:.3f} |"
        )
    lines += ["", "| acceptance check | result |", "|---|---|"]
    lines += [f"| {k} | {'PASS' if v else 'FAIL'} |" for k, v in m["checks"].items()]
    if "cross_modal" in result:
        cm = result["cross_modal"]["images+spectra"]["retrieval_spectrum_to_image_heldout"]
        lines += [
            "",
            f"Cross-modal (images+spectra, CLIP, trained on the training split): spectrum → image retrieval on "
            f"{cm['n']} held-out pairs: top-1 {cm['top1']:.3f} (chance {cm['chance_top1']:.4f}), "
            f"top-10 {cm['top10']:.3f} (chance {cm['chance_top10']:.4f}).",
        ]
        if "carried_over" in result["cross_modal"]:
            lines += ["", f"(Cross-modal and image results {result['cross_modal']['carried_over']}.)"]
        im = result["cross_modal"]["images"]["knn"]
        lines += [
            "",
            "Image encoder (SimCLR) k-NN: " + ", ".join(f"{k} {v:.3f}" for k, v in im.items()) + ".",
        ]
    return "\n".join(lines) + "\n"


def _previous_cross_modal(path: Path) -> dict | None:
    """The cross-modal section of an earlier result, marked as carried over (None if absent)."""
    if not path.is_file():
        return None
    prev = json.loads(path.read_text())
    if "cross_modal" not in prev:
        return None
    note = prev["cross_modal"].get("carried_over") or (
        f"carried over from an earlier run of this script (survey fingerprint {prev['survey']['fingerprint']}); "
        "not re-measured in this run"
    )
    return {**prev["cross_modal"], "carried_over": note}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--survey", help="existing survey (default: synthesise --n galaxies, seed 0)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--no-cross-modal", action="store_true")
    ap.add_argument(
        "--keep-cross-modal",
        action="store_true",
        help="with --no-cross-modal: carry the cross-modal results of the existing --out JSON over, marked as such",
    )
    ap.add_argument(
        "--work", help="directory for the runs (default: a temporary one); runs there are resumed"
    )
    ap.add_argument("--out", default=str(HERE / "results" / "encoder_quality"))
    args = ap.parse_args(argv)

    from galexplore.artifacts.atomic import atomic_file, write_json
    from galexplore.data import open_survey
    from galexplore.data.synthetic import synthesize
    from galexplore.evaluation.probes import split_indices

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = Path(args.work or tempfile.mkdtemp(prefix="gx-quality-"))
    survey = open_survey(args.survey) if args.survey else synthesize(args.n, work / "survey", seed=0)
    tr, te = split_indices(survey.n_galaxies, 0.2, args.split_seed)
    result = {
        "survey": {
            "path": str(survey.path),
            "n_galaxies": survey.n_galaxies,
            "fingerprint": survey.fingerprint,
        },
        "protocol": {"k": 16, "test_fraction": 0.2, "split_seed": args.split_seed, "standardised": True},
    }
    out = Path(args.out)
    kept = (
        _previous_cross_modal(out.with_suffix(".json"))
        if args.no_cross_modal and args.keep_cross_modal
        else None
    )

    def partial(maps_so_far):
        write_json(out.with_suffix(".json"), {**result, "status": "partial", "maps_partial": maps_so_far})

    result["maps"] = maps_table(survey, work, args.seeds, args.epochs, tr, te, log, partial)
    result["status"] = "maps done"
    write_json(out.with_suffix(".json"), result)
    with atomic_file(out.with_suffix(".md")) as tmp:
        tmp.write_text(markdown(result))
    if not args.no_cross_modal:
        result["cross_modal"] = cross_modal(survey, work, args.epochs, tr, te, log)
    elif kept is not None:
        result["cross_modal"] = kept
    result["status"] = "complete"
    write_json(out.with_suffix(".json"), result)
    with atomic_file(out.with_suffix(".md")) as tmp:
        tmp.write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
