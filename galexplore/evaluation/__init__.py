"""Scoring embeddings against known truths: probes, baselines and the evaluation report.

- :mod:`.probes`: k-NN / linear probes on a held-out split (AstroCLIP's protocol);
- :mod:`.baselines`: pixel-PCA, radial-profile and random-init features;
- :mod:`.inputs`: what is scored (aligned catalog, survey split, label columns, run kind);
- :mod:`.scores`: the probes of the embedding and of each baseline, or why a baseline is skipped;
- :mod:`.evaluate`: :func:`~galexplore.evaluation.evaluate.evaluate` writes
  ``RUN/metrics.json`` and ``RUN/report/`` (``galexplore evaluate SURVEY RUN``);
- :mod:`.compare`: several runs side by side (``galexplore evaluate SURVEY RUN RUN …``);
- :mod:`.label_efficiency`, :mod:`.supervised`, :mod:`.photoz`, :mod:`.ranking`,
  :mod:`.clusters`: the checks of the seed papers; :mod:`.report` and :mod:`.figures`:
  markdown and PNG figures.

This package file imports nothing, so the command line can read :data:`BASELINES` cheaply.
"""

#: The baselines every embedding is compared with (DESIGN §2).
BASELINES = ("pixel_pca", "random_init", "radial_profile")
