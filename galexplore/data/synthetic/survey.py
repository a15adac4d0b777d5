"""Assemble the built-in synthetic survey: population → rendering → instrument → store.

Determinism: the population is drawn from ``SeedSequence([seed, 0])`` and batch ``b`` is
rendered from ``SeedSequence([seed, 1, b])`` with a fixed batch size, so the same seed gives
byte-identical catalogs and arrays on every run.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from galexplore.data.columns import MAP_CHANNELS, sf_class
from galexplore.data.store import ModalitySpec, Survey
from galexplore.data.synthetic.geometry import Grid, draw_stars, field_of_view, star_mask
from galexplore.data.synthetic.observe import BANDS, fwhm_to_sigma_px, observe_images, observe_maps
from galexplore.data.synthetic.population import draw_population
from galexplore.data.synthetic.render import EW_RETIRED_MAX, draw_clumps, render
from galexplore.data.synthetic.spectra import spectra
from galexplore.data.writer import SurveyWriter
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

#: Truths that describe structure rather than integrated properties; each has scatter of
#: its own, independent of mass, sSFR and type. NaN where the structure does not exist
#: (``arm_pitch`` of galaxies without arms, ``quench_radius`` of retired galaxies).
STRUCTURAL_TRUTHS = ("grad_age", "grad_zh", "bulge_frac", "has_bar", "n_arms", "arm_pitch", "quench_radius")

SPECTRUM_UNIT = "1e-17 erg s-1 cm-2 Angstrom-1"


@dataclass(frozen=True)
class SynthConfig:
    """Layout of the synthetic survey.

    Parameters
    ----------
    map_grid : Grid
        IFU maps: 64×64 over ±2.5 Rₑ.
    image_grid : Grid
        g, r, i cutouts: 64×64 over ±4 Rₑ.
    wavelength : tuple of float
        Observed-frame spectral grid (start, stop, step) in Å.
    ifu_psf_fwhm : tuple of float
        Range of the IFU PSF FWHM in arcsec (CALIFA: ≈ 2.5″).
    seeing_fwhm : tuple of float
        Range of the imaging seeing FWHM in arcsec.
    batch : int
        Galaxies rendered at once; part of the determinism contract, so fixed per version.
    """

    map_grid: Grid = field(default_factory=lambda: Grid(64, 2.5, 16))
    image_grid: Grid = field(default_factory=lambda: Grid(64, 4.0, 8))
    wavelength: tuple[float, float, float] = (3600.0, 7600.0, 4.0)
    ifu_psf_fwhm: tuple[float, float] = (2.3, 2.8)
    seeing_fwhm: tuple[float, float] = (1.0, 1.6)
    batch: int = 128

    def wavelength_grid(self) -> np.ndarray:
        start, stop, step = self.wavelength
        return np.arange(start, stop + step / 2, step)


def sky_positions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec [deg] uniform on the sphere within −5° < Dec < 60°."""
    sin_dec = rng.uniform(np.sin(np.deg2rad(-5)), np.sin(np.deg2rad(60)), n)
    return rng.uniform(0, 360, n), np.rad2deg(np.arcsin(sin_dec))


def arcsec_per_kpc(z: np.ndarray) -> np.ndarray:
    """Proper angular scale [arcsec kpc⁻¹] at redshift ``z`` in Planck 2018 cosmology."""
    from astropy import units as u
    from astropy.cosmology import Planck18

    return Planck18.arcsec_per_kpc_proper(z).to_value(u.arcsec / u.kpc)


def _sum(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, x, 0).sum(axis=(1, 2))


