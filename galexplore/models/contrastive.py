"""Contrastive models assembled from their parts: SimCLR/eCALIFA, MoCo v2 and CLIP.

Each model receives its encoder(s), head(s), loss and input normalisation as arguments
(as AstroCLIP's ``AstroClipModel(image_encoder, spectrum_encoder, …)`` does); none reads a
configuration object. Augmentation happens outside, so a model's ``forward`` takes views
that are already augmented and returns the loss; ``embed`` maps raw inputs to embeddings.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from galexplore.models.losses.clip import CLIPLoss
from galexplore.models.losses.moco import MoCoLoss

EMBED_FROM = ("features", "projection")


class Tower(nn.Module):
    """Normalisation → encoder → projection head of one modality.

    Parameters
    ----------
    encoder : nn.Module
        Raw normalised input → features.
    head : nn.Module, optional
        Features → the space the loss compares (default: identity).
    preprocess : nn.Module, optional
        Raw physical input → normalised input (default: identity).
    embed_from : {"features", "projection"}
        What :meth:`embed` returns: the encoder features (SimCLR practice) or the head output
        (eCALIFA's 64-d output; the aligned space of a cross-modal model).
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        preprocess: nn.Module | None = None,
        *,
        embed_from: str = "features",
    ) -> None:
        super().__init__()
        if embed_from not in EMBED_FROM:
            raise ValueError(f"embed_from must be one of {EMBED_FROM}, got {embed_from!r}")
        self.preprocess = preprocess if preprocess is not None else nn.Identity()
        self.encoder = encoder
        self.head = head if head is not None else nn.Identity()
        self.embed_from = embed_from

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.preprocess(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) if self.embed_from == "features" else self(x)


class ContrastiveModel(nn.Module):
    """Two views of the same galaxies pulled together (SimCLR NT-Xent or the eCALIFA InfoNCE).

    Parameters
    ----------
    encoder, head : nn.Module
    loss : nn.Module
        Called as ``loss(z1, z2)`` on the projections of the two views.
    preprocess : nn.Module, optional
        Input normalisation (e.g. :class:`~galexplore.models.preprocess.Standardize`).
    modality : str
        Name of the input modality (the key of :meth:`embed`'s result).
    embed_from : {"features", "projection"}
    auxiliary : nn.Module, optional
        An extra loss on the encoder features of the two views, ``auxiliary(f1, f2)``, added
        to the main loss (e.g. :class:`~galexplore.models.auxiliary.SubsetContrast` on the
        azimuthal amplitudes of the maps encoder).
    reconstruction : nn.Module, optional
        An extra loss on the encoder features and the normalised input of both views,
        ``reconstruction(f, x)``, added to the main loss (e.g.
        :class:`~galexplore.models.auxiliary.ProfileReconstruction`).
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None,
        loss: nn.Module,
        *,
        preprocess: nn.Module | None = None,
        modality: str = "maps",
        embed_from: str = "features",
        auxiliary: nn.Module | None = None,
        reconstruction: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.tower = Tower(encoder, head, preprocess, embed_from=embed_from)
        self.loss = loss
        self.auxiliary = auxiliary
        self.reconstruction = reconstruction
        self.modalities = (modality,)
        #: The weighted extra terms of the last :meth:`forward` (detached), e.g.
        #: ``{"loss_profile": …}``: the training log reports them beside the total.
        self.loss_terms: dict[str, torch.Tensor] = {}

    def forward(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """The loss of two augmented views (B, …) of the same B galaxies (one encoder pass)."""
        x = self.tower.preprocess(torch.cat([view1, view2], dim=0))
        f = self.tower.encoder(x)
        z1, z2 = self.tower.head(f).chunk(2, dim=0)
        loss = self.loss(z1, z2)
        terms = {}
        if self.auxiliary is not None:
            terms["loss_azimuthal"] = self.auxiliary(*f.chunk(2, dim=0))
        if self.reconstruction is not None:
            terms["loss_profile"] = self.reconstruction(f, x)
        self.loss_terms = {k: v.detach() for k, v in terms.items()}
        return loss + sum(terms.values()) if terms else loss

    def embed(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        (m,) = self.modalities
        return {m: self.tower.embed(inputs[m])}


class MoCoModel(nn.Module):
    """MoCo v2: a query tower, a momentum-averaged key tower and a queue of negatives.

    Parameters
    ----------
    encoder, head : nn.Module
        The query tower's parts; the key tower is a copy updated as
        ``θ_k ← m θ_k + (1 − m) θ_q`` before each training step.
    loss : MoCoLoss
    momentum : float
        m (MoCo: 0.999 for long runs; 0.99 suits a few thousand steps).
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None,
        loss: MoCoLoss,
        *,
        preprocess: nn.Module | None = None,
        momentum: float = 0.99,
        modality: str = "images",
        embed_from: str = "features",
    ) -> None:
        super().__init__()
        self.tower = Tower(encoder, head, preprocess, embed_from=embed_from)
        self.key_tower = copy.deepcopy(self.tower)
        for p in self.key_tower.parameters():
            p.requires_grad_(False)
        self.loss = loss
        self.momentum = float(momentum)
        self.modalities = (modality,)

    @torch.no_grad()
    def momentum_update(self) -> None:
        for pk, pq in zip(self.key_tower.parameters(), self.tower.parameters(), strict=True):
            pk.mul_(self.momentum).add_(pq.detach(), alpha=1 - self.momentum)
        for bk, bq in zip(self.key_tower.buffers(), self.tower.buffers(), strict=True):
            bk.copy_(bq)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        q = self.tower(view1)
        with torch.no_grad():
            if self.training:
                self.momentum_update()
            k = self.key_tower(view2)
        return self.loss(q, k)

    def embed(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        (m,) = self.modalities
        return {m: self.tower.embed(inputs[m])}


class CLIPModel(nn.Module):
    """Two modalities aligned by a symmetric CLIP loss (AstroCLIP: images ↔ spectra).

    Parameters
    ----------
    encoder_a, encoder_b : nn.Module
        One encoder per modality.
    heads : pair of nn.Module, optional
        Projection of each modality into the shared space (identity if None).
    preprocess : pair of nn.Module, optional
        Input normalisation of each modality.
    modalities : pair of str
        Names of the two modalities, in the order of the encoders.
    logit_scale : float
        1/τ; AstroCLIP fixes it at 15.5.
    learnable_scale : bool
        Learn the logit scale instead.
    """

    def __init__(
        self,
        encoder_a: nn.Module,
        encoder_b: nn.Module,
        *,
        heads: tuple[nn.Module | None, nn.Module | None] = (None, None),
        preprocess: tuple[nn.Module | None, nn.Module | None] = (None, None),
        modalities: tuple[str, str] = ("images", "spectra"),
        logit_scale: float = 15.5,
        learnable_scale: bool = False,
    ) -> None:
        super().__init__()
        self.tower_a = Tower(encoder_a, heads[0], preprocess[0], embed_from="projection")
        self.tower_b = Tower(encoder_b, heads[1], preprocess[1], embed_from="projection")
        self.loss = CLIPLoss(logit_scale, learnable=learnable_scale)
        self.modalities = tuple(modalities)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The loss of B paired inputs of the two modalities."""
        return self.loss(self.tower_a(a), self.tower_b(b))

    def embed(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for name, tower in zip(self.modalities, (self.tower_a, self.tower_b), strict=True):
            if name in inputs:
                out[name] = tower.embed(inputs[name])
        return out


__all__ = ["CLIPModel", "ContrastiveModel", "MoCoModel", "Tower"]
