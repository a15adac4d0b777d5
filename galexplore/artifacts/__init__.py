"""Artifacts on disk: where each one lives, how it is written, and what it records (DESIGN §2).

::

    galexplore.artifacts.atomic       atomic writes (temporary sibling, then rename)
    galexplore.artifacts.runs         the Parquet artifacts of a run (embeddings, projection)
    galexplore.artifacts.provenance   fingerprints tying products to their encoder
    galexplore.artifacts.tags         user tags of a run (RUN/tags.parquet), merged under a file lock
    galexplore.artifacts.export       a selection as CSV / FITS / VOTable, with provenance
    galexplore.artifacts.export_formats  the formats: units, descriptions, UCDs, provenance

Every stage reads and writes its artifacts through these modules, so the formats have one
definition.
"""
