"""User tags in RUN/tags.parquet: round trip, validation, and no tag lost to concurrent writers."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pandas as pd
import pytest

from galexplore.artifacts.tags import MAX_TAG_LENGTH, TagStore, check_tag_name
from galexplore.errors import GalexploreError


def test_add_select_remove_round_trip(tmp_path):
    store = TagStore(tmp_path / "run")
    assert store.names() == [] and store.version() == 0 and store.counts() == {}
    assert store.add("  ring candidates ", ["g3", "g1", "g3"]) == 2
    assert store.add("bars", ["g2"]) == 1
    assert store.add("ring candidates", ["g1", "g4"]) == 3  # merged, g1 not duplicated
    assert store.names() == ["ring candidates", "bars"]
    assert store.ids("ring candidates") == ["g3", "g1", "g4"]
    assert store.counts() == {"ring candidates": 3, "bars": 1}
    frame = pd.read_parquet(tmp_path / "run" / "tags.parquet")
    assert list(frame.columns) == ["tag", "galaxy_id", "created"] and str(frame["created"].dt.tz) == "UTC"
    col = store.as_column(np.array(["g1", "g2", "g5", "g4", "g3"]))
    assert col.tolist() == ["ring candidates", "bars", "", "ring candidates", "ring candidates"]
    store.add("bars", ["g1"])
    assert store.as_column(["g1"]).tolist() == ["ring candidates + bars"]
    # a new store on the same run (a restarted server) sees the same tags
    assert TagStore(tmp_path / "run").ids("bars") == ["g2", "g1"]
    assert store.remove("bars") == 2 and store.remove("bars") == 0
    assert store.names() == ["ring candidates"]
    with pytest.raises(GalexploreError, match="no tag named 'bars'"):
        store.ids("bars")
    assert not list((tmp_path / "run").glob("*.tmp-*"))


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_TAG_LENGTH + 1), "at most 64"),
        ("a\tb", "non-printable"),
        ("bell\x07", "non-printable"),
        (3, "text"),
    ],
)
def test_bad_names_are_refused(tmp_path, name, match):
    with pytest.raises(GalexploreError, match=match):
        check_tag_name(name)
    with pytest.raises(GalexploreError, match=match):
        TagStore(tmp_path).add(name, ["g1"])
    assert not (tmp_path / "tags.parquet").exists()


def test_empty_selection_and_corrupt_file(tmp_path):
    store = TagStore(tmp_path)
    with pytest.raises(GalexploreError, match="selection is empty"):
        store.add("rings", [])
    (tmp_path / "tags.parquet").write_bytes(b"garbage")
    with pytest.raises(GalexploreError, match="tags.parquet: cannot read"):
        store.names()


def test_concurrent_threads_lose_nothing(tmp_path):
    store = TagStore(tmp_path)
    start, done, read_errors = threading.Barrier(9), threading.Event(), []

    def read() -> None:  # readers take no lock and always see a complete table
        start.wait()
        while not done.is_set():
            try:
                TagStore(tmp_path).counts()
            except Exception as exc:
                read_errors.append(exc)

    def work(i: int) -> None:
        start.wait()
        for j in range(5):
            TagStore(tmp_path).add(f"t{i}", [f"g{i}-{j}"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    reader = threading.Thread(target=read)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not read_errors, read_errors[:3]
    assert sorted(store.names()) == sorted(f"t{i}" for i in range(8))
    assert all(store.ids(f"t{i}") == [f"g{i}-{j}" for j in range(5)] for i in range(8))


def _add_in_process(run: str, i: int) -> None:
    for j in range(4):
        TagStore(run).add(f"p{i}", [f"g{i}-{j}", "shared"])


def test_concurrent_processes_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_in_process, args=(str(tmp_path), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    counts = TagStore(tmp_path).counts()
    assert counts == {f"p{i}": 5 for i in range(4)}
