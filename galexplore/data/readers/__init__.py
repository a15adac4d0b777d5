"""Readers of real survey formats, one concept per module.

``fits_utils``    safe FITS access (truncated files → InputFileError; EXTNAME / DESC_i look-ups)
``pipe3d``        Pipe3D maps: packed FITS, classic SSP + flux_elines, per-spaxel HDF5
``manga``         MaNGA DAP MAPS
``cutouts``       multi-band FITS cutouts
``image_folder``  PNG / JPEG / FITS folders with a CSV catalog
``spectra``       DESI coadds + redrock, SDSS spec-lite, MaNGA spectra
``catalogs``      property catalogs → standard columns and units
``join``          catalog joins by id or sky position
``resample``      onto the survey's Rₑ-normalised (or arcsec) grid
``native``        what map/image readers return before resampling
``batch``         skip-and-report batch reading and provenance for ``galexplore.data.ingest``
"""

from galexplore.data.readers.catalogs import read_catalog
from galexplore.data.readers.cutouts import read_cutout
from galexplore.data.readers.join import join_catalog
from galexplore.data.readers.manga import read_manga_maps
from galexplore.data.readers.pipe3d import read_pipe3d
from galexplore.data.readers.spectra import read_spectra

__all__ = ["join_catalog", "read_catalog", "read_cutout", "read_manga_maps", "read_pipe3d", "read_spectra"]
