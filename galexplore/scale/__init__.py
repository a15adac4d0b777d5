"""Scaling out: Dask-partitioned embedding and projection, and distributed training helpers.

Everything here is optional (the ``dask`` extra) and produces exactly the artifacts of the
single-process path, partitioned: ``RUN/embeddings.parquet/part-*.parquet`` and
``RUN/projection.parquet/part-*.parquet``, which :mod:`galexplore.artifacts.runs` reads like the
single files.
"""
