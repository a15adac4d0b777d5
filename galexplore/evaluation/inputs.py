"""What an evaluation scores: the run's vectors, the catalog rows beside them, the targets and the split.

:func:`load_inputs` reads ``RUN/embeddings.parquet`` (made by ``embed``, ``embed --pretrained``
or ``import-embeddings``: all three are scored alike) and aligns the survey's catalog with it.
The train / test split is drawn over the *survey's* galaxies (:func:`survey_split`), so a
galaxy falls on the same side for every run of the survey, whatever rows or row order its
embeddings have: runs are compared on the same test galaxies.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import read_embeddings
from galexplore.data.columns import STANDARD_PROPERTIES
from galexplore.data.store import Survey
from galexplore.errors import GalexploreError

#: Label columns scored when present (with 2 … :data:`MAX_AUTO_CLASSES` classes): the synthetic
#: survey's, then the usual names of real labelled sets (Galaxy Zoo 1: ``label``, ``label_coarse``).
LABEL_COLUMNS = ("sf_class", "morph_type", "has_bar", "label", "label_coarse", "class")
MAX_AUTO_CLASSES = 50
#: A column named with ``labels=`` may have at most this many classes.
MAX_CLASSES = 200
PIXEL_MODALITIES = ("maps", "images")


def _structural_truths() -> tuple[str, ...]:
    from galexplore.data.synthetic import STRUCTURAL_TRUTHS

    return STRUCTURAL_TRUTHS


def _scorable(catalog: pd.DataFrame, col: str) -> bool:
    if (
        col not in catalog
        or pd.api.types.is_bool_dtype(catalog[col])
        or not pd.api.types.is_numeric_dtype(catalog[col])
    ):
        return False
    v = catalog[col].to_numpy(float)
    return np.isfinite(v).sum() >= 10 and np.nanstd(v) > 0


def default_targets(catalog: pd.DataFrame) -> dict[str, list[str]]:
    """Regression targets present in the catalog: standard properties and structural truths."""
    return {
        "standard": [c for c in STANDARD_PROPERTIES if _scorable(catalog, c)],
        "structural": [c for c in _structural_truths() if _scorable(catalog, c)],
    }


def label_array(values: pd.Series) -> np.ndarray:
    """A label column as an object array of strings, None where the label is missing, (N,)."""
    arr = values.astype("string").to_numpy(dtype=object, na_value=None)
    arr[arr == ""] = None
    return arr


def n_classes(values: pd.Series) -> int:
    return int(pd.Series(label_array(values)).nunique(dropna=True))


def default_labels(catalog: pd.DataFrame) -> list[str]:
    """Label columns of :data:`LABEL_COLUMNS` present with 2 to :data:`MAX_AUTO_CLASSES` classes."""
    return [c for c in LABEL_COLUMNS if c in catalog and 2 <= n_classes(catalog[c]) <= MAX_AUTO_CLASSES]


def check_labels(catalog: pd.DataFrame, labels: Sequence[str], where: Path | str) -> list[str]:
    """``labels`` if every one is a catalog column with 2 to :data:`MAX_CLASSES` classes; else one clear error."""
    for col in labels:
        if col not in catalog:
            raise GalexploreError(f"{where}: catalog has no label column {col!r}")
        k = n_classes(catalog[col])
        if k < 2:
            raise GalexploreError(
                f"{where}: label column {col!r} has {k} class(es) among the embedded galaxies; need 2 or more"
            )
        if k > MAX_CLASSES:
            raise GalexploreError(
                f"{where}: label column {col!r} has {k} distinct values (at most {MAX_CLASSES}); is it a label?"
            )
    return list(dict.fromkeys(labels))


def survey_split(
    survey: Survey, rows: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train / test positions in the embedding order, from a seeded split of the survey's galaxies.

    Parameters
    ----------
    rows : ndarray (N,) of int
        The survey row of each embedded galaxy.

    Returns
    -------
    train, test : ndarray of int64
        Positions into the embeddings. A run that embeds the whole survey in survey order gets
        exactly ``split_indices(n_galaxies)``.
    """
    from galexplore.evaluation.probes import split_indices

    _, test_rows = split_indices(survey.n_galaxies, test_fraction=test_fraction, random_state=seed)
    in_test = np.zeros(survey.n_galaxies, dtype=bool)
    in_test[test_rows] = True
    train, test = np.flatnonzero(~in_test[rows]), np.flatnonzero(in_test[rows])
    if len(train) < 2 or len(test) < 2:
        raise GalexploreError(
            f"{survey.path}: only {len(rows)} embedded galaxies; too few for a train / test split"
        )
    return train.astype(np.int64), test.astype(np.int64)


