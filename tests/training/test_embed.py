"""Embedding: columns per modality, views, another survey, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.artifacts.runs import read_embeddings
from galexplore.data import write_survey
from galexplore.embed import SurveyMismatchWarning, embed
from galexplore.errors import StoreError
from galexplore.training import train

from .conftest import tiny

#: The default maps embedding of the tiny config: ring-pooled features of width 4 after two
#: stages (16 channels) over 5 rings, then azimuthal amplitudes of 2 channels (width / 2) in 4
#: rings at 3 orders.
DIM = 16 * 5 + 2 * 4 * 3


@pytest.fixture(scope="module")
def maps_run(tiny_survey, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "maps"
    train(tiny_survey, run, tiny(epochs=1))
    return run


def test_embed_maps(tiny_survey, maps_run):
    embed(tiny_survey, maps_run, device="cpu")
    emb = read_embeddings(maps_run)
    assert emb.modalities == ["maps"]
    z = emb.get("maps")
    assert z.shape == (tiny_survey.n_galaxies, DIM) and np.isfinite(z).all()
    assert list(emb.galaxy_ids) == tiny_survey.catalog["galaxy_id"].tolist()
    assert emb.metadata["n_views"] == 1 and emb.metadata["survey_fingerprint"] == tiny_survey.fingerprint
    embed(tiny_survey, maps_run, device="cpu")
    assert np.array_equal(read_embeddings(maps_run).get("maps"), z)  # deterministic


def test_embed_median_of_views(tiny_survey, maps_run):
    embed(tiny_survey, maps_run, device="cpu")
    one = read_embeddings(maps_run).get()
    embed(tiny_survey, maps_run, views=5, device="cpu")
    emb = read_embeddings(maps_run)
    assert emb.metadata["n_views"] == 5
    five = emb.get()
    assert not np.allclose(one, five)
    # The median of views stays close to the plain embedding (same galaxy).
    d_self = np.linalg.norm(one - five, axis=1).mean()
    d_other = np.linalg.norm(one - np.roll(five, 1, axis=0), axis=1).mean()
    assert d_self < d_other


def test_cross_modal_run_writes_one_column_per_modality(tiny_survey, tmp_path):
    run = tmp_path / "clip"
    train(tiny_survey, run, tiny(modality="images+spectra", epochs=1))
    embed(tiny_survey, run, device="cpu")
    emb = read_embeddings(run)
    assert sorted(emb.modalities) == ["images", "spectra"]
    assert emb.get("images").shape == emb.get("spectra").shape == (tiny_survey.n_galaxies, 128)


def test_embed_another_survey_with_same_layout_warns(survey_400, maps_run):
    with pytest.warns(SurveyMismatchWarning, match="another survey"):
        embed(survey_400, maps_run, device="cpu")
    assert read_embeddings(maps_run).get().shape == (400, DIM)


def test_embed_survey_with_other_channels_fails_clearly(tiny_survey, maps_run, tmp_path):
    maps = tiny_survey.read("maps", slice(None))
    spec = tiny_survey.spec("maps")
    from galexplore.data import ModalitySpec

    other = ModalitySpec("maps", (4, *spec.shape[1:]), spec.channels[:4], spec.units[:4], spec.grid)
    s = write_survey(
        tmp_path / "other", tiny_survey.catalog, {"maps": (maps[:, :4], other)}, name="x", source="test"
    )
    with pytest.raises(StoreError, match="channels .* do not match"):
        embed(s, maps_run, device="cpu")
    no_maps = write_survey(tmp_path / "nomaps", tiny_survey.catalog, {}, name="y", source="test")
    with pytest.raises(StoreError, match="lacks"):
        embed(no_maps, maps_run, device="cpu")


def test_embed_without_encoder(tiny_survey, tmp_path):
    with pytest.raises(StoreError, match="no trained encoder"):
        embed(tiny_survey, tmp_path / "nothing")
