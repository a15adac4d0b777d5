"""Where a pretrained model's weights come from: ``--weights``, else the Hugging Face cache, else the hub.

Nothing here downloads when ``HF_HUB_OFFLINE=1`` (tests set it). Without weights and without
network, :class:`MissingWeightsError` says in one line what to download and where to put it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from galexplore.errors import GalexploreError


class MissingWeightsError(GalexploreError):
    """The weights of a pretrained model are neither given, nor cached, nor downloadable."""


@dataclass(frozen=True)
class HubWeights:
    """The files of a model on the Hugging Face hub: each entry of ``files`` is a tuple of
    alternatives (e.g. ``("model.safetensors", "pytorch_model.bin")``); the first found is used."""

    repo_id: str
    files: tuple[tuple[str, ...], ...]

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}"

    def describe(self) -> str:
        return ", ".join(" or ".join(alts) for alts in self.files)


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub resolves it (read now, not at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "huggingface"
    )
    return Path(home) / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve(name: str, given: str | os.PathLike | None, hub: HubWeights | None) -> Path:
    """A local weights path: ``given`` (a file or folder, checked to exist), else the hub cache's
    snapshot folder holding ``hub.files``, else those files downloaded (unless offline)."""
    if given is not None:
        path = Path(given).expanduser()
        if not path.exists():
            raise MissingWeightsError(f"{path}: no such weights file or folder (for {name})")
        return path
    if hub is None:
        raise MissingWeightsError(f"{name}: no known download for these weights; pass --weights FILE")
    found = _from_cache(hub) or (None if offline() else _download(hub))
    if found is None:
        raise MissingWeightsError(
            f"{name}: no weights given and none in the Hugging Face cache ({hub_cache_dir()}), and no network to "
            f"download them: fetch {hub.describe()} from {hub.url} into a folder and pass --weights FOLDER "
            f"(or run `huggingface-cli download {hub.repo_id}` on a machine with network and copy its cache here)"
        )
    return found


def _snapshot_root(file: str, relative: str) -> Path:
    return Path(file[: -len(relative)]) if file.endswith(relative) else Path(file).parent


def _from_cache(hub: HubWeights) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    root = None
    for alts in hub.files:
        hit = next(
            (
                f
                for f in (try_to_load_from_cache(hub.repo_id, a, cache_dir=hub_cache_dir()) for a in alts)
                if isinstance(f, str)
            ),
            None,
        )
        if hit is None:
            return None
        rel = next(a for a in alts if hit.endswith(a))
        root = _snapshot_root(hit, rel)
    return root


def _download(hub: HubWeights) -> Path | None:
    from huggingface_hub import hf_hub_download

    root = None
    for alts in hub.files:
        for a in alts:
            try:
                hit = hf_hub_download(hub.repo_id, a, cache_dir=hub_cache_dir())
            except Exception:  # noqa: BLE001 - any hub or network failure means "not available"
                continue
            root = _snapshot_root(hit, a)
            break
        else:
            return None
    return root


def find_file(root: Path, candidates: Sequence[str], name: str) -> Path:
    """``root`` if it is a file, else the first of ``candidates`` inside it."""
    if root.is_file():
        return root
    for c in candidates:
        if (root / c).is_file():
            return root / c
    raise MissingWeightsError(f"{root}: no {' or '.join(candidates)} in this folder (weights of {name})")


__all__ = ["HubWeights", "MissingWeightsError", "find_file", "hub_cache_dir", "offline", "resolve"]
