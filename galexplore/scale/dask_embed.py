"""Embed a survey partitioned over a Dask cluster, writing partitioned Parquet.

Each task opens the survey store itself, reads only its own rows (lazily, chunk-aligned),
loads the encoder from ``RUN/encoder.pt`` and writes one ``part-NNNNN.parquet`` of
``RUN/embeddings.parquet/``. Nothing is gathered on the client but file names, so the survey
never has to fit in one process's memory. Partitions are whole multiples of the batch size,
so every galaxy is embedded in exactly the batch it would be in the single-process path and
the vectors are identical to :func:`galexplore.embed.embed`'s (for ``views=1``).

Workers must see the survey and run directories at the same paths (a shared file system);
a :class:`~distributed.LocalCluster` on one machine always does.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from galexplore.artifacts.atomic import atomic_directory
from galexplore.artifacts.paths import RunPaths, part_file
from galexplore.artifacts.runs import embeddings_table, with_metadata
from galexplore.data.store import Survey, open_survey
from galexplore.errors import GalexploreError
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

#: Galaxies per Dask task by default (rounded up to a multiple of the batch size).
DEFAULT_PARTITION_ROWS = 8192


def partition_bounds(n: int, rows_per_partition: int, batch_size: int) -> list[tuple[int, int]]:
    """Half-open row ranges covering ``n`` rows, each a whole number of batches (but the last)."""
    if n < 1:
        raise GalexploreError("cannot partition an empty survey")
    step = max(batch_size, -(-rows_per_partition // batch_size) * batch_size)
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def embed_partition(
    survey_path: str,
    run: str,
    start: int,
    stop: int,
    out_dir: str,
    index: int,
    *,
    views: int = 1,
    batch_size: int = 256,
    seed: int = 0,
    threads: int | None = 1,
) -> tuple[str, int]:
    """Embed rows ``start:stop`` and write ``out_dir/part-{index:05d}.parquet``; returns (path, rows)."""
    import pyarrow.parquet as pq
    import torch

    from galexplore.embed import embed_arrays, embedding_metadata
    from galexplore.training.data import SurveyArrays
    from galexplore.training.setup import ViewMaker, input_pooling

    if threads:
        torch.set_num_threads(int(threads))
    encoder = RunPaths.of(run).encoder
    survey, model, ckpt = _opened(survey_path, run, encoder.stat().st_mtime_ns)
    config = ckpt["model_config"]
    data = SurveyArrays(survey, list(config["modalities"]), max_cache_bytes=0, pool=input_pooling(config))
    arrays = data.read(np.arange(start, stop))
    augment = ViewMaker(config) if views > 1 else None
    vectors = embed_arrays(
        model, arrays, views=views, augment=augment, batch_size=batch_size, seed=seed + start
    )
    ids = survey.catalog["galaxy_id"].to_numpy()[start:stop]
    table, meta = embeddings_table(ids, vectors, embedding_metadata(survey, run, ckpt, views), where=out_dir)
    meta.update(partition=index, rows=[start, stop])
    path = part_file(out_dir, index)
    pq.write_table(with_metadata(table, meta), path)
    return str(path), stop - start


@functools.lru_cache(maxsize=2)
def _opened(survey_path: str, run: str, encoder_mtime_ns: int) -> tuple[Survey, Any, dict[str, Any]]:
    """The survey and encoder a worker embeds with, opened once per worker process (not once
    per partition); a retrained encoder has another mtime and is loaded afresh."""
    from galexplore.embed import check_compatible, load_model

    survey = open_survey(survey_path)
    model, ckpt = load_model(run, device="cpu")
    check_compatible(survey, ckpt, run)
    return survey, model, ckpt


@contextlib.contextmanager
def dask_client(
    address: str | None = None, *, n_workers: int | None = None, threads_per_worker: int = 1
) -> Iterator[Any]:
    """A ``distributed.Client``: to ``address`` if given, else to a new local cluster of processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise GalexploreError("the Dask path needs the dask extra: pip install 'galexplore[dask]'") from exc
    if address:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise GalexploreError(f"cannot reach the Dask scheduler at {address} ({exc})") from exc
        with client:
            yield client
        return
    workers = n_workers or max(1, min(os.cpu_count() or 1, 8))
    if not logging.getLogger("galexplore").isEnabledFor(logging.INFO):
        for name in ("distributed", "distributed.scheduler", "distributed.worker"):
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("distributed.nanny").setLevel(logging.ERROR)  # slow worker exits at shutdown
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def embed_with_dask(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    client: Any,
    *,
    rows_per_partition: int = DEFAULT_PARTITION_ROWS,
    views: int = 1,
    batch_size: int = 256,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Embed every galaxy over the Dask ``client``; writes ``RUN/embeddings.parquet/part-*.parquet``.

    The directory is built aside and swapped in only when every partition has succeeded, so
    a failed or killed run leaves the previous embeddings untouched.
    """
    from distributed import as_completed

    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    run = Path(run).resolve()
    if not RunPaths.of(run).encoder.is_file():
        raise GalexploreError(f"{RunPaths.of(run).encoder}: no trained encoder (run galexplore train first)")
    bounds = partition_bounds(survey.n_galaxies, rows_per_partition, batch_size)
    target = RunPaths.of(run).embeddings
    done = 0
    with atomic_directory(target) as tmp:
        futures = [
            client.submit(
                embed_partition,
                str(survey.path.resolve()),
                str(run),
                s,
                e,
                str(tmp),
                i,
                views=views,
                batch_size=batch_size,
                seed=seed,
                pure=False,
            )
            for i, (s, e) in enumerate(bounds)
        ]
        for fut in as_completed(futures):
            _, rows = fut.result()
            done += rows
            report(progress, done, survey.n_galaxies, "embedding (dask)")
    log.info("wrote %d partitions of %s", len(bounds), target)
    return target


__all__ = ["DEFAULT_PARTITION_ROWS", "dask_client", "embed_partition", "embed_with_dask", "partition_bounds"]
