"""What the cutout and map panels say for a survey without pixels (a catalog-only survey).

A survey made by ``galexplore ingest catalog`` and explored through imported embeddings has no
images or maps: the panels that would show them say so, and how to add an image folder by id.
"""

from __future__ import annotations

#: The how-to, in Markdown (the dashboard's focus panel shows it whole).
ADD_IMAGES = (
    "To see cutouts, put the images in a folder, list them in a CSV with columns `galaxy_id,file` "
    "(plus any catalog columns), run `galexplore ingest images DIR --catalog files.csv --out SURVEY2`, "
    "then `galexplore serve SURVEY2 RUN`: the run's vectors follow their galaxy ids."
)


def has_pixels(data) -> bool:
    """Whether the survey has images or maps to show."""
    return data.has_modality("images") or data.has_modality("maps")


def no_pixels_note(data, *, short: bool = False) -> str:
    """Markdown saying the survey has no images or maps (and, unless ``short``, how to add
    them); '' when it has either."""
    if has_pixels(data):
        return ""
    if short:
        return "*Catalog-only survey: no cutouts (the galaxy panel says how to add images).*"
    return f"*This survey has no images or maps (catalog only), so there are no cutouts or maps to show.* {ADD_IMAGES}"


__all__ = ["ADD_IMAGES", "has_pixels", "no_pixels_note"]
