"""Fixtures of the import tests: a catalog-only survey and vectors written in every format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

N = 60  #: galaxies in the survey
D = 16  #: vector length


@pytest.fixture(scope="session")
def catalog_survey(tmp_path_factory):
    """A catalog-only survey of N galaxies with ra/dec and properties (``ingest catalog``)."""
    from galexplore.data.ingest import ingest_catalog

    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("catalog_only")
    cat = pd.DataFrame(
        {
            "galaxy_id": [f"G{i:03d}" for i in range(N)],
            "ra": rng.uniform(150, 151, N),
            "dec": rng.uniform(1, 2, N),
            "log_mstar": rng.normal(10.4, 0.6, N),
            "log_sfr": rng.normal(0, 0.6, N),
            "ew_ha": rng.uniform(0, 30, N),
        }
    )
    cat.to_csv(root / "cat.csv", index=False)
    return ingest_catalog(root / "cat.csv", out=root / "survey").survey


@pytest.fixture(scope="session")
def vectors():
    """Two float32 modalities (N + 5 rows: the last 5 are galaxies not in the survey) and their ids."""
    rng = np.random.default_rng(5)
    ids = [f"G{i:03d}" for i in range(N)] + [f"X{i}" for i in range(5)]
    image = rng.normal(size=(N + 5, D)).astype(np.float32)
    spectrum = (image @ rng.normal(size=(D, D)).astype(np.float32) + np.float32(0.1)).astype(np.float32)
    return ids, image, spectrum


def bits(a: np.ndarray) -> np.ndarray:
    """The raw float32 bits, for bit-exact comparisons."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
