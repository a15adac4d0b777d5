"""Scoring embeddings against known truths: probes (k-NN, linear) and baseline features."""
