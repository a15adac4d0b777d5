"""galexplore: explore galaxy surveys through contrastive-learning embeddings.

The library is organised by stage (see ``DESIGN.md`` §1)::

    galexplore.data        survey store, synthetic survey, readers
    galexplore.models      encoders, heads, losses, augmentations
    galexplore.training    the training loop
    galexplore.dashboard   the Panel application

Every stage reads and writes artifacts on disk, so each can be re-run on its own.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from galexplore.errors import GalexploreError  # noqa: E402

__all__ = ["GalexploreError", "__version__"]
