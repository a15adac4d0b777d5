"""Feeding survey arrays to the training loop.

:class:`SurveyArrays` reads the modalities a run needs from the lazily chunked survey store.
Small surveys (the default 2,000 synthetic galaxies take ~270 MB) are read once into memory;
larger ones are read chunk by chunk, with batches drawn from a shuffled buffer of whole
chunks so that every read is a contiguous chunk of 32 galaxies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

from galexplore.data.store import Survey
from galexplore.models.preprocess import pool_nan
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

#: Surveys whose needed arrays fit in this many bytes are cached in memory.
DEFAULT_MAX_CACHE_BYTES = 4 * 1024**3
#: Galaxies per normalisation sample.
NORM_SAMPLE = 512


class SurveyArrays:
    """The arrays of some modalities of a survey, cached in memory when small enough.

    Parameters
    ----------
    survey : Survey
    modalities : sequence of str
        Modalities to read (``"maps"``, ``"images"``, ``"spectra"``).
    max_cache_bytes : int
        Cache in memory when the arrays together take at most this many bytes.
    pool : mapping modality → int, optional
        Average k×k pixel blocks of that modality on reading (:func:`~galexplore.models.preprocess.pool_nan`).
    progress : callable, optional
        ``progress(done, total, "reading survey")`` while caching.
    """

    def __init__(
        self,
        survey: Survey,
        modalities: Sequence[str],
        *,
        max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
        pool: Mapping[str, int] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.survey = survey
        self.modalities = tuple(modalities)
        self.n = survey.n_galaxies
        for m in self.modalities:
            survey.spec(m)  # clear error if missing
        self.arrays = {m: survey.array(m) for m in self.modalities}
        self.pool = {m: int((pool or {}).get(m, 1)) for m in self.modalities}
        nbytes = sum(int(np.prod(a.shape)) * 4 for a in self.arrays.values())
        self.cached = nbytes <= max_cache_bytes
        self.chunk = int(self.arrays[self.modalities[0]].chunks[0])
        self._cache: dict[str, np.ndarray] = {}
        if self.cached:
            self._fill_cache(progress)

    def _fill_cache(self, progress: ProgressCallback | None) -> None:
        step = max(self.chunk, 512 // self.chunk * self.chunk)
        out = {m: np.empty(self._shape(m), dtype=np.float32) for m in self.arrays}
        for start in range(0, self.n, step):
            for m, a in self.arrays.items():
                out[m][start : start + step] = self._pool(
                    m, np.asarray(a[start : start + step], dtype=np.float32)
                )
            report(progress, min(start + step, self.n), self.n, "reading survey")
        self._cache = out

    def _shape(self, m: str) -> tuple[int, ...]:
        shape = tuple(self.arrays[m].shape)
        k = self.pool[m]
        return shape if k == 1 else (*shape[:-2], shape[-2] // k, shape[-1] // k)

    def _pool(self, m: str, x: np.ndarray) -> np.ndarray:
        return pool_nan(x, self.pool[m]) if self.pool[m] > 1 else x

    def read(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Rows (any order) of every modality as float32 arrays."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.cached:
            return {m: a[rows] for m, a in self._cache.items()}
        return {
            m: self._pool(m, self.survey.read(m, rows).astype(np.float32, copy=False))
            for m in self.modalities
        }

    def sample_rows(self, k: int, seed: int = 0) -> np.ndarray:
        """Up to ``k`` rows for fitting normalisation statistics (sorted, seeded)."""
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(self.n, size=min(k, self.n), replace=False))

    def batches(
        self,
        rows: np.ndarray,
        batch_size: int,
        generator: torch.Generator,
        *,
        drop_last: bool,
        buffer_chunks: int = 32,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Shuffled batches over ``rows``.

        In memory the order is a full permutation. Otherwise chunks (of ``self.chunk``
        galaxies) are visited in random order, ``buffer_chunks`` at a time, and batches are
        drawn from a shuffled buffer of them.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if self.cached:
            order = rows[torch.randperm(len(rows), generator=generator).numpy()]
            yield from self._slice(order, batch_size, drop_last, self.read)
            return
        chunk_of = rows // self.chunk
        chunks = np.unique(chunk_of)
        chunks = chunks[torch.randperm(len(chunks), generator=generator).numpy()]
        carry = np.empty(0, dtype=np.int64)
        for i in range(0, len(chunks), buffer_chunks):
            sel = rows[np.isin(chunk_of, chunks[i : i + buffer_chunks])]
            sel = np.concatenate([carry, sel[torch.randperm(len(sel), generator=generator).numpy()]])
            n_full = len(sel) // batch_size * batch_size
            yield from self._slice(sel[:n_full], batch_size, True, self.read)
            carry = sel[n_full:]
        if len(carry) and not drop_last:
            yield self.read(carry)

    @staticmethod
    def _slice(order: np.ndarray, batch_size: int, drop_last: bool, read) -> Iterator[dict[str, np.ndarray]]:
        stop = len(order) // batch_size * batch_size if drop_last else len(order)
        for i in range(0, stop, batch_size):
            yield read(order[i : i + batch_size])


def to_device(
    batch: dict[str, np.ndarray], device: torch.device, *, pin: bool = False
) -> dict[str, torch.Tensor]:
    """numpy batch → tensors on ``device`` (through pinned memory and non-blocking on CUDA)."""
    out = {}
    for m, a in batch.items():
        t = torch.from_numpy(np.ascontiguousarray(a))
        if pin:
            t = t.pin_memory()
        out[m] = t.to(device, non_blocking=pin)
    return out


T = TypeVar("T")
U = TypeVar("U")
_END = object()


def prefetch(items: Iterable[T], make: Callable[[T], U], *, enabled: bool = True) -> Iterator[U]:
    """``make(item)`` for each item, the next one prepared in a background thread.

    While the caller works on one result (an optimizer step), a worker thread draws the next
    item and runs ``make`` on it (reading a batch and augmenting its views): torch releases
    the GIL inside its operations, so the two overlap. Items are drawn and made strictly in
    order, one at a time, so random generators used by ``items`` or ``make`` advance exactly
    as without prefetching, and nothing is drawn beyond the end of ``items``.

    Parameters
    ----------
    items : iterable
        Consumed in the worker thread.
    make : callable
        Applied to each item in the worker thread.
    enabled : bool
        False: plain ``make(item) for item in items`` in the calling thread.
    """
    if not enabled:
        for item in items:
            yield make(item)
        return
    it = iter(items)

    def produce() -> object:
        for item in it:
            return make(item)
        return _END

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="galexplore-prefetch") as pool:
        future = pool.submit(produce)
        while (out := future.result()) is not _END:
            future = pool.submit(produce)
            yield out  # type: ignore[misc]


def split_rows(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / validation split of ``n`` rows (validation may be empty)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    perm = rng.permutation(n)
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    n_val = min(n_val, max(n - 2, 0))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


__all__ = ["DEFAULT_MAX_CACHE_BYTES", "NORM_SAMPLE", "SurveyArrays", "prefetch", "split_rows", "to_device"]
