"""Artifacts on disk: where each one lives, how it is written, and what it records (DESIGN §2).

::

    galexplore.artifacts.atomic       atomic writes (temporary sibling, then rename)
    galexplore.artifacts.runs         the Parquet artifacts of a run (embeddings, projection)
    galexplore.artifacts.provenance   fingerprints tying products to their encoder
    galexplore.artifacts.export       a selection as CSV / FITS / VOTable, with provenance

Every stage reads and writes its artifacts through these modules, so the formats have one
definition.
"""
