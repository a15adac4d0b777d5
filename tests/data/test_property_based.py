"""Property-based tests of the readers and the catalog normaliser (hypothesis).

Whatever bytes or values come in, a reader either returns clean data or raises an
:class:`InputFileError` naming the file; the normaliser never lets a sentinel or an infinity
through, keeps every row, and classifies by |EW(Hα)| exactly.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galexplore.data.columns import EW_RETIRED, EW_STAR_FORMING
from galexplore.data.readers.catalogs import standardise
from galexplore.data.readers.cutouts import read_cutout
from galexplore.data.readers.pipe3d import read_pipe3d
from galexplore.errors import InputFileError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SENTINELS = [-12.0, -1.7976931348623157e308, 1.7976931348623157e308, np.nan, np.inf, -np.inf]
values = st.one_of(
    st.floats(min_value=-50, max_value=50, allow_nan=False),
    st.sampled_from(SENTINELS),
)


@st.composite
def raw_catalogs(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    ids = draw(st.lists(st.text(min_size=1, max_size=8), min_size=n, max_size=n))
    cols = {"name": ids}
    for c in draw(
        st.sets(st.sampled_from(["ra", "dec", "z", "log_mstar", "log_sfr", "ew_ha", "extra"]), min_size=1)
    ):
        cols[c] = draw(st.lists(values, min_size=n, max_size=n))
    return pd.DataFrame(cols)


@SETTINGS
@given(raw_catalogs())
def test_normaliser_never_lets_sentinels_through(df):
    cat = standardise(df, source="hypothesis.csv").table
    assert len(cat) == len(df)
    assert cat["galaxy_id"].map(type).eq(str).all()
    for name in cat.columns:
        if pd.api.types.is_float_dtype(cat[name].dtype):
            v = cat[name].to_numpy()
            finite = v[np.isfinite(v)]
            assert not np.isinf(v).any(), name
            assert (np.abs(finite) < 1e300).all(), name
    if "ew_ha" in cat:
        ew = np.abs(cat["ew_ha"].to_numpy(dtype=float))
        cls = cat["sf_class"].to_numpy()
        assert (cls[ew > EW_STAR_FORMING] == "star-forming").all()
        assert (cls[ew < EW_RETIRED] == "retired").all()
        assert (cls[(ew >= EW_RETIRED) & (ew <= EW_STAR_FORMING)] == "green-valley").all()
        assert all(c is None or c != c for c in cls[np.isnan(ew)])  # no class without an EW


@SETTINGS
@given(st.lists(values, min_size=1, max_size=20))
def test_califa_sentinel_becomes_nan(masses):
    df = pd.DataFrame(
        {
            "cubename": [f"c{i}" for i in range(len(masses))],
            "lMass_int": masses,
            "lSFR": masses,
            "WHa_int": masses,
            "galaxy": ["x"] * len(masses),
        }
    )
    cat = standardise(df, source="galaxies_properties.fits").table
    m = np.asarray(masses, dtype=float)
    bad = ~np.isfinite(m) | (m == -12.0) | (np.abs(m) > 1e300)
    assert np.isnan(cat["log_mstar"].to_numpy()[bad]).all()
    np.testing.assert_allclose(cat["log_mstar"].to_numpy()[~bad], m[~bad])


def _cutout_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    hdu = fits.PrimaryHDU(rng.normal(size=(3, 24, 24)).astype(np.float32))
    hdu.header["BANDS"] = "grz"
    buf = io.BytesIO()
    hdu.writeto(buf)
    return buf.getvalue()


GOOD = _cutout_bytes(0)


@SETTINGS
@given(
    cut=st.integers(min_value=0, max_value=len(GOOD) - 1),
    flip=st.lists(st.integers(0, len(GOOD) - 1), max_size=8),
)
def test_damaged_fits_is_read_or_named(cut, flip):
    data = bytearray(GOOD[:cut] if cut else GOOD)
    for i in flip:
        if i < len(data):
            data[i] ^= 0xFF
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.fits"
        path.write_bytes(bytes(data))
        try:
            out = read_cutout(path)
        except InputFileError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            assert out.data.ndim == 3


@SETTINGS
@given(st.binary(min_size=0, max_size=4096))
def test_garbage_is_named_not_crashed(blob):
    with tempfile.TemporaryDirectory() as tmp:
        for name, reader in (
            ("junk.fits", read_cutout),
            ("junk.pipe3d.hdf5", read_pipe3d),
            ("junk.SSP.cube.fits", read_pipe3d),
        ):
            path = Path(tmp) / name
            path.write_bytes(blob)
            try:
                reader(path)
            except InputFileError as exc:
                assert str(path) in str(exc)
