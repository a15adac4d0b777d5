"""``galexplore train``: train a contrastive encoder on a survey."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import non_negative_float, non_negative_int, positive_int, progress_bar

DESCRIPTION = """\
Train a contrastive encoder on SURVEY and write RUN/encoder.pt (weights, model config,
normalisation statistics, survey fingerprint) and RUN/train_log.csv (one row per epoch).

  maps            IFU property maps, eCALIFA style: InfoNCE without the positive in the
                  denominator (τ = 0.2; eCALIFA's is 0.5: --temperature 0.5) on a 64-d MLP
                  projection; the ring-pooled encoder features are the embedding
                  and must also predict each view's radial profile (--profile-loss)
                  (--head none --profile-loss 0: eCALIFA's setup, its 64-d encoder
                  output is the embedding)
  images          multi-band images, MoCo v2 (default) or SimCLR (--loss ntxent)
  maps+images     maps and images of the same galaxies aligned with a CLIP loss
  images+spectra  images and spectra aligned with a CLIP loss (AstroCLIP, logit scale 15.5)

The checkpoint is written atomically after every epoch: after an interruption (even kill -9)
`--resume` continues with the next epoch. Training is seeded. On CUDA it uses mixed
precision and channels-last; see docs/training.md to install a CUDA build of torch.

Several GPUs (or CPU processes) train one model with torchrun and DistributedDataParallel:

  torchrun --standalone --nproc-per-node 4 -m galexplore train SURVEY --out RUN --batch-size 256

--batch-size is then the global batch, split evenly over the processes; negatives are
gathered over all of them and batch norms use global statistics, so the loss is that of one
process on the same global batch. Only rank 0 writes RUN.
"""


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


#: Kept literal so that ``galexplore --help`` does not import torch (tests check they agree).
MODALITIES = ("maps", "images", "maps+images", "images+spectra")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
HEADS = ("mlp", "none")
AZIMUTHAL_LOSS_WEIGHT, AZIMUTHAL_LOSS_RINGS, PROFILE_LOSS_WEIGHT = (
    1.0,
    4,
    3.0,
)  # galexplore.models.factory's defaults
DEFAULTS = argparse.Namespace(modality="maps", seed=0, val_fraction=0.1, device="auto")
#: galexplore.training.config's per-modality defaults of epochs, batch size and learning rate.
MODALITY_DEFAULTS = {
    "maps": {"epochs": 12, "batch_size": 64, "lr": 3e-3},
    "images": {"epochs": 20, "batch_size": 256, "lr": 2e-3, "loss": "moco"},
}
GENERIC_DEFAULTS = {"epochs": 12, "batch_size": 64, "lr": 3e-3}


def _by_modality(key: str) -> str:
    parts = [f"{m} {v[key]:g}" for m, v in MODALITY_DEFAULTS.items()]
    return "default: " + ", ".join(parts) + f", otherwise {GENERIC_DEFAULTS[key]:g}"


def register(sub: argparse._SubParsersAction) -> None:
    d = DEFAULTS
    p = sub.add_parser(
        "train",
        help="train a contrastive encoder",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("survey", metavar="SURVEY", help="survey directory")
    p.add_argument("--out", required=True, metavar="RUN", help="run directory (created)")
    p.add_argument(
        "--modality", choices=MODALITIES, default=d.modality, help=f"what to train on (default: {d.modality})"
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs", type=positive_int, default=None, help=f"epochs ({_by_modality('epochs')})"
    )
    length.add_argument(
        "--minutes",
        type=_positive_float,
        default=None,
        metavar="M",
        help="a time budget instead of --epochs: a short timed probe on this machine sets the epochs that fit in M "
        "minutes and the learning-rate schedule follows them (for more time, or a GPU)",
    )
    p.add_argument(
        "--device", choices=DEVICES, default=d.device, help="auto: CUDA if available (default: auto)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from RUN/encoder.pt (--epochs may be raised)"
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help=f"galaxies per step ({_by_modality('batch_size')})",
    )
    p.add_argument(
        "--lr", type=_positive_float, default=None, help=f"peak learning rate ({_by_modality('lr')})"
    )
    p.add_argument("--seed", type=non_negative_int, default=d.seed, help="random seed (default: 0)")
    p.add_argument(
        "--val-fraction",
        type=_fraction,
        default=d.val_fraction,
        help=f"galaxies held out for the validation loss (default: {d.val_fraction})",
    )
    p.add_argument(
        "--patience",
        type=positive_int,
        default=None,
        help="stop when the validation loss has not improved for this many epochs",
    )
    p.add_argument(
        "--width", type=positive_int, default=None, help="encoder width (channels of the first stage)"
    )
    p.add_argument("--depth", type=positive_int, default=None, help="encoder stages")
    p.add_argument(
        "--loss",
        choices=("infonce", "ntxent", "moco"),
        default=None,
        help="loss of single-modality runs (default: moco, i.e. MoCo v2, for images; infonce for maps; "
        "ntxent is SimCLR's)",
    )
    p.add_argument(
        "--temperature",
        type=_positive_float,
        default=None,
        help="loss temperature τ of single-modality runs (default: 0.2)",
    )
    p.add_argument(
        "--head",
        choices=HEADS,
        default=None,
        help="projection head of single-modality runs: mlp (SimCLR; the encoder features before it are the "
        "embedding; default) or none (eCALIFA; the 64-d encoder output is the embedding)",
    )
    p.add_argument(
        "--azimuthal-orders",
        type=positive_int,
        nargs="*",
        default=None,
        metavar="M",
        help="azimuthal Fourier orders the maps encoder pools per annulus, for bars and spiral arms "
        "(default: 2; give none to pool ring means only)",
    )
    p.add_argument(
        "--azimuthal-loss",
        type=non_negative_float,
        default=None,
        metavar="WEIGHT",
        help="weight of an auxiliary contrastive loss on the maps encoder's azimuthal amplitudes alone, through "
        "their own head, added to the main loss (maps runs with the mlp head; default: "
        f"{AZIMUTHAL_LOSS_WEIGHT:g}; 0: none)",
    )
    p.add_argument(
        "--azimuthal-loss-rings",
        type=positive_int,
        default=None,
        metavar="K",
        help="that loss sees the amplitudes of the innermost K of the 6 annuli only (0.19 Rₑ apart; default: "
        f"{AZIMUTHAL_LOSS_RINGS or 'all'})",
    )
    p.add_argument(
        "--profile-loss",
        type=non_negative_float,
        default=None,
        metavar="WEIGHT",
        help="weight of a loss that makes the maps encoder's features predict each view's radial profile "
        "(ring means of every map) through a linear layer; it keeps the plain levels such as log Σ* in the "
        f"embedding (maps runs; default: {PROFILE_LOSS_WEIGHT:g}; 0: none)",
    )
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="arithmetic of the forward/backward passes: auto = float16 mixed precision on CUDA, bfloat16 on CPUs "
        "with native bfloat16 (AVX512-BF16/AMX), else float32 (default: auto)",
    )
    p.set_defaults(func=run)


def _stored_epochs(run: str) -> int | None:
    """The epochs planned by the run's checkpoint (None without one)."""
    from galexplore.artifacts.paths import RunPaths
    from galexplore.training import load_checkpoint

    if not RunPaths.of(run).encoder.is_file():
        return None
    return int(load_checkpoint(run)["train_config"]["epochs"])


def run(args: argparse.Namespace) -> int:
    from galexplore.training import TrainConfig, train
    from galexplore.training.distributed import Distributed

    dist = Distributed.from_env()
    args.quiet = getattr(args, "quiet", False) or not dist.is_main

    epochs = args.epochs
    if args.resume and epochs is None and args.minutes is None:
        epochs = _stored_epochs(args.out)  # without --epochs, a resumed run goes on to its planned epochs
    config = TrainConfig(
        modality=args.modality,
        epochs=epochs,
        minutes=args.minutes,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        val_fraction=args.val_fraction,
        patience=args.patience,
        width=args.width,
        depth=args.depth,
        loss=args.loss,
        temperature=args.temperature,
        head=args.head,
        threads=args.threads,
        azimuthal_orders=args.azimuthal_orders,
        azimuthal_loss=args.azimuthal_loss,
        azimuthal_loss_rings=args.azimuthal_loss_rings,
        profile_loss=args.profile_loss,
        precision=args.precision,
    )
    with progress_bar(args, unit="gal") as progress:
        result = train(args.survey, args.out, config, resume=args.resume, progress=progress, distributed=dist)
    if not dist.is_main:
        return 0
    last = result.history[-1] if result.history else {}
    how = " (stopped early)" if result.stopped_early else ""
    print(
        f"trained {result.epochs} epochs on {result.device}{how}: loss {last.get('loss')}, "
        f"val_loss {last.get('val_loss')} → {result.run}/encoder.pt",
        file=sys.stderr,
    )
    return 0
