"""Safe serving: no URL value or widget reads or writes files outside the survey, run and export
directories, and no user string is evaluated as code.

Every file opened while hostile values are applied is recorded with an audit hook
(:func:`sys.addaudithook`, ``open`` and ``os.mkdir`` events) and checked against the allowed
roots: the survey, the run, the interpreter's own installation (lazy imports) and, for an
export, the private temporary directory it is built in. Runs in-process, no browser.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
import pytest
from panel.io.location import Location

import galexplore.dashboard as dashboard_pkg
from galexplore.dashboard.app import Explorer
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.url_state import URL_PARAMS, parse_query, sync_url
from galexplore.dashboard.views.export import export_bytes
from galexplore.errors import GalexploreError

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "../" * 12 + "etc/shadow",
    "file:///etc/passwd",
    "\\\\server\\share\\x",
    "C:\\Windows\\win.ini",
    "~/.ssh/id_rsa",
    "log_mstar\x00../../etc/passwd",
    "log_mstar/../../../etc/passwd",
    "__import__('os').system('touch PWNED')",
    "1+1",
    "{{7*7}}",
]
URL_KEYS = sorted(URL_PARAMS.values())

# -- the file audit ------------------------------------------------------------------------------
_RECORDERS: list[list[tuple[str, str, str]]] = []  # the active recorder (one at a time), read by the hook


def _hook(event: str, args: tuple) -> None:
    if not _RECORDERS or event not in ("open", "os.mkdir"):
        return
    path = args[0]
    if isinstance(path, int):  # an open file descriptor, nothing new
        return
    mode = ""
    if event == "open":
        mode = args[1] if isinstance(args[1], str) else ""
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        writes = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        mode = "write" if writes else "read"
    _RECORDERS[-1].append((event, os.fsdecode(path), mode))


sys.addaudithook(_hook)  # hooks cannot be removed; it does nothing unless a recorder is active


@contextmanager
def file_audit():
    """Record the files opened (and directories made) inside the block."""
    record: list[tuple[str, str, str]] = []
    _RECORDERS.append(record)
    try:
        yield record
    finally:
        _RECORDERS.remove(record)


def outside(record, *roots: Path) -> list[tuple[str, str, str]]:
    """The recorded accesses not under any of ``roots`` nor the Python installation."""
    allowed = [Path(r).resolve() for r in roots]
    allowed += [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    allowed.append(Path(dashboard_pkg.__file__).resolve().parents[1])  # galexplore's own modules
    bad = []
    for event, path, mode in record:
        p = Path(path).resolve() if "\x00" not in path else Path("/NUL-in-path")
        if not any(p == a or a in p.parents for a in allowed):
            bad.append((event, path, mode))
    return bad


@pytest.fixture
def roots(tiny_survey, tiny_run) -> tuple[Path, Path]:
    return Path(tiny_survey.path), Path(tiny_run)


# -- URL parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", URL_KEYS)
def test_hostile_url_values_are_refused_without_touching_files(tiny_data, roots, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative path or an evaluated "touch" would land here
    state = ExplorerState(tiny_data)
    with file_audit() as record:
        for value in HOSTILE:
            values, rejected = parse_query(state, {key: value})
            assert values == {} and key in rejected, (key, value, values)
    assert outside(record, *roots) == []
    assert not any("passwd" in p or "shadow" in p or "id_rsa" in p for _, p, _ in record)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", URL_KEYS)
def test_hostile_url_keeps_the_defaults_and_says_so(tiny_data, roots, key):
    """Through the page's own path: the browser's query string (percent-encoded or not) → sync_url."""
    for search in (
        f"?{key}=" + quote("../../etc/passwd", safe=""),
        f"?{key}=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"?{key}=/etc/passwd",
        "?" + urlencode({key: "a\x00/../../etc/passwd"}),
    ):
        state = ExplorerState(tiny_data)
        loc = Location(search=search)
        with file_audit() as record:
            rejected = sync_url(state, loc)
        assert set(rejected) == {key}, (search, rejected)
        assert "Ignored URL parameters" in state.message and key in state.message
        assert (state.color_by, state.cluster_method, state.n_clusters, state.focus, state.n_selected) == (
            "log_ssfr",
            "kmeans",
            5,
            "",
            0,
        )
        assert "passwd" not in loc.search  # the bad value is replaced by the current one
        assert outside(record, *roots) == []


def test_url_numbers_and_code_are_not_evaluated(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = ExplorerState(tiny_data)
    values, rejected = parse_query(
        state,
        {
            "k": "1+2",
            "color": "__import__('os').system('touch PWNED')",
            "lasso": "0,0;1,0;__import__('os').system('touch PWNED'),1",
            "galaxy": "open('/etc/passwd').read()",
        },
    )
    assert values == {} and set(rejected) == {"k", "color", "lasso", "galaxy"}
    assert not (tmp_path / "PWNED").exists()


# -- widgets and the state objects' Python API ---------------------------------------------------
def test_state_refuses_hostile_values_through_its_python_api(tiny_data, roots):
    state = ExplorerState(tiny_data)
    with file_audit() as record:
        for value in HOSTILE:
            with pytest.raises(ValueError):
                state.color_by = value  # param.Selector over the catalog's columns
            with pytest.raises(ValueError):
                state.cluster_method = value
            with pytest.raises(GalexploreError):
                state.set_focus(value)
            state.select_ids([value], "hostile")
            assert state.n_selected == 0
    assert (state.color_by, state.cluster_method, state.focus) == ("log_ssfr", "kmeans", "")
    assert outside(record, *roots) == []


def test_widgets_refuse_hostile_values(tiny_data, roots):
    """Every widget that takes a name: colour-by, the property filter, modalities, export format, tile clicks."""
    ex = Explorer(tiny_data)
    with file_audit() as record:
        for value in HOSTILE[:6] + HOSTILE[10:]:
            with pytest.raises(ValueError):
                ex._color.value = value  # the colour-by Select: only catalog columns
            with pytest.raises(ValueError):
                ex.distributions.columns = ["log_mstar", value]  # the property filter of the distributions
            with pytest.raises(ValueError):
                ex.export.format = value
            with pytest.raises(ValueError):
                ex.focus.query_modality = value
            ex.gallery._grid.param.update(clicked=value)  # a forged tile click from the browser
            assert ex.state.focus == "" and "unknown galaxy_id" in ex.state.message
    assert ex.state.color_by == "log_ssfr" and ex.export.format == "csv"
    assert set(ex.distributions.columns) <= set(tiny_data.numeric_columns)
    assert outside(record, *roots) == []


def test_export_reads_only_the_survey_and_run_and_writes_only_a_private_temporary_file(tiny_data, roots):
    state = ExplorerState(tiny_data)
    state.select(np.arange(10), "../../etc/passwd")  # labels end up as provenance text, never as paths
    state.param.update(lasso="")
    for fmt in ("csv", "fits", "votable"):
        with file_audit() as record:
            blob = export_bytes(state, fmt)
        assert isinstance(blob, bytes) and len(blob) > 500
        tmp_root = Path(tempfile.gettempdir()).resolve()
        made = sorted({p for e, p, _ in record if e == "os.mkdir"})
        assert len(made) == 1 and Path(made[0]).name.startswith("galexplore-export-")
        build_dir = Path(made[0]).resolve()
        assert build_dir.parent == tmp_root and not build_dir.exists()  # removed once read back
        # astropy.io.fits probes once per process whether mmap works, with tempfile.mkstemp
        # (a random 0600 name in the temp directory, deleted at once): allowed, nothing else
        probes = {
            Path(p).resolve()
            for e, p, m in record
            if e == "open" and Path(p).parent.resolve() == tmp_root and Path(p).name.startswith("tmp")
        }
        assert not any(p.exists() for p in probes)
        assert [a for a in outside(record, *roots, build_dir) if Path(a[1]).resolve() not in probes] == []
        written = {Path(p).resolve() for e, p, m in record if m == "write"} - probes
        assert written and all(build_dir in w.parents for w in written), written
        assert all(w.name.startswith(("selection.", ".selection.", "tmp")) for w in written), written


# -- nothing evaluates user strings: the package's source ------------------------------------------
DANGEROUS_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "import_module",
    "system",
    "popen",
    "query",
    "read_pickle",
    "loads",
    "load",
}
#: (module, call, why it is safe), reviewed by hand; anything new fails the test until reviewed.
REVIEWED = {
    (
        "views/embedding_map.py",
        "query",
    ): "scipy cKDTree.query on the hover position (numbers), not DataFrame.query",
    ("server.py", "loads"): "json.loads of the --basic-auth file named on the command line",
    ("app.py", "load"): "ExplorerData.load of the SURVEY and RUN given to `galexplore serve`",
    (
        "views/profiles.py",
        "load",
    ): "np.load(allow_pickle=False) of the server's own cache RUN/cache/profiles/<hash>.npz",
    (
        "ooc/app.py",
        "load",
    ): "OutOfCoreData.load of the SURVEY and RUN given to `galexplore serve --out-of-core`",
    (
        "ooc/data.py",
        "loads",
    ): "json.loads of the projection's Parquet metadata (written by galexplore project)",
    ("ooc/table.py", "loads"): "json.loads of the server's own RUN/cache/map_table-<hash>/table.json",
}
FILE_CALLS = {
    "open",
    "Path",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "TemporaryDirectory",
    "mkdtemp",
    "NamedTemporaryFile",
    "remove",
    "unlink",
    "rmtree",
}
REVIEWED_FILES = {
    ("views/export.py", "TemporaryDirectory"): "private build directory of the download (fixed name inside)",
    ("views/export.py", "Path"): "Path(tmp) / 'selection.<fixed suffix>'",
    ("views/export.py", "read_bytes"): "reads the built download back",
    ("data.py", "Path"): "the RUN directory given to `galexplore serve`",
    ("app.py", "Path"): "the SURVEY and RUN given to `galexplore serve`",
    ("server.py", "Path"): "the --basic-auth file named on the command line",
    ("server.py", "read_text"): "the --basic-auth file named on the command line",
    ("compute/selection.py", "Path"): "matplotlib.path.Path: the lasso polygon, not a file",
    (
        "views/profiles.py",
        "Path",
    ): "RUN/cache/profiles/<hash of the loaded artifacts>.npz (no user input in the name)",
    ("views/profiles.py", "open"): "writes that cache file through atomic_file",
    ("ooc/app.py", "Path"): "the SURVEY and RUN given to `galexplore serve --out-of-core`",
    ("ooc/data.py", "Path"): "the RUN directory given to `galexplore serve --out-of-core`",
    (
        "ooc/table.py",
        "Path",
    ): "SURVEY/catalog.parquet, RUN's projection parts, RUN/cache/map_table-<hash of them>",
    ("ooc/build.py", "write_text"): "table.json inside the map table's atomic build directory",
    ("ooc/build.py", "Path"): "RUN given to `galexplore serve --out-of-core`",
    ("ooc/table.py", "read_text"): "table.json of the server's own map table",
    (
        "views/tags.py",
        "remove",
    ): "TagStore.remove(name): drops a tag's rows from the fixed file RUN/tags.parquet (no path from the name)",
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            yield node, f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _dashboard_sources() -> list[tuple[str, Path]]:
    """(name, path) of every module of the dashboard package, sub-packages included (the name is
    the path inside the package, e.g. ``ooc/app.py``), and of ``app/explorer.py``."""
    pkg = Path(dashboard_pkg.__file__).resolve().parent
    app = pkg.parents[1] / "app" / "explorer.py"
    return [(p.relative_to(pkg).as_posix(), p) for p in sorted(pkg.rglob("*.py"))] + (
        [("explorer.py", app)] if app.is_file() else []
    )


def test_the_dashboard_source_evaluates_nothing_and_opens_only_reviewed_files():
    found_code, found_files = [], []
    for module, path in _dashboard_sources():
        for node, name in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name in DANGEROUS_CALLS and (module, name) not in REVIEWED:
                found_code.append(f"{module}:{node.lineno} {name}(…)")
            if name in FILE_CALLS and (module, name) not in REVIEWED_FILES:
                found_files.append(f"{module}:{node.lineno} {name}(…)")
    assert found_code == [], "code evaluation or unreviewed parsing in the dashboard"
    assert found_files == [], "unreviewed file access in the dashboard"
    assert len(_dashboard_sources()) > 10


def test_reviewed_query_call_is_the_kdtree(tiny_data):
    """The only ``.query(`` in the dashboard is a k-d tree look-up of numbers."""
    from scipy.spatial import cKDTree

    from galexplore.dashboard.views.embedding_map import point_tree

    assert isinstance(point_tree(tiny_data), cKDTree)
