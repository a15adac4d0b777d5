"""Fingerprints that tie analysis products (projections, clusters, exports, metrics) to their encoder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from galexplore.artifacts.paths import RunPaths


def encoder_fingerprint(run: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> str | None:
    """Fingerprint of a run's encoder.

    The embeddings' own ``encoder_fingerprint`` metadata when it exists, else a BLAKE2b hash
    (24 hex digits) of ``RUN/encoder.pt``; None when the run has neither (e.g. embeddings
    imported from elsewhere).
    """
    if metadata and metadata.get("encoder_fingerprint"):
        return str(metadata["encoder_fingerprint"])
    path = RunPaths.of(run).encoder
    if not path.is_file():
        return None
    h = hashlib.blake2b(digest_size=12)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
