"""The analysis stage: what is computed from a run's embeddings (DESIGN §1).

::

    galexplore.analysis.projection      UMAP / PCA projections → RUN/projection.parquet
    galexplore.analysis.clustering      k-means, Gaussian mixture and HDBSCAN clusters (sklearn-shaped)
    galexplore.analysis.cluster_store   clusterings saved under RUN/clusters/
    galexplore.analysis.search          cosine k-nearest-neighbour similarity search
    galexplore.analysis.contrast        how a group of galaxies differs from the rest
    galexplore.analysis.profiles        radial profiles of Rₑ-normalised maps
    galexplore.analysis.anomaly         anomaly scores: how unusual each galaxy is (sklearn-shaped)
    galexplore.analysis.anomaly_store   anomaly scores cached in RUN/anomaly.parquet

Scoring embeddings against the truth is its own stage, :mod:`galexplore.evaluation`; writing a
selection to CSV / FITS / VOTable is an artifact format, :mod:`galexplore.artifacts.export`.
"""
