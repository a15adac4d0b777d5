"""Contrastive losses, one per module, each a pure ``nn.Module`` on embedding batches."""

from galexplore.models.losses.clip import CLIPLoss
from galexplore.models.losses.infonce import InfoNCELoss
from galexplore.models.losses.moco import MoCoLoss
from galexplore.models.losses.ntxent import NTXentLoss

__all__ = ["CLIPLoss", "InfoNCELoss", "MoCoLoss", "NTXentLoss"]