def render_batch(p: dict[str, np.ndarray], config: SynthConfig, rng: np.random.Generator) -> dict:
    """Render one batch: maps (B, 5, H, W), images (B, 3, H, W), spectra (B, L) and catalog columns."""
    n = len(p["log_mstar"])
    mg, ig = config.map_grid, config.image_grid
    clumps = draw_clumps(p["clumpy"], rng)
    fields = render(p, mg, clumps)
    fov, fov_info = field_of_view(mg, rng, n)
    stars = draw_stars(rng, n)
    map_pix = mg.pixel * p["re_arcsec"]
    psf = rng.uniform(*config.ifu_psf_fwhm, n)
    stars_masked = star_mask(mg, stars, np.maximum(2 * mg.pixel, 0.9 * psf / p["re_arcsec"]))

    # Integrated quantities from the noise-free, unblurred fields inside the field of view.
    inside = mg.crop(fov)
    crop = {
        k: mg.crop(getattr(fields, k))
        for k in ("mass", "lum", "lum_age", "lum_zh", "lum_ew_disc", "lum_ew_fixed", "r_disc")
    }
    lsum, x, y = (_sum(crop[k], inside) for k in ("lum", "lum_ew_disc", "lum_ew_fixed"))
    retired = p["class_code"] == 2
    ew_scale = np.maximum((p["ew_target"] * lsum - y) / x, 0.05)
    ew_cap = np.where(retired, EW_RETIRED_MAX, np.inf)
    ew_pix = np.minimum(
        (crop["lum_ew_disc"] * ew_scale[:, None, None] + crop["lum_ew_fixed"]) / crop["lum"],
        ew_cap[:, None, None],
    )
    within_re = inside & (crop["r_disc"] < 1.0)
    l_re = _sum(crop["lum"], within_re)
    cat = {
        "ew_ha": _sum(crop["lum"] * ew_pix, inside) / lsum,
        "log_age_lw": _sum(crop["lum_age"], within_re) / l_re,
        "zh_lw": _sum(crop["lum_zh"], within_re) / l_re,
        "log_sigma_star": np.log10(_sum(crop["mass"], within_re) / within_re.sum(axis=(1, 2))),
    }
    sn_re = rng.uniform(15, 40, n)
    maps = observe_maps(
        fields,
        mg,
        psf_sigma_px=fwhm_to_sigma_px(psf, map_pix),
        fov=fov,
        stars=stars_masked,
        sn_re=sn_re,
        ew_scale=ew_scale,
        ew_cap=ew_cap,
        rng=rng,
    )
    del fields, crop

    img_pix = ig.pixel * p["re_arcsec"]
    seeing = rng.uniform(*config.seeing_fwhm, n)
    images, total_r = observe_images(
        render(p, ig, clumps, bands=True),
        ig,
        pixel_arcsec=img_pix,
        seeing_sigma_px=fwhm_to_sigma_px(seeing, img_pix),
        stars=stars,
        depth=rng.uniform(0.7, 1.5, n),
        rng=rng,
    )
    spec = spectra(
        config.wavelength_grid(),
        age=cat["log_age_lw"],
        zh=cat["zh_lw"],
        ew_ha=cat["ew_ha"],
        class_code=p["class_code"],
        z=p["z"],
        flux_r_nmgy=total_r,
        rng=rng,
    )
    cat.update(
        mag_r=22.5 - 2.5 * np.log10(total_r),
        psf_fwhm_arcsec=psf,
        seeing_fwhm_arcsec=seeing,
        map_pixel_arcsec=map_pix,
        image_pixel_arcsec=img_pix,
        sn_re=sn_re,
        n_stars=stars["present"].sum(axis=1),
        **fov_info,
    )
    return {"maps": maps, "images": images, "spectra": spec, "catalog": cat}


