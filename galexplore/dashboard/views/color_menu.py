"""The colour-by menu: the colourings grouped, physical properties first, with readable labels.

The menu's values stay the column names (the URL and every view use them); only what the
menu shows changes: the standard physical properties of the catalog contract
(:mod:`galexplore.data.columns`) with their labels and units and then the survey's other
properties, then clusters and tags, then the observing and bookkeeping columns (PSF, pixel
scales, S/N, …) under their own names.
"""

from __future__ import annotations

import param
from panel.custom import JSComponent

from galexplore.dashboard.state import CLUSTER, ExplorerState
from galexplore.data.columns import STANDARD_COLUMNS, STANDARD_PROPERTIES, axis_label

PHYSICAL = "Physical properties"
CLUSTERS_TAGS = "Clusters & tags"
BOOKKEEPING = "Bookkeeping / observing"
#: Categorical standard columns shown with the physical properties, after the numeric ones.
PHYSICAL_CLASSES = ("sf_class", "morph_type")
#: Parts of a column name that put it with the clusters and tags.
TAG_HINTS = ("cluster", "tag", "anomal", "outlier", "unusual")
#: Words (between underscores) of a column name that mark how the data were taken or kept, not
#: the galaxy: such columns go to :data:`BOOKKEEPING`.
OBSERVING_WORDS = frozenset(
    "psf seeing pixel fov sn snr stars exptime exposure nexp airmass flag flags quality err error "
    "mjd date plate ifu fiber fibre camcol field obs mask weight version".split()
)


def color_label(data, column: str) -> str:
    """How the menu shows ``column``: e.g. ``"log M* [log M☉]"``, ``"Cluster"``, ``"n_stars"``."""
    if column == CLUSTER:
        return "Cluster (this page's clustering)"
    if column in STANDARD_COLUMNS:
        return axis_label(column)
    unit = data.unit(column)
    return f"{column} [{unit}]" if unit else column


def color_group(data, column: str) -> str:
    """The menu group of ``column``: :data:`PHYSICAL` (the standard properties and the survey's
    other ones), :data:`CLUSTERS_TAGS` or :data:`BOOKKEEPING` (observing and bookkeeping columns,
    by :data:`OBSERVING_WORDS`)."""
    if column in STANDARD_COLUMNS:
        return PHYSICAL
    in_catalog = column in data.numeric_columns or column in data.categorical_columns
    if column == CLUSTER or not in_catalog or any(h in column.lower() for h in TAG_HINTS):
        return CLUSTERS_TAGS  # also colourings computed by the dashboard (e.g. anomaly scores)
    if OBSERVING_WORDS.intersection(column.lower().split("_")):
        return BOOKKEEPING
    return PHYSICAL  # the survey's own properties, after the standard ones


def color_groups(data, choices: list[str]) -> dict[str, dict[str, str]]:
    """``{group: {label: column}}`` of the colour-by menu (``pn.widgets.Select(groups=...)``).

    Groups in the order physical, clusters & tags, bookkeeping (empty ones left out); the
    physical properties in the standard order, then their classes, then the survey's other
    properties as given.
    """
    order = {c: i for i, c in enumerate([*STANDARD_PROPERTIES, *PHYSICAL_CLASSES])}
    groups: dict[str, dict[str, str]] = {PHYSICAL: {}, CLUSTERS_TAGS: {}, BOOKKEEPING: {}}
    physical = sorted(
        (c for c in choices if color_group(data, c) == PHYSICAL), key=lambda c: order.get(c, 99)
    )
    for c in physical + [c for c in choices if color_group(data, c) != PHYSICAL]:
        label, group = color_label(data, c), groups[color_group(data, c)]
        while label in group:  # two columns with one label keep both
            label += " "
        group[label] = c
    return {g: opts for g, opts in groups.items() if opts}


_CSS = """
.gx-select-caption { font-size: 0.9em; margin-bottom: 2px; }
.gx-select { width: 100%; padding: 4px 6px; border: 1px solid #ced4da; border-radius: 4px; font: inherit;
             background: white; }
"""

_ESM = """
export function render({ model, el }) {
  const caption = document.createElement('div')
  caption.className = 'gx-select-caption'
  const select = document.createElement('select')
  select.className = 'gx-select'
  function draw() {
    caption.textContent = model.caption
    select.replaceChildren()
    for (const [group, options] of model.groups) {
      const optgroup = document.createElement('optgroup')
      optgroup.label = group
      for (const [value, label] of options) {
        const option = document.createElement('option')
        option.value = value
        option.textContent = label
        optgroup.append(option)
      }
      select.append(optgroup)
    }
    select.value = model.value
  }
  draw()
  select.addEventListener('change', () => { model.value = select.value })
  model.on(['groups', 'caption'], draw)
  model.on('value', () => { if (select.value !== model.value) select.value = model.value })
  el.append(caption, select)
}
"""


class GroupedSelect(JSComponent):
    """A drop-down menu in groups whose options show labels but whose values stay strings of the
    caller's (``<option value="log_mstar">log M* [log M☉]</option>``).

    Panel's ``Select(groups=...)`` would do, but BokehJS writes the *label* into each option's
    ``value`` attribute: the page (and a test driving it) would then see labels, not column names.
    """

    value = param.Selector(
        default=None, objects=[], check_on_set=True, allow_None=True, doc="The chosen option's value."
    )
    groups = param.List(default=[], doc="[[group, [[value, label], …]], …] in display order.")
    caption = param.String(default="", doc="Text above the menu.")

    _esm = _ESM
    _stylesheets = [_CSS]

    def __init__(self, **params) -> None:
        value = params.pop("value", None)
        super().__init__(**params)
        self._set_objects()
        self.param.watch(self._set_objects, ["groups"])
        if value is not None:
            self.value = value

    def _set_objects(self, *_events) -> None:
        """Only the options' values can be chosen (a forged value from the page raises ValueError)."""
        self.param.value.objects = [v for _, options in self.groups for v, _ in options]


def as_option_groups(groups: dict[str, dict[str, str]]) -> list:
    """:func:`color_groups`' ``{group: {label: value}}`` as :attr:`GroupedSelect.groups`."""
    return [[g, [[v, label] for label, v in opts.items()]] for g, opts in groups.items()]


def color_by_select(state: ExplorerState, *, label: str = "Colour by", **kwargs) -> GroupedSelect:
    """A grouped colour-by menu kept in step with ``state.color_by`` (both ways) and with its choices."""
    kwargs.setdefault("margin", (5, 10))  # as Panel's widgets
    select = GroupedSelect(
        groups=as_option_groups(color_groups(state.data, list(state.param.color_by.objects))),
        value=state.color_by,
        caption=label,
        **kwargs,
    )

    def to_state(event) -> None:
        if event.new and event.new != state.color_by and event.new in state.param.color_by.objects:
            state.color_by = event.new

    def from_state(event) -> None:
        if event.what == "objects":
            select.groups = as_option_groups(color_groups(state.data, list(event.new)))
        if select.value != state.color_by:
            select.value = state.color_by

    select.param.watch(to_state, ["value"])
    state.param.watch(from_state, ["color_by"], what="value")
    state.param.watch(from_state, ["color_by"], what="objects")
    return select
