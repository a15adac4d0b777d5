"""The dashboard's finish (issue 19), driven from Python: number formats, the grouped colour-by
menu, HDBSCAN's settings, the map's legend and selection-mode switch, similarity scores and
the most typical galaxy of a selection put in focus."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import BoxSelectTool, LassoSelectTool, PanTool
from bokeh.models.tools import Drag

from galexplore.analysis.search import normalise
from galexplore.dashboard.app import Explorer
from galexplore.dashboard.compute.typical import typical_row
from galexplore.dashboard.palettes import NOISE_COLOR, SF_CLASS_COLORS
from galexplore.dashboard.state import CLUSTER
from galexplore.dashboard.views.clusters import cluster_key, summary_table
from galexplore.dashboard.views.color_menu import (
    BOOKKEEPING,
    CLUSTERS_TAGS,
    PHYSICAL,
    as_option_groups,
    color_groups,
)
from galexplore.dashboard.views.formatting import format_similarity, format_value


@pytest.fixture
def explorer(tiny_data):
    return Explorer(tiny_data)


# -- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "value", "unit", "text"),
    [
        ("ra", 216.123456789, True, "216.12346 deg"),
        ("dec", 21.8, False, "21.80000"),
        ("z", 0.0106, False, "0.0106"),
        ("z", 1.06e-2, False, "0.0106"),
        ("log_mstar", 10.4567, True, "10.46 log M☉"),
        ("log_ssfr", -10.0, False, "-10.00"),
        ("ew_ha", 12.345, True, "12.3 Å"),
        ("psf_fwhm_arcsec", 1.23456, "arcsec", "1.23 arcsec"),
        ("mag_r", 17.987, False, "18.0"),
        ("n_stars", np.int64(123456), False, "123,456"),
        ("sf_class", "retired", False, "retired"),
        ("z", float("nan"), True, "–"),
        ("has_bar", np.bool_(True), False, "True"),
        ("other", 0.000123, False, "1.23e-04"),
        ("other", 54321.9, False, "54,322"),
    ],
)
def test_values_are_shown_at_the_precision_of_their_kind(column, value, unit, text):
    assert format_value(column, value, unit=unit) == text


def test_similarity_has_three_decimals():
    assert format_similarity(0.98765) == "0.988" and format_similarity(1.0) == "1.000"


def test_the_focus_card_and_gallery_use_the_formats(explorer, tiny_data):
    row = 5
    explorer.state.set_focus(tiny_data.galaxy_ids[row])
    table = explorer.focus._table.object
    ra = tiny_data.catalog["ra"].iloc[row]
    assert f"{ra:.5f} deg" in table and explorer.focus._table.visible
    explorer.state.select([row], "test")
    title = explorer.gallery._grid.tiles[0]["title"]
    assert f"log_mstar = {tiny_data.catalog['log_mstar'].iloc[row]:.2f} log M☉" in title


def test_without_a_galaxy_in_focus_the_card_is_a_one_line_hint(explorer):
    explorer.state.focus = ""
    assert "No galaxy in focus" in explorer.focus._title.object
    assert not explorer.focus._table.visible


# -- the colour-by menu ----------------------------------------------------------------------------
def test_colour_by_menu_groups_physical_first_and_keeps_column_names(explorer, tiny_data):
    choices = list(explorer.state.param.color_by.objects)
    groups = color_groups(tiny_data, choices)
    assert list(groups)[0] == PHYSICAL and list(groups).index(CLUSTERS_TAGS) < list(groups).index(BOOKKEEPING)
    values = [v for opts in groups.values() for v in opts.values()]
    assert sorted(values) == sorted(choices)  # every colouring once, by its column name
    physical = groups[PHYSICAL]
    assert physical["log M* [log M☉]"] == "log_mstar" and physical["EW(Hα) class"] == "sf_class"
    assert list(physical.values())[:2] == ["log_mstar", "log_sfr"]
    assert CLUSTER in groups[CLUSTERS_TAGS].values()
    assert {"psf_fwhm_arcsec", "n_stars"} <= set(groups[BOOKKEEPING].values())
    assert not {"psf_fwhm_arcsec", "n_stars"} & set(physical.values())
    # the page's menu shows these groups and follows the state both ways
    menu = explorer._color
    assert menu.groups == as_option_groups(groups) and menu.value == explorer.state.color_by
    menu.value = "sf_class"
    assert explorer.state.color_by == "sf_class"
    explorer.state.color_by = "log_mstar"
    assert menu.value == "log_mstar"


# -- clusters --------------------------------------------------------------------------------------
def test_hdbscan_settings_show_only_for_hdbscan_and_reach_the_clustering(explorer, tiny_data):
    controls = explorer.clusters
    assert controls._k.visible and not controls._min_size.visible
    explorer.state.param.update(cluster_method="hdbscan", min_cluster_size=12, min_samples=4)
    assert not controls._k.visible and controls._min_size.visible and controls._min_samples.visible
    asyncio.run(controls.recompute())
    assert (
        explorer.state.cluster_key == cluster_key("hdbscan", 5, 12, 4) == "hdbscan min size 12, min samples 4"
    )
    labels = explorer.state.cluster_labels
    sizes = np.bincount(labels[labels >= 0])
    assert sizes.size == 0 or sizes.min() >= 12
    assert "noise" in controls._status.object or (labels >= 0).all()


def test_cluster_table_is_narrow_and_rounded(tiny_data):
    labels = np.arange(tiny_data.n) % 3
    table = summary_table(tiny_data, labels)
    assert list(table.columns) == ["cluster", "n", "%", "log M*", "log sSFR", "% SF", "% ret."]
    assert (table["log M*"] == table["log M*"].round(2)).all()
    assert table["% SF"].dtype.kind == "i"


# -- the map -----------------------------------------------------------------------------------------
def test_categorical_colourings_have_a_legend_with_noise_in_grey(explorer, tiny_data):
    legend = explorer.map._legend
    assert not legend.visible  # a numeric colouring has its colour bar
    explorer.state.color_by = "sf_class"
    assert legend.visible
    for cls, colour in SF_CLASS_COLORS.items():
        assert cls in legend.object and colour in legend.object
    labels = np.where(np.arange(tiny_data.n) % 4 == 0, -1, np.arange(tiny_data.n) % 2)
    explorer.state.set_clusters(labels, "test")
    explorer.state.color_by = CLUSTER
    assert "noise" in legend.object and NOISE_COLOR in legend.object
    assert legend.object.index("</span> 0</span>") < legend.object.index("noise")  # noise last


def test_the_selection_switch_sets_the_active_drag_tool(explorer):
    root = explorer.map._pane.get_root(Document())
    fig = explorer.map._mode_figure
    assert fig is not None and fig in list(root.select({"type": type(fig)}))
    drags = [t for t in fig.tools if isinstance(t, Drag)]
    assert drags and not any(t.visible for t in drags)  # the toolbar cannot switch them off
    assert isinstance(fig.toolbar.active_drag, LassoSelectTool)
    for mode, tool in (
        ("box", BoxSelectTool),
        ("pan", PanTool),
        ("lasso", LassoSelectTool),
        ("lasso", LassoSelectTool),
    ):
        explorer.map._mode.value = mode
        assert isinstance(fig.toolbar.active_drag, tool), mode


def test_the_hover_shows_the_coloured_by_value(explorer, tiny_data):
    data = explorer.map._hover_data(17)
    value = tiny_data.catalog["log_ssfr"].iloc[17]
    assert explorer.state.color_by == "log_ssfr"
    assert data["gx_colour"] == [f"log_ssfr = {value:.2f} log yr⁻¹"]
    assert data["gx_text_log_mstar"] == [f"{tiny_data.catalog['log_mstar'].iloc[17]:.2f} log M☉"]


# -- similarity scores and the most typical galaxy -------------------------------------------------
def test_find_similar_shows_each_cosine_similarity(explorer, tiny_data):
    gid = tiny_data.galaxy_ids[3]
    explorer.state.set_focus(gid)
    explorer.focus.n_similar = 6
    explorer.focus._find_similar()
    tiles = explorer.gallery._grid.tiles
    assert tiles[0]["id"] == gid and tiles[0]["score"] == "cos 1.000"
    z = normalise(tiny_data.embeddings.get())
    for t in tiles:
        row = tiny_data.position(t["id"])
        assert t["score"] == f"cos {float(z[row] @ z[3]):.3f}"
    assert explorer.state.focus == gid  # the query stays in focus
    explorer.state.select([1, 2], "lasso")
    assert "score" not in explorer.gallery._grid.tiles[0]


def test_typical_row_is_nearest_the_mean_embedding(tiny_data):
    rows = np.arange(10, 40)
    z = normalise(tiny_data.embeddings.get()[rows])
    assert typical_row(tiny_data, rows) == rows[np.argmax(z @ z.mean(axis=0))]
    assert typical_row(tiny_data, []) is None


def test_a_selection_puts_its_most_typical_galaxy_in_focus(explorer, tiny_data):
    rows = np.arange(0, 30)
    explorer.state.focus = ""
    explorer.state.select(rows, "lasso")
    assert explorer.state.focus == tiny_data.galaxy_ids[typical_row(tiny_data, rows)]
    explorer.state.set_focus(tiny_data.galaxy_ids[2])
    explorer.state.select(rows, "box")  # the galaxy in focus is selected: it stays
    assert explorer.state.focus == tiny_data.galaxy_ids[2]