def describe_run(run: str | os.PathLike, meta: dict[str, Any]) -> dict[str, Any]:
    """Where a run's vectors come from: ``kind`` (``trained`` when the run has ``encoder.pt``,
    else ``pretrained`` or ``imported`` as its embeddings' metadata says) and the ``model``.

    Read from the metadata keys ``pretrained``, ``model_name``, ``model``, ``source`` and
    ``provenance`` (a dict with the same keys) where present; a dict-valued model gives its ``name``.
    """
    prov = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else {}

    def get(key: str) -> Any:
        return meta.get(key) or prov.get(key)

    source = str(get("source") or "").lower()
    if RunPaths.of(run).encoder.is_file():
        kind = "trained"
    elif get("pretrained") or "pretrained" in source:
        kind = "pretrained"
    else:
        kind = "imported"
    model = (
        get("model_name")
        or get("pretrained")
        or get("model")
        or (meta.get("model_family") if kind == "trained" else None)
    )
    if isinstance(model, dict):  # e.g. {"name": "timm:resnet18", "weights": ...}
        model = model.get("name") or model.get("model_name") or model.get("model")
    return {"name": Path(run).name, "kind": kind, "model": None if model is None else str(model)}


def baseline_modality(survey: Survey, modality: str | None) -> str:
    """The survey modality whose pixels the baselines use for an embedding of ``modality``.

    The embedding's own modality when the survey has it, else the survey's only map or image
    modality (vectors imported under another name); a one-line reason why none fits otherwise.
    """
    if not survey.modalities:
        raise GalexploreError(
            f"{survey.path} is a catalog-only survey (no images, maps or spectra): "
            "this baseline is computed from pixels"
        )
    if modality in survey.modalities:
        return modality
    pixels = [m for m in PIXEL_MODALITIES if m in survey.modalities]
    if len(pixels) == 1:
        return pixels[0]
    raise GalexploreError(
        f"{survey.path}: the embedded modality {modality!r} is not one of the survey's "
        f"({', '.join(sorted(survey.modalities))}); cannot tell which pixels to use"
    )


@dataclass
class Inputs:
    """What every stage of an evaluation works on: embeddings, aligned catalog, the split."""

    survey: Survey
    run: Path
    modality: str | None
    X: np.ndarray  # (N, D) embeddings
    ids: np.ndarray  # (N,) galaxy ids, embedding order
    catalog: pd.DataFrame  # aligned with X
    rows: np.ndarray  # survey row of each embedded galaxy
    train: np.ndarray
    test: np.ndarray
    targets: dict[str, list[str]]
    labels: list[str]
    k: int
    seed: int
    meta: dict[str, Any]  # the embeddings' metadata
    vectors: dict[str, np.ndarray]  # every embedded modality (cross-modal retrieval)

    @property
    def props(self) -> list[str]:
        return self.targets["standard"] + self.targets["structural"]

    def y(self, prop: str) -> np.ndarray:
        return self.catalog[prop].to_numpy(float)

    def label(self, col: str) -> np.ndarray:
        return label_array(self.catalog[col])


def load_inputs(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    modality: str | None,
    labels: Sequence[str] | None,
    test_fraction: float,
    seed: int,
    k: int,
) -> Inputs:
    """Read the run's embeddings of ``modality`` and align the survey's catalog and split with them."""
    from galexplore.data import open_survey

    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    emb = read_embeddings(run)
    name = modality if modality is not None else (emb.modalities[0] if len(emb.modalities) == 1 else None)
    X = emb.get(name)
    rows = survey.positions(list(emb.galaxy_ids))
    catalog = survey.catalog.iloc[rows].reset_index(drop=True)
    label_cols = check_labels(catalog, labels, survey.path) if labels is not None else default_labels(catalog)
    train, test = survey_split(survey, rows, test_fraction, seed)
    return Inputs(
        survey,
        Path(run),
        name,
        X,
        emb.galaxy_ids,
        catalog,
        rows,
        train,
        test,
        default_targets(catalog),
        label_cols,
        k,
        seed,
        emb.metadata,
        emb.vectors,
    )


__all__ = [
    "LABEL_COLUMNS",
    "Inputs",
    "baseline_modality",
    "check_labels",
    "default_labels",
    "default_targets",
    "describe_run",
    "label_array",
    "load_inputs",
    "survey_split",
]
