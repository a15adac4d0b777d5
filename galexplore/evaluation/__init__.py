"""Scoring embeddings against known truths: probes, baselines and the evaluation report.

- :mod:`.probes`: k-NN / linear probes on a held-out split (AstroCLIP's protocol);
- :mod:`.baselines`: pixel-PCA, radial-profile and random-init features;
- :mod:`.evaluate`: :func:`~galexplore.evaluation.evaluate.evaluate` writes
  ``RUN/metrics.json`` and ``RUN/report/`` (``galexplore evaluate SURVEY RUN``);
- :mod:`.label_efficiency`, :mod:`.photoz`, :mod:`.ranking`, :mod:`.clusters`: the checks of
  the seed papers; :mod:`.report` and :mod:`.figures`: markdown and PNG figures.
"""
