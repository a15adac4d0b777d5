"""galexplore: explore galaxy surveys through contrastive-learning embeddings.

The library is organised by stage, survey → run → views (``docs/architecture.md``)::

    galexplore.data         survey store, synthetic survey, readers, ingest
    galexplore.models       encoders, heads, losses, augmentations
    galexplore.training     the training loop
    galexplore.embed        a trained encoder's vectors → RUN/embeddings.parquet
    galexplore.analysis     projection, clustering, similarity search, contrast, profiles
    galexplore.evaluation   probes, baselines, reports → RUN/metrics.json, RUN/report/
    galexplore.artifacts    where artifacts live (SurveyPaths, RunPaths), atomic writes, export
    galexplore.scale        the Dask paths
    galexplore.dashboard    the Panel application
    galexplore.cli          one thin verb per stage

Every stage reads and writes artifacts on disk, so each can be re-run on its own.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from galexplore.errors import GalexploreError  # noqa: E402

__all__ = ["GalexploreError", "__version__"]
