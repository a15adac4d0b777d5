"""Round trips and failure modes of the survey store."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from galexplore.data import ModalitySpec, SurveyWriter, open_survey, write_catalog, write_survey
from galexplore.errors import StoreError


def _toy(n: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    cat = pd.DataFrame(
        {"galaxy_id": [f"g{i}" for i in range(n)], "log_mstar": rng.normal(10, 1, n), "note": ["x"] * n}
    )
    maps = rng.normal(size=(n, 2, 8, 8)).astype(np.float32)
    maps[:, :, 0, 0] = np.nan
    spec = ModalitySpec(
        "maps", (2, 8, 8), ["log_sigma_star", "zh_lw"], ["log M☉ pc⁻²", "dex"], {"kind": "test"}
    )
    wave = np.linspace(4000, 5000, 5)
    spectra = rng.normal(size=(n, 5)).astype(np.float32)
    sspec = ModalitySpec("spectra", (5,), ["flux"], ["1e-17 erg s-1 cm-2 Angstrom-1"])
    return cat, {"maps": (maps, spec), "spectra": (spectra, sspec)}, {"spectra": {"wavelength": wave}}


def test_round_trip(tmp_path):
    cat, arrays, aux = _toy()
    write_survey(tmp_path / "s", cat, arrays, name="toy", source="test", aux=aux, provenance={"why": "test"})
    s2 = open_survey(tmp_path / "s")
    assert s2.n_galaxies == 10 and s2.name == "toy"
    pd.testing.assert_frame_equal(s2.catalog, cat)
    np.testing.assert_array_equal(s2.read("maps", slice(None)), arrays["maps"][0])
    np.testing.assert_array_equal(s2.read("maps", [7, 2, 5]), arrays["maps"][0][[7, 2, 5]])
    np.testing.assert_array_equal(s2.aux("spectra", "wavelength"), aux["spectra"]["wavelength"])
    assert s2.modalities["maps"].channels == ["log_sigma_star", "zh_lw"]
    assert s2.channel_index("maps", "zh_lw") == 1
    assert s2.meta["provenance"] == {"why": "test"}
    assert s2.meta["columns"]["log_mstar"] == "log M☉"
    assert list(s2.positions(["g3", "g0"])) == [3, 0]
    assert len(s2.fingerprint) == 16


def test_arrays_are_read_lazily(tmp_path):
    cat, arrays, aux = _toy(n=100)
    s = write_survey(tmp_path / "s", cat, arrays, name="toy", source="test", aux=aux)
    arr = s.array("maps")
    assert not isinstance(arr, np.ndarray) and arr.chunks[0] < 100  # chunked zarr array, not in memory
    assert s.read("maps", []).shape == (0, 2, 8, 8)


def test_unknown_ids_and_channels_are_named(tmp_path):
    cat, arrays, aux = _toy()
    s = write_survey(tmp_path / "s", cat, arrays, name="toy", source="test", aux=aux)
    with pytest.raises(StoreError, match="nope"):
        s.positions(["g1", "nope"])
    with pytest.raises(StoreError, match="log_age_lw"):
        s.channel_index("maps", "log_age_lw")
    with pytest.raises(StoreError, match="images"):
        s.array("images")


def test_failed_write_leaves_old_survey_intact(tmp_path):
    cat, arrays, aux = _toy()
    write_survey(tmp_path / "s", cat, arrays, name="old", source="test", aux=aux)
    with (
        pytest.raises(RuntimeError),
        SurveyWriter(tmp_path / "s", name="new", source="test", n_galaxies=10) as w,
    ):
        w.add_modality(arrays["maps"][1])
        w.write("maps", 0, arrays["maps"][0][:5])
        raise RuntimeError("killed half way")
    assert open_survey(tmp_path / "s").name == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary leftovers


def test_replacing_a_survey(tmp_path):
    cat, arrays, aux = _toy()
    write_survey(tmp_path / "s", cat, arrays, name="old", source="test", aux=aux)
    write_survey(
        tmp_path / "s",
        cat.iloc[:4],
        {"maps": (arrays["maps"][0][:4], arrays["maps"][1])},
        name="new",
        source="t",
    )
    s = open_survey(tmp_path / "s")
    assert s.name == "new" and s.n_galaxies == 4 and list(s.modalities) == ["maps"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda c: c.assign(galaxy_id=["a"] * len(c)), "not unique"),
        (lambda c: c.drop(columns="galaxy_id"), "no 'galaxy_id'"),
        (lambda c: c.assign(galaxy_id=[None] + list(c.galaxy_id[1:])), "missing galaxy_id"),
    ],
)
def test_bad_catalogs_are_refused(tmp_path, bad, message):
    cat, arrays, aux = _toy()
    with pytest.raises(StoreError, match=message):
        write_survey(tmp_path / "s", bad(cat), arrays, name="x", source="t", aux=aux)
    assert not (tmp_path / "s").exists()


def test_catalog_length_must_match_arrays(tmp_path):
    cat, arrays, _ = _toy()
    with pytest.raises(StoreError, match="9 rows but 10"):
        with SurveyWriter(tmp_path / "s", name="x", source="t", n_galaxies=10) as w:
            w.add_modality(arrays["maps"][1])
            w.set_catalog(cat.iloc[:9])


def test_spec_validates_channel_count():
    with pytest.raises(StoreError, match="3 channels"):
        ModalitySpec("maps", (3, 8, 8), ["a", "b"], ["", ""])


@pytest.fixture
def good(tmp_path):
    cat, arrays, aux = _toy()
    write_survey(tmp_path / "s", cat, arrays, name="toy", source="test", aux=aux)
    return tmp_path / "s"


def test_corrupted_catalog(good):
    (good / "catalog.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(StoreError, match="catalog.parquet: cannot read catalog"):
        open_survey(good)


def test_missing_metadata(good):
    (good / "survey.json").unlink()
    with pytest.raises(StoreError, match="not a survey"):
        open_survey(good)


def test_corrupt_metadata(good):
    (good / "survey.json").write_text("{ not json")
    with pytest.raises(StoreError, match="survey.json: corrupt"):
        open_survey(good)


def test_missing_array_store(good):
    shutil.rmtree(good / "maps.zarr")
    with pytest.raises(StoreError, match="maps.zarr"):
        open_survey(good)


def test_count_mismatch(good):
    meta = json.loads((good / "survey.json").read_text())
    meta["n_galaxies"] = 11
    (good / "survey.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="10 rows but survey.json says 11"):
        open_survey(good)


def test_channel_mismatch(good):
    meta = json.loads((good / "survey.json").read_text())
    meta["modalities"]["maps"]["channels"] = ["zh_lw", "log_sigma_star"]
    (good / "survey.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="channels"):
        open_survey(good)


def test_missing_directory(tmp_path):
    with pytest.raises(StoreError, match="no such survey directory"):
        open_survey(tmp_path / "nowhere")


def test_write_catalog_adds_columns_and_keeps_alignment(good):
    s = open_survey(good)
    cat = s.catalog.assign(ew_ha=np.arange(10.0))
    s2 = write_catalog(s, cat)
    assert "ew_ha" in s2.catalog and s2.meta["columns"]["ew_ha"] == "Å"
    with pytest.raises(StoreError, match="does not match"):
        write_catalog(s2, cat.iloc[::-1])
    assert open_survey(good).catalog["galaxy_id"].tolist() == s.catalog["galaxy_id"].tolist()


def test_interrupted_swap_is_recovered(good):
    # A crash between the two renames of an atomic directory swap leaves only "<name>.old-*".
    old = good.parent / f"{good.name}.old-abc123"
    good.rename(old)
    s = open_survey(good)
    assert s.n_galaxies == 10 and not old.exists()
