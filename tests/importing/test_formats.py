"""import-embeddings reads every supported format bit for bit and matches rows by id or sky position."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from galexplore.artifacts.runs import read_embeddings
from galexplore.importing import import_embeddings, importer

from .conftest import D, N, bits


def fsl(a: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(a).ravel()), a.shape[1])


def check_run(run, ids, want: dict[str, np.ndarray], n_skipped: int = 5):
    """The run has exactly the survey galaxies of ``ids`` with their vectors, bit for bit."""
    emb = read_embeddings(run)
    assert list(emb.galaxy_ids) == [i for i in ids if i.startswith("G")]
    keep = [k for k, i in enumerate(ids) if i.startswith("G")]
    assert emb.modalities == list(want)
    for name, arr in want.items():
        np.testing.assert_array_equal(bits(emb.get(name)), bits(arr[keep]))
    assert emb.metadata["n_skipped"] == n_skipped
    return emb


def test_parquet_two_list_columns_become_two_modalities(catalog_survey, vectors, tmp_path):
    ids, image, spectrum = vectors
    path = tmp_path / "astroclip.parquet"
    pq.write_table(
        pa.table({"galaxy_id": ids, "image_embedding": fsl(image), "spectrum_embedding": fsl(spectrum)}), path
    )
    res = import_embeddings(path, catalog_survey, tmp_path / "run", model_name="AstroCLIP")
    assert (res.n_rows, res.n_imported, res.n_skipped) == (N + 5, N, 5)
    assert "skipped 5 rows" in res.summary() and "'X0'" in res.summary()
    emb = check_run(tmp_path / "run", ids, {"image": image, "spectrum": spectrum})
    meta = emb.metadata
    assert (
        meta["model_name"] == "AstroCLIP" and meta["source"] == "import" and meta["matched_by"] == "galaxy_id"
    )
    assert meta["file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["columns"] == {"image": "image_embedding", "spectrum": "spectrum_embedding"}
    assert meta["encoder_fingerprint"] == "import-" + meta["file"]["sha256"][:24]


def test_parquet_variable_lists_renamed_and_selected(catalog_survey, vectors, tmp_path):
    ids, image, spectrum = vectors
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": ids, "a": pa.array(list(image)), "b": pa.array(list(spectrum))}), path)
    import_embeddings(path, catalog_survey, tmp_path / "run", vector_columns=["b=spectra"])
    check_run(tmp_path / "run", ids, {"spectra": spectrum})


def test_parquet_and_csv_one_column_per_dimension(catalog_survey, vectors, tmp_path):
    ids, image, _ = vectors
    df = pd.DataFrame({"objid": ids, **{f"z{k}": image[:, k] for k in range(D)}, "w1": 1.0, "w2": 2.0})
    df.to_parquet(tmp_path / "v.parquet")
    import_embeddings(tmp_path / "v.parquet", catalog_survey, tmp_path / "run")
    check_run(tmp_path / "run", ids, {"z": image})
    # CSV written with each float32's shortest repr: parsed back bit for bit
    text = ["objid," + ",".join(f"z{k}" for k in range(D))]
    text += [f"{i}," + ",".join(str(v) for v in row) for i, row in zip(ids, image, strict=True)]
    (tmp_path / "v.csv").write_text("\n".join(text) + "\n")
    import_embeddings(tmp_path / "v.csv", catalog_survey, tmp_path / "run_csv")
    check_run(tmp_path / "run_csv", ids, {"z": image})


def test_csv_float32_text_round_trips_bit_for_bit(tmp_path):
    from galexplore.importing.sources import open_source

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4000, 4)) * 10.0 ** rng.integers(-30, 30, (4000, 4))).astype(np.float32)
    lines = ["galaxy_id,e0,e1,e2,e3"] + [f"g{i}," + ",".join(str(v) for v in row) for i, row in enumerate(x)]
    (tmp_path / "x.csv").write_text("\n".join(lines))
    src = open_source(tmp_path / "x.csv", vector_columns=["e"])
    got = np.concatenate(list(src.vectors["e"].blocks(1000))).astype(np.float32)
    np.testing.assert_array_equal(bits(got), bits(x))


def test_csv_list_column(catalog_survey, vectors, tmp_path):
    ids, image, _ = vectors
    pd.DataFrame(
        {"galaxy_id": ids, "embedding": ["[" + ", ".join(str(v) for v in row) + "]" for row in image]}
    ).to_csv(tmp_path / "v.csv", index=False)
    import_embeddings(tmp_path / "v.csv", catalog_survey, tmp_path / "run")
    check_run(tmp_path / "run", ids, {"embedding": image})


@pytest.mark.parametrize("fmt", ["fits", "ecsv"])
def test_fits_and_ecsv_vector_columns(catalog_survey, vectors, tmp_path, fmt):
    ids, image, spectrum = vectors
    path = tmp_path / f"v.{fmt}"
    Table({"galaxy_id": ids, "emb_images": image, "emb_spectra": spectrum}).write(
        path, format="fits" if fmt == "fits" else "ascii.ecsv"
    )
    import_embeddings(path, catalog_survey, tmp_path / "run")
    check_run(tmp_path / "run", ids, {"images": image, "spectra": spectrum})


def test_hdf5_datasets(catalog_survey, vectors, tmp_path):
    ids, image, spectrum = vectors
    with h5py.File(tmp_path / "v.h5", "w") as h5:
        h5["targetid"] = np.array(ids, dtype="S")
        h5["embeddings/image"] = image
        h5["embeddings/spectrum"] = spectrum
    import_embeddings(tmp_path / "v.h5", catalog_survey, tmp_path / "run")
    check_run(tmp_path / "run", ids, {"image": image, "spectrum": spectrum})


def test_npy_with_ids_file_and_with_sky_positions(catalog_survey, vectors, tmp_path):
    ids, image, _ = vectors
    np.save(tmp_path / "aion_base.npy", image)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    import_embeddings(
        tmp_path / "aion_base.npy", catalog_survey, tmp_path / "run", ids_file=tmp_path / "ids.txt"
    )
    check_run(tmp_path / "run", ids, {"aion_base": image})
    # no ids, only positions: 0.3″ off the survey's; the 5 extra rows 20″ away are skipped
    cat = catalog_survey.catalog
    rng = np.random.default_rng(2)
    ra = np.r_[cat["ra"].to_numpy(), cat["ra"].to_numpy()[:5]] + 0.3 / 3600 * rng.choice(
        [-1, 1], N + 5
    ) / np.cos(np.radians(1.5))
    dec = np.r_[cat["dec"].to_numpy(), cat["dec"].to_numpy()[:5] + 20 / 3600]
    pd.DataFrame({"RA": ra, "DEC": dec}).to_csv(tmp_path / "pos.csv", index=False)
    res = import_embeddings(
        tmp_path / "aion_base.npy",
        catalog_survey,
        tmp_path / "run_sky",
        ids_file=tmp_path / "pos.csv",
        match_radius_arcsec=1.0,
    )
    assert res.match.method == "sky position" and (res.n_imported, res.n_skipped) == (N, 5)
    emb = read_embeddings(tmp_path / "run_sky")
    np.testing.assert_array_equal(bits(emb.get()), bits(image[:N]))
    assert list(emb.galaxy_ids) == list(cat["galaxy_id"])
    # a radius smaller than the offsets matches nothing: one clear error, nothing written
    with pytest.raises(Exception, match="no row matches"):
        import_embeddings(
            tmp_path / "aion_base.npy",
            catalog_survey,
            tmp_path / "run_tight",
            ids_file=tmp_path / "pos.csv",
            match_radius_arcsec=0.1,
        )
    assert not (tmp_path / "run_tight" / "embeddings.parquet").exists()


def test_ids_are_matched_ignoring_case_and_spaces(catalog_survey, vectors, tmp_path):
    ids, image, _ = vectors
    messy = [f" g {i[1:]}" if i.startswith("G") else i for i in ids]
    pq.write_table(pa.table({"name": messy, "vec": fsl(image)}), tmp_path / "v.parquet")
    res = import_embeddings(tmp_path / "v.parquet", catalog_survey, tmp_path / "run")
    assert res.n_imported == N and "case and spaces" in res.match.method
    assert list(read_embeddings(tmp_path / "run").galaxy_ids) == list(catalog_survey.catalog["galaxy_id"])


def test_streamed_in_blocks_in_step_and_a_late_bad_row_writes_nothing(
    catalog_survey, vectors, tmp_path, monkeypatch
):
    """Blocks of 7 rows over row groups of 10: two modalities advance in step, skipped rows
    anywhere in a block are dropped, every block becomes a row group, the bits are kept; NaN in
    the last block fails after earlier blocks were written, and the earlier file stays."""
    monkeypatch.setattr(importer, "block_rows", lambda dim, itemsize=4: 7)
    ids, image, spectrum = vectors
    order = np.random.default_rng(4).permutation(len(ids))  # the 5 unknown galaxies land in several blocks
    ids_p, image_p, spectrum_p = [ids[k] for k in order], image[order], spectrum[order]
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"galaxy_id": ids_p, "a": fsl(image_p), "b": pa.array(list(spectrum_p))}),
        path,
        row_group_size=10,
    )
    import_embeddings(path, catalog_survey, tmp_path / "run")
    check_run(tmp_path / "run", ids_p, {"a": image_p, "b": spectrum_p})
    assert pq.ParquetFile(tmp_path / "run" / "embeddings.parquet").metadata.num_row_groups == -(
        -len(ids) // 7
    )
    before = (tmp_path / "run" / "embeddings.parquet").read_bytes()
    spectrum_p = spectrum_p.copy()
    spectrum_p[-1, 3] = np.nan
    pq.write_table(
        pa.table({"galaxy_id": ids_p, "a": fsl(image_p), "b": pa.array(list(spectrum_p))}),
        path,
        row_group_size=10,
    )
    with pytest.raises(Exception, match=f"{ids_p[-1]!r}.*row {len(ids) - 1}"):
        import_embeddings(path, catalog_survey, tmp_path / "run")
    assert (tmp_path / "run" / "embeddings.parquet").read_bytes() == before
    assert not list((tmp_path / "run").glob("*.tmp-*"))


def test_blocks_are_recut_to_one_size():
    parts = [
        np.arange(a, b, dtype=np.float32).reshape(-1, 1)
        for a, b in ((0, 3), (3, 8), (8, 9), (9, 18), (18, 20))
    ]
    got = list(importer._exactly(iter(parts), 4))
    assert [len(b) for b in got] == [4, 4, 4, 4, 4]
    np.testing.assert_array_equal(np.concatenate(got).ravel(), np.arange(20))
    assert [len(b) for b in importer._exactly(iter(parts[:2]), 3)] == [3, 3, 2]


def test_cli_imports_and_reports(catalog_survey, vectors, tmp_path):
    ids, image, _ = vectors
    pq.write_table(pa.table({"galaxy_id": ids, "z": fsl(image)}), tmp_path / "v.parquet")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "galexplore",
            "-q",
            "import-embeddings",
            str(tmp_path / "v.parquet"),
            "--survey",
            str(catalog_survey.path),
            "--out",
            str(tmp_path / "run"),
            "--model-name",
            "Zoobot",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert f"imported {N} of {N + 5} rows (emb_z {D}-d), matched by galaxy_id; skipped 5 rows" in out.stderr
    assert read_embeddings(tmp_path / "run").metadata["model_name"] == "Zoobot"
