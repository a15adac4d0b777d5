"""Distances of IFU maps: the physical size of a spaxel, and redoing Σ* for another distance.

Pipe3D tabulates stellar mass per spaxel; Σ* needs the spaxel's side in pc, s = D_A · θ_pix
(:func:`spaxel_pc`), so it depends on the distance (:func:`distance_scale`), and a better
distance from a catalog shifts log Σ* by 2 log10(D_A,old / D_A,new) (:func:`rescale_distance`).
"""

from __future__ import annotations

import numpy as np

from galexplore.data.readers.native import NativePlanes

#: Cosmology used to turn a redshift into a distance: the CALIFA tables' (H0 = 70, Ωm = 0.27).
H0, OM0 = 70.0, 0.27


def distance_scale(*, distance_mpc: float | None, z: float | None) -> tuple[float, str]:
    """Angular-diameter distance [Mpc] and how it was obtained.

    ``distance_mpc`` is a luminosity distance (as in the CALIFA tables); with a redshift it is
    turned into D_A = D_L / (1 + z)². Without it, D_L comes from ``z`` with a flat ΛCDM of
    H0 = 70 km s⁻¹ Mpc⁻¹, Ωm = 0.27.
    """
    if distance_mpc is not None and np.isfinite(distance_mpc) and distance_mpc > 0:
        zz = z if z is not None and np.isfinite(z) else 0.0
        return distance_mpc / (
            1 + zz
        ) ** 2, f"D_L = {distance_mpc:.4g} Mpc from the catalog, D_A = D_L/(1+z)^2 with z = {zz:.5f}"
    if z is None or not np.isfinite(z) or z <= 0:
        raise ValueError("a distance or a positive redshift is needed to convert mass per spaxel to Σ*")
    from astropy.cosmology import FlatLambdaCDM

    cosmo = FlatLambdaCDM(H0=H0, Om0=OM0)
    return float(
        cosmo.angular_diameter_distance(z).value
    ), f"D_A from z = {z:.5f} (flat LCDM, H0 = {H0:g}, Om = {OM0:g})"


def spaxel_pc(d_a_mpc: float, pixel_arcsec: float) -> float:
    """Side of a spaxel in pc at angular-diameter distance ``d_a_mpc``."""
    return d_a_mpc * 1e6 * np.deg2rad(pixel_arcsec / 3600.0)


def rescale_distance(maps: NativePlanes, *, distance_mpc: float | None, z: float | None) -> NativePlanes:
    """Redo the Σ* conversion of :func:`read_pipe3d` output for another distance or redshift.

    Σ* ∝ D_A⁻², so log Σ* shifts by 2 log10(D_A,old / D_A,new); nothing else depends on it.
    """
    if (distance_mpc is None or not np.isfinite(distance_mpc)) and (z is None or not np.isfinite(z)):
        return maps
    z_new = z if z is not None and np.isfinite(z) else maps.properties.get("z")
    d_new, how = distance_scale(distance_mpc=distance_mpc, z=z_new)
    d_old = maps.properties["distance_mpc_da"]
    data = maps.data.copy()
    data[maps.channels.index("log_sigma_star")] += 2.0 * np.log10(d_old / d_new)
    props = {**maps.properties, "z": z_new, "distance_mpc_da": d_new}
    notes = {**maps.notes, "distance": how, "spaxel_pc": spaxel_pc(d_new, maps.frame.pixel_arcsec)}
    if z is not None and np.isfinite(z):
        notes["redshift"] = "from the catalog"
    return NativePlanes(
        maps.galaxy_id, data, maps.channels, maps.units, maps.frame, maps.source, props, notes
    )


__all__ = ["H0", "OM0", "distance_scale", "rescale_distance", "spaxel_pc"]
