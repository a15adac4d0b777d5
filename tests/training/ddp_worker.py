"""Worker of the gloo DDP test, launched by ``torchrun --nproc-per-node 2`` (not a test itself).

Every rank builds the same global batch of augmented views and two copies of each model:
a reference trained single-process on the whole global batch, and a DDP model trained on
this rank's half. Both take the same optimiser steps, each from the reference's state; rank 0 writes the losses
of both and the largest parameter difference after a step to the JSON file named on the command line.
"""

from __future__ import annotations

import copy
import json
import sys

import torch
import torch.distributed as dist

from galexplore.data import open_survey
from galexplore.models.factory import build_model
from galexplore.training import TrainConfig
from galexplore.training.data import SurveyArrays
from galexplore.training.distributed import Distributed
from galexplore.training.setup import ViewMaker, fit_normalisation, input_pooling, model_config_for

GLOBAL_BATCH, STEPS = 16, 3
RUNS = {
    "maps": {},
    "images-moco": {"modality": "images", "loss": "moco"},
    "images+spectra": {"modality": "images+spectra"},
}


def global_views(data: SurveyArrays, cfg: dict, step: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(100 + step)
    rows = torch.randperm(data.n, generator=gen)[:GLOBAL_BATCH].sort().values.numpy()
    batch = {m: torch.from_numpy(a) for m, a in data.read(rows).items()}
    return ViewMaker(cfg)(batch, gen)


def compare(name: str, overrides: dict, survey, ctx: Distributed) -> dict:
    config = TrainConfig(**{"modality": "maps", **overrides})
    cfg = model_config_for(survey, config)
    data = SurveyArrays(survey, list(cfg["modalities"]), pool=input_pooling(cfg))
    norm = fit_normalisation(data, cfg, 0)
    torch.manual_seed(0)
    reference = build_model(cfg, norm)
    model = copy.deepcopy(reference)
    net = ctx.wrap(model, torch.device("cpu"))
    opts = [torch.optim.SGD(m.parameters(), lr=0.01) for m in (reference, model)]
    ref_losses, ddp_losses, diffs = [], [], []
    for step in range(STEPS):
        # every step starts both models from the reference's state (queue and running statistics
        # included), so the comparison is of one step each time: a contrastive loss amplifies
        # float rounding along a trajectory (1e-6 on the weights moves MoCo's next loss by 1e-4)
        model.load_state_dict(reference.state_dict())
        views = global_views(data, cfg, step)
        mine = tuple(ctx.shard({"v": v})["v"] for v in views)
        for m, opt, v, out in ((reference, opts[0], views, ref_losses), (net, opts[1], mine, ddp_losses)):
            loss = m(*v)
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(float(loss.detach()))
        pairs = zip(reference.state_dict().values(), model.state_dict().values(), strict=True)
        diffs.append(max(float((a.float() - b.float()).abs().max()) for a, b in pairs))
    diff = max(diffs)
    gathered = [None] * ctx.world_size
    dist.all_gather_object(gathered, ddp_losses)
    return {
        "reference": ref_losses,
        "ddp": ddp_losses,
        "ddp_per_rank": gathered,
        "max_state_diff": diff,
        "same_keys": list(reference.state_dict()) == list(model.state_dict()),
    }


def main(survey_path: str, out: str) -> None:
    torch.set_num_threads(1)
    ctx = Distributed.from_env()
    ctx.init(torch.device("cpu"))
    survey = open_survey(survey_path)
    results = {name: compare(name, o, survey, ctx) for name, o in RUNS.items()}
    if ctx.is_main:
        with open(out, "w") as f:
            json.dump({"world_size": ctx.world_size, "results": results}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:3])
