"""Import embeddings made by any model (AstroCLIP, AION-1, Zoobot, your own) into a run.

``galexplore import-embeddings FILE --survey SURVEY --out RUN`` on the command line;
:func:`import_embeddings` here. See :mod:`galexplore.importing.importer` for the contract.
"""

from galexplore.importing.importer import ImportResult, import_embeddings

__all__ = ["ImportResult", "import_embeddings"]