def _catalog(pop: pd.DataFrame, rendered: pd.DataFrame, seed: int) -> pd.DataFrame:
    n = len(pop)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    ra, dec = sky_positions(n, rng)
    front = pd.DataFrame(
        {
            "galaxy_id": [f"SYN{seed:03d}-{i:06d}" for i in range(n)],
            "ra": ra,
            "dec": dec,
            "z": pop["z"],
            "log_mstar": pop["log_mstar"],
            "log_sfr": pop["log_sfr"],
            "log_ssfr": pop["log_ssfr"],
            "ew_ha": rendered["ew_ha"],
            "log_age_lw": rendered["log_age_lw"],
            "zh_lw": rendered["zh_lw"],
            "log_sigma_star": rendered["log_sigma_star"],
            "morph_type": pop["morph_type"].astype(str),
            "re_arcsec": pop["re_arcsec"],
            "sf_class": sf_class(rendered["ew_ha"]).astype(str),
            "delta_ms": pop["ms_offset"],
            "re_kpc": pop["re_kpc"],
            "t_type": pop["t_type"],
            "axis_ratio": pop["axis_ratio"],
            "pa_deg": pop["pa_deg"],
        }
    )
    structure = pop[
        [
            "bulge_frac",
            "has_bar",
            "bar_length",
            "bar_strength",
            "n_arms",
            "arm_pitch",
            "arm_strength",
            "grad_age",
            "grad_zh",
            "quench_radius",
            "quench_depth",
        ]
    ]
    rest = rendered.drop(columns=["ew_ha", "log_age_lw", "zh_lw", "log_sigma_star"])
    return pd.concat([front, structure.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)


def _render_job(job: tuple[dict[str, np.ndarray], SynthConfig, int, int]) -> dict:
    p, config, seed, b = job
    return render_batch(p, config, np.random.default_rng(np.random.SeedSequence([seed, 1, b])))


@contextlib.contextmanager
def _mapper(workers: int) -> Iterator[Callable]:
    """``map`` in this process, or over a pool of ``workers`` processes (order kept)."""
    if workers <= 1:
        yield map
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield pool.map


def synthesize(
    n: int,
    out: str | os.PathLike,
    *,
    seed: int = 0,
    config: SynthConfig | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> Survey:
    """Write the built-in eCALIFA-like synthetic survey to ``out``.

    Parameters
    ----------
    n : int
        Number of galaxies (≥ 1).
    out : path-like
        Survey directory; replaced atomically if it exists.
    seed : int
        Random seed; the same seed gives byte-identical catalogs and arrays.
    config : SynthConfig, optional
        Grid sizes and instrument ranges.
    workers : int, optional
        Processes that render batches in parallel; default: one per CPU core (up to 4)
        when there are at least 8 batches. The output does not depend on it.
    progress : callable, optional
        ``progress(done, total, stage)`` after each batch.

    Returns
    -------
    Survey
        The survey just written, opened and validated.
    """
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    config = config or SynthConfig()
    pop = draw_population(n, np.random.default_rng(np.random.SeedSequence([seed, 0])))
    pop["re_arcsec"] = pop["re_kpc"] * arcsec_per_kpc(pop["z"].to_numpy())
    wave = config.wavelength_grid()
    mg, ig = config.map_grid, config.image_grid
    specs = [
        ModalitySpec(
            "maps",
            (len(MAP_CHANNELS), mg.size, mg.size),
            list(MAP_CHANNELS),
            list(MAP_CHANNELS.values()),
            {
                "kind": "re_normalised",
                "extent_re": mg.extent,
                "size": mg.size,
                "note": "pixel centres span ±extent·(1−1/size) Rₑ; x to the west, y to the north",
            },
        ),
        ModalitySpec(
            "images",
            (len(BANDS), ig.size, ig.size),
            list(BANDS),
            ["nanomaggy"] * len(BANDS),
            {
                "kind": "re_normalised",
                "extent_re": ig.extent,
                "size": ig.size,
                "pixel_arcsec_column": "image_pixel_arcsec",
            },
        ),
        ModalitySpec(
            "spectra",
            (len(wave),),
            ["flux"],
            [SPECTRUM_UNIT],
            {"kind": "wavelength", "frame": "observed", "unit": "Angstrom", "aux": "wavelength"},
        ),
    ]
    provenance = {"generator": "galexplore.data.synthetic", "seed": seed, "config": asdict(config)}
    rendered = []
    with SurveyWriter(
        out, name=f"synthetic-n{n}-seed{seed}", source="synthetic", n_galaxies=n, provenance=provenance
    ) as w:
        for spec in specs:
            w.add_modality(spec)
        w.add_aux("spectra", "wavelength", wave)
        starts = range(0, n, config.batch)
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if len(starts) >= 8 else 1
        jobs = (
            ({c: pop[c].to_numpy()[s : s + config.batch] for c in pop.columns}, config, seed, b)
            for b, s in enumerate(starts)
        )
        with _mapper(workers) as mapper:
            for start, out_b in zip(starts, mapper(_render_job, jobs), strict=True):
                for name in ("maps", "images", "spectra"):
                    w.write(name, start, out_b[name])
                rendered.append(pd.DataFrame(out_b["catalog"]))
                report(progress, min(start + config.batch, n), n, "synthesising galaxies")
        w.set_catalog(_catalog(pop, pd.concat(rendered, ignore_index=True), seed))
    log.info("wrote synthetic survey of %d galaxies to %s", n, out)
    return Survey(out)
