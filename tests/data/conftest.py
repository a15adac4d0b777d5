"""Small synthetic files in each real layout, written by the tests (FITS with astropy, HDF5 with h5py).

Each writer mimics the real product's structure, including its pitfalls: header keys out
of plane order, extensions in an unusual order, negative emission EWs, -1.797e308 and 0 for
"no data", -12 in the CALIFA tables, Hα at a channel other than 18. Values are known, so the
tests check the conversions exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DBL_MAX = -1.7976931348623157e308
H, W = 40, 44  # map shape (rows, cols)
CENTRE = (21.0, 19.0)  # (col, row) of the synthetic galaxy
SSP_DESC = [
    "pseudo V-band map",
    "continuum segmentation file",
    "continuum dezonification file",
    "median intensity flux within the wavelength range",
    "StdDev median intensity flux within the wavelength range",
    "luminosity weighted age of the stellar population",
    "mass weighted age of the stellar population",
    "error of the age of the stellar population",
    "luminosity weighted metallicity of the stellar population",
    "mass weighted metallicity of the stellar population",
    "error metallicity of the stellar population",
    "average dust attnuation of the stellar population",
    "error of the average dust attnuation of the stellar population",
    "velocity of the stellar population",
    "error in the velocity of the stellar population",
    "velocity dispersion of the stellar population",
    "error in velocity dispersion of the stellar population",
    "average mass-to-light ratio of the stellar population",
    "stellar mass density",
    "stellar mass density dust corrected",
]


def galaxy_fields() -> dict[str, np.ndarray]:
    """Known per-spaxel values: a round galaxy at CENTRE, radius 15 px; NaN outside."""
    rows, cols = np.mgrid[0:H, 0:W]
    r = np.hypot(cols - CENTRE[0], rows - CENTRE[1])
    inside = r < 15
    f = {
        "age": 9.8 - 0.05 * r,  # log yr, old centre
        "zh": -0.1 - 0.01 * r,
        "log_mass": 7.5 - 0.08 * r,  # log Msun per spaxel
        "flux": 2.0 * np.exp(-r / 5),  # 1e-16 erg/s/cm2/A per spaxel
        "ew": -(3.0 + r),  # Pipe3D sign: emission negative
        "vel": np.full(r.shape, 3000.0),  # km/s, z = 0.010007
    }
    return {k: np.where(inside, v, np.nan) for k, v in f.items()} | {"inside": inside}


def _ssp_cube(order: list[int]) -> tuple[np.ndarray, dict[str, str]]:
    """20 SSP planes stored at permuted positions; DESC_i labels where each really is."""
    f = galaxy_fields()
    by_desc = {
        "median intensity flux within the wavelength range": f["flux"],
        "luminosity weighted age of the stellar population": f["age"],
        "mass weighted age of the stellar population": f["age"] + 0.3,
        "luminosity weighted metallicity of the stellar population": f["zh"],
        "mass weighted metallicity of the stellar population": f["zh"] - 0.1,
        "velocity of the stellar population": f["vel"],
        "stellar mass density": f["log_mass"],
        "stellar mass density dust corrected": f["log_mass"] + 0.1,
    }
    cube = np.zeros((len(SSP_DESC), H, W))
    labels = {}
    for pos, k in enumerate(order):
        desc = SSP_DESC[k]
        plane = by_desc.get(desc, np.full((H, W), 0.5))
        cube[pos] = np.where(f["inside"], plane, 0.0)  # Pipe3D: 0 where not fitted
        if "mass density" in desc:
            cube[pos][~f["inside"]] = DBL_MAX  # ...or -DBL_MAX
        labels[f"DESC_{pos}"] = desc
    return cube, labels


def write_ssp_cube(path: Path, *, wcs: bool = False, obj: str = "SYNTHGAL") -> Path:
    """Classic ``NAME.SSP.cube.fits.gz``: planes permuted, DESC_i keys written out of order."""
    from astropy.io import fits

    order = list(np.random.default_rng(1).permutation(len(SSP_DESC)))
    cube, labels = _ssp_cube(order)
    hdu = fits.PrimaryHDU(cube)
    keys = list(labels)
    for k in reversed(keys):  # out of plane order in the header
        hdu.header[k] = labels[k]
    hdu.header["OBJECT"] = obj
    if wcs:
        _add_wcs(hdu.header, pixel_arcsec=1.0)
    hdu.writeto(path, overwrite=True)
    return path


def _add_wcs(
    header, *, pixel_arcsec: float, ra: float = 150.0, dec: float = 2.0, crpix=(CENTRE[0] + 1, CENTRE[1] + 1)
) -> None:
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = ra, dec
    header["CRPIX1"], header["CRPIX2"] = crpix
    header["CD1_1"], header["CD2_2"] = -pixel_arcsec / 3600, pixel_arcsec / 3600
    header["CD1_2"], header["CD2_1"] = 0.0, 0.0


def write_flux_elines(path: Path) -> Path:
    """Classic ``flux_elines.NAME.cube.fits.gz`` with NAMEi labels; EW Ha at plane 7."""
    from astropy.io import fits

    f = galaxy_fields()
    names = [
        "flux [OII]3727",
        "flux Hb",
        "flux Ha",
        "flux [NII]6584",
        "vel Ha",
        "disp Ha",
        "EW Hb",
        "EW Ha",
        "EW [NII]6584",
        "e_EW Ha",
    ]
    cube = np.zeros((len(names), H, W))
    cube[names.index("EW Ha")] = np.where(f["inside"], f["ew"], 0.0)
    cube[names.index("e_EW Ha")] = 99.0
    hdu = fits.PrimaryHDU(cube)
    for i, n in enumerate(names):
        hdu.header[f"NAME{i}"] = n
    hdu.writeto(path, overwrite=True)
    return path


def write_packed_pipe3d(path: Path) -> Path:
    """Packed ``*.Pipe3D.cube.fits.gz``: FLUX_ELINES before SSP, WCS in ORG_HDR only."""
    from astropy.io import fits

    cube, labels = _ssp_cube(list(range(len(SSP_DESC))))
    ssp = fits.ImageHDU(cube, name="SSP")
    for k, v in labels.items():
        ssp.header[k] = v
    fe_path = path.with_name("tmp_fe.fits")
    write_flux_elines(fe_path)
    fe_cube = fits.getdata(fe_path)
    fe_hdr = fits.getheader(fe_path)
    fe_path.unlink()
    fe = fits.ImageHDU(fe_cube, name="FLUX_ELINES")
    for k in fe_hdr:
        if k.startswith("NAME"):
            fe.header[k] = fe_hdr[k]
    org = fits.ImageHDU(np.zeros((1, 1)), name="ORG_HDR")
    _add_wcs(org.header, pixel_arcsec=1.0)
    org.header["OBJECT"] = "PACKEDGAL"
    org.header["OBJRA"], org.header["OBJDEC"] = 150.0, 2.0
    fits.HDUList([fits.PrimaryHDU(), fe, fits.ImageHDU(np.zeros((3, H, W)), name="SFH"), ssp, org]).writeto(
        path, overwrite=True
    )
    return path


def write_pipe3d_hdf5(path: Path, name: str = "HDFGAL") -> Path:
    """Per-spaxel HDF5 in the edge_pydb layout, with units in ``<group>.__table_column_meta__``."""
    import h5py

    f = galaxy_fields()
    rows, cols = np.mgrid[0:H, 0:W]
    ix, iy = cols.ravel(), rows.ravel()
    dec0, ra0 = 30.0, 200.0
    ra_off = -(ix - CENTRE[0]) / 3600.0 / np.cos(np.deg2rad(dec0))  # ix increases to the west
    dec_off = (iy - CENTRE[1]) / 3600.0
    base = [
        ("Name", "S8"),
        ("ix", "<i4"),
        ("iy", "<i4"),
        ("ra_abs", "<f4"),
        ("dec_abs", "<f4"),
        ("ra_off", "<f4"),
        ("dec_off", "<f4"),
    ]
    ssp_cols = {
        "age_lwt": f["age"],
        "ZH_lwt": f["zh"],
        "mass_ssp": f["log_mass"],
        "medflx_ssp": f["flux"],
        "vel_ssp": f["vel"],
    }
    fe_cols = {"EW_Halpha": f["ew"]}
    units = {
        "age_lwt": "dex(yr)",
        "ZH_lwt": "dex",
        "mass_ssp": "dex(solMass / pix2)",
        "medflx_ssp": "1e-16 erg / (Angstrom s cm2)",
        "vel_ssp": "km / s",
        "EW_Halpha": "Angstrom",
    }
    with h5py.File(path, "w") as h:
        for group, cols_ in (("SSP", ssp_cols), ("flux_elines", fe_cols)):
            dt = np.dtype(base + [(c, "<f4") for c in cols_])
            t = np.zeros(ix.size, dtype=dt)
            t["Name"], t["ix"], t["iy"] = name.encode(), ix, iy
            t["ra_abs"], t["dec_abs"] = ra0 + ra_off, dec0 + dec_off
            t["ra_off"], t["dec_off"] = ra_off, dec_off
            for c, v in cols_.items():
                t[c] = v.ravel()
            h[group] = t
            meta = (
                ["datatype:"]
                + [f"- {{name: {c}, unit: {units[c]}, datatype: float32}}" for c in cols_]
                + ["meta: {}"]
            )
            h[f"{group}.__table_column_meta__"] = np.array([m.encode() for m in meta])
    return path


MANGA_LINES = ["OII-3727", "Hb-4862", "OIII-5008", "NII-6549", "Ha-6564", "NII-6585"]  # Hα at 4, not 18


def write_manga_maps(path: Path) -> Path:
    """A small DAP MAPS file: channel names in Cnn keys, IVAR and MASK for every map."""
    from astropy.io import fits

    f = galaxy_fields()
    inside = f["inside"]
    n = len(MANGA_LINES)
    ew = np.zeros((n, H, W))
    ew[4] = np.where(inside, -f["ew"], 0.0)  # DAP: positive for emission
    flux = np.zeros((n, H, W))
    flux[4] = np.where(inside, 10.0, 0.0)
    ivar = np.where(inside, 4.0, 0.0)[None].repeat(n, 0)
    mask = np.where(inside, 0, 1 << 30)[None].repeat(n, 0).astype(np.int32)
    mask[4, int(CENTRE[1]), int(CENTRE[0])] = 1 << 30  # one masked spaxel at the centre
    ivar[4, int(CENTRE[1]) + 1, int(CENTRE[0])] = 0.0  # one zero-IVAR spaxel
    hdus = [fits.PrimaryHDU()]
    p = hdus[0].header
    p["PLATEIFU"], p["OBJRA"], p["OBJDEC"], p["REFF"], p["ECOOPA"], p["ECOOELL"], p["SCINPVEL"] = (
        "1-2",
        150.0,
        2.0,
        5.0,
        30.0,
        0.2,
        3000.0,
    )

    def add(name, data, labels=None):
        iv, mk = (ivar[0], mask[0]) if labels is None else (ivar[: len(labels)], mask[: len(labels)])
        for suffix, arr in (("", data), ("_IVAR", iv), ("_MASK", mk)):
            hdu = fits.ImageHDU(arr.astype(np.int32 if suffix == "_MASK" else np.float32), name=name + suffix)
            _add_wcs(hdu.header, pixel_arcsec=0.5)
            for i, lab in enumerate(labels or []):
                hdu.header[f"C{i + 1:02d}"] = lab
            hdus.append(hdu)

    add("EMLINE_GFLUX", flux, MANGA_LINES)
    add("EMLINE_GEW", ew, MANGA_LINES)
    add("STELLAR_VEL", np.where(inside, 20.0, 0.0))
    add("STELLAR_SIGMA", np.where(inside, 100.0, 0.0))
    hdus.append(fits.ImageHDU(np.full((H, W), 60.0, np.float32), name="STELLAR_SIGMACORR"))
    spec = np.stack([np.where(inside, 1.2, 0.0), np.where(inside, 1.6, 0.0), np.zeros((H, W))])
    add("SPECINDEX", spec, ["Dn4000", "D4000", "Hb"])
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_cutout(
    path: Path,
    *,
    bands=("g", "r", "z"),
    wcs: bool = True,
    pixel_arcsec: float = 0.262,
    n: int = 48,
    zero_region: bool = False,
) -> Path:
    """A DECaLS-like (B, n, n) cutout in nanomaggies; a point source of 10 nmgy per band at the centre."""
    from astropy.io import fits

    data = np.full((len(bands), n, n), 0.001, dtype=np.float32)
    data[:, n // 2, n // 2] += 10.0
    if zero_region:
        data[0, : n // 2] = 0.0  # no exposure in g over half the field
    hdu = fits.PrimaryHDU(data)
    hdu.header["SURVEY"] = "DECaLS"
    hdu.header["BANDS"] = "".join(bands)
    for i, b in enumerate(bands):
        hdu.header[f"BAND{i}"] = b
    if wcs:
        _add_wcs(hdu.header, pixel_arcsec=pixel_arcsec, crpix=(n / 2 + 0.5, n / 2 + 0.5))
    hdu.writeto(path, overwrite=True)
    return path


def truncate(src: Path, dst: Path, keep: float = 0.6) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def write_desi(folder: Path) -> tuple[Path, Path]:
    """A DESI coadd (arms b, r, z on a shared 0.8 Å grid, overlapping) and its redrock file."""
    from astropy.io import fits
    from astropy.table import Table

    arms = {"B": (3600.0, 5800.0), "R": (5760.0, 7620.0), "Z": (7520.0, 9824.0)}
    hdus = [fits.PrimaryHDU()]
    fm = Table({"TARGETID": [11, 22], "TARGET_RA": [10.0, 11.0], "TARGET_DEC": [-1.0, -2.0]})
    hdus.append(fits.BinTableHDU(fm, name="FIBERMAP"))
    for arm, (lo, hi) in arms.items():
        w = lo + 0.8 * np.arange(int(round((hi - lo) / 0.8)) + 1)
        level = {"B": 1.0, "R": 2.0, "Z": 3.0}[arm]
        flux = np.vstack([np.full(w.size, level), np.full(w.size, 5.0)]).astype(np.float32)
        ivar = np.vstack([np.full(w.size, 1.0), np.full(w.size, 1.0)]).astype(np.float32)
        if arm == "R":
            ivar[0] = 3.0  # overlap with B and Z: R weighs 3×
        mask = np.zeros(flux.shape, np.int32)
        mask[1, :10] = 1
        hdus += [
            fits.ImageHDU(w, name=f"{arm}_WAVELENGTH"),
            fits.ImageHDU(flux, name=f"{arm}_FLUX"),
            fits.ImageHDU(ivar, name=f"{arm}_IVAR"),
            fits.ImageHDU(mask, name=f"{arm}_MASK"),
        ]
    coadd = folder / "coadd-9-1-thru1.fits"
    fits.HDUList(hdus).writeto(coadd, overwrite=True)
    rr = Table(
        {
            "TARGETID": [22, 11],
            "Z": [0.5, 0.1],
            "ZERR": [1e-5, 1e-5],
            "ZWARN": [0, 0],
            "SPECTYPE": ["GALAXY", "GALAXY"],
            "DELTACHI2": [100.0, 200.0],
        }
    )
    redrock = folder / "redrock-9-1-thru1.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(rr, name="REDSHIFTS")]).writeto(redrock, overwrite=True)
    return coadd, redrock


def write_sdss_speclite(path: Path) -> Path:
    from astropy.io import fits
    from astropy.table import Table

    loglam = np.arange(3.5800, 3.9600, 1e-4)
    flux = np.full(loglam.size, 4.0, np.float32)
    ivar = np.ones(loglam.size, np.float32)
    and_mask = np.zeros(loglam.size, np.int32)
    and_mask[:5] = 1
    coadd = Table({"flux": flux, "loglam": loglam.astype(np.float32), "ivar": ivar, "and_mask": and_mask})
    spall = Table(
        {"PLATE": [266], "MJD": [51630], "FIBERID": [3], "Z": [0.02], "PLUG_RA": [145.0], "PLUG_DEC": [0.5]}
    )
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU(coadd, name="COADD"), fits.BinTableHDU(spall, name="SPALL")]
    ).writeto(path)
    return path


def write_manga_spectra(path: Path) -> Path:
    from astropy.io import fits

    wave = np.geomspace(3622.0, 10354.0, 500)
    flux = np.ones((3, wave.size), np.float32)
    ivar = np.ones((3, wave.size), np.float32)
    mask = np.zeros((3, wave.size), np.int32)
    mask[2] = 1026  # the whole third spectrum unusable
    hdus = [
        fits.PrimaryHDU(),
        fits.ImageHDU(wave, name="WAVE"),
        fits.ImageHDU(flux, name="FLUX"),
        fits.ImageHDU(ivar, name="IVAR"),
        fits.ImageHDU(mask, name="MASK"),
        fits.ImageHDU(np.array([0.01, 0.02, 0.03]), name="Z"),
    ]
    fits.HDUList(hdus).writeto(path)
    return path


def write_ecalifa_tables(folder: Path) -> dict[str, Path]:
    """Small tables in the three eCALIFA layouts: galaxies_properties FITS, pyPipe3D ECSV, edge ECSV."""
    from astropy.io import fits
    from astropy.table import Table

    n = 12
    rng = np.random.default_rng(0)
    names = [f"GAL{i:03d}" for i in range(n)]
    mass = rng.uniform(9, 11.5, n)
    ew = np.array([20, 15, 10, 8, 7, 5, 4, 3.5, 2, 1, 0.5, 0.2])  # 5 SF, 3 GV, 4 retired
    sfr = 0.8 * (mass - 10) - 0.2 + np.where(ew > 6, 0.0, -1.5)
    gp = Table(
        {
            "ID": np.arange(n),
            "cubename": names,
            "galaxy": [s[:5] for s in names],
            "RA": rng.uniform(0, 360, n),
            "DEC": rng.uniform(-10, 60, n),
            "z": rng.uniform(0.005, 0.03, n),
            "type": ["Sb"] * n,
            "Re": rng.uniform(5, 20, n),
            "PA": rng.uniform(0, 180, n),
            "ecc": np.full(n, 0.6),
            "lMass_int": mass,
            "lSFR": sfr,
            "WHa_int": np.log10(ew),
            "Age_LW_int": np.full(n, 2.0),
            "met_LW_int": np.full(n, 0.02),
        }
    )
    gp_path = folder / "galaxies_properties.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(gp, name="TAB_CEN")]).writeto(gp_path)
    glob = Table(
        {
            "ID": np.arange(n),
            "Name": names,
            "RA": gp["RA"],
            "DEC": gp["DEC"],
            "z": gp["z"],
            "type": ["Sc"] * n,
            "Re": gp["Re"],
            "PA": gp["PA"],
            "ellip": np.full(n, 0.8),
            "DL": np.full(n, 60.0),
            "log_Mass": mass,
            "log_SFR_Ha": sfr,
            "EW_Ha_ALL": -ew,
            "Age_LW_Re_fit": np.full(n, 9.3),
            "Sigma_Mass_Re": np.full(n, 2.0),
            "extra_col": np.arange(n) * 1.0,
        }
    )
    glob["log_SFR_Ha"][3] = DBL_MAX
    glob_path = folder / "ecalifa_global.csv"
    glob.write(glob_path, format="ascii.ecsv")
    edge = Table(
        {
            "ID": np.arange(n),
            "Name": names,
            "caMstars": mass,
            "caSFR": sfr,
            "caAge": np.full(n, 9.1),
            "caRe": np.full(n, 12.0),
            "caPA": np.full(n, 45.0),
            "caEllipticity": np.full(n, 0.0),
            "cazgas": np.full(n, 0.02),
            "cazstars": np.full(n, 0.021),
            "caDistP3d": np.full(n, 85.0),
            "caOH": np.full(n, 8.5),
        }
    )
    edge["caMstars"][0] = -12.0
    edge["caOH"][1] = -12.0
    edge_path = folder / "edge_califa.csv"
    edge.write(edge_path, format="ascii.ecsv")
    return {"gp": gp_path, "global": glob_path, "edge": edge_path}


@pytest.fixture
def layouts(tmp_path) -> Path:
    """A folder to write synthetic layout files into."""
    return tmp_path


@pytest.fixture(scope="session")
def lay():
    """This module: the layout writers, for tests to call (``lay.write_ssp_cube(path)``)."""
    import sys

    return sys.modules[__name__]


@pytest.fixture(scope="session")
def real():
    """``real("folder", "file")``: the path of a real survey file, skipping when absent."""
    import sys

    top = next(m for name, m in sys.modules.items() if name.endswith("conftest") and hasattr(m, "real_file"))
    return top.real_file
